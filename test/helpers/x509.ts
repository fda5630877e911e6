import { execa } from 'execa';

export interface OpensslView {
  subject: string;
  issuer: string;
  serial: string;
  basicConstraints: string;
  keyUsage: string;
  extendedKeyUsage: string;
  subjectAltName: string;
  version: number;
}

/** What openssl itself says about a certificate (independent of kube-pki's own parsing). */
export async function opensslView(certFile: string): Promise<OpensslView> {
  const { stdout } = await execa('openssl', [
    'x509', '-in', certFile, '-noout', '-nameopt', 'RFC2253', '-subject', '-issuer', '-serial',
    '-ext', 'basicConstraints,keyUsage,extendedKeyUsage,subjectAltName',
  ]);
  const text = await execa('openssl', ['x509', '-in', certFile, '-noout', '-text']);
  const line = (prefix: string) => stdout.split('\n').find((l) => l.startsWith(prefix))?.slice(prefix.length).trim() ?? '';
  const ext = (title: string) => {
    const lines = stdout.split('\n');
    const i = lines.findIndex((l) => l.startsWith(`X509v3 ${title}`));
    return i < 0 ? '' : `${lines[i]!.includes('critical') ? 'critical: ' : ''}${lines[i + 1]!.trim()}`;
  };
  return {
    subject: line('subject='),
    issuer: line('issuer='),
    serial: line('serial='),
    basicConstraints: ext('Basic Constraints'),
    keyUsage: ext('Key Usage'),
    extendedKeyUsage: ext('Extended Key Usage'),
    subjectAltName: ext('Subject Alternative Name'),
    version: Number(/Version: (\d+)/.exec(text.stdout)?.[1] ?? 0),
  };
}

export async function opensslVerify(caFile: string, certFile: string): Promise<boolean> {
  const r = await execa('openssl', ['verify', '-CAfile', caFile, certFile], { reject: false });
  return r.exitCode === 0 && r.stdout.trim() === `${certFile}: OK`;
}
