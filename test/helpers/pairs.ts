import { X509Certificate, createPrivateKey } from 'node:crypto';
import { parse } from 'yaml';

/**
 * Keys beside certificates they do not match, in a set of files by name (a node's folder): every
 * NAME.key against NAME.crt, every kubeconfig's embedded pair, and every certificate against ca.crt.
 */
export function pairProblems(files: Map<string, Buffer>): string[] {
  const problems: string[] = [];
  for (const [name, data] of files) {
    const crt = files.get(name.replace(/\.key$/, '.crt'));
    if (name.endsWith('.key') && crt && !new X509Certificate(crt).checkPrivateKey(createPrivateKey(data))) problems.push(`${name} does not match its certificate`);
    if (name.endsWith('.kubeconfig')) {
      const user = (parse(data.toString('utf8')) as { users: { user: Record<string, string> }[] }).users[0]!.user;
      const cert = new X509Certificate(Buffer.from(user['client-certificate-data']!, 'base64'));
      if (!cert.checkPrivateKey(createPrivateKey(Buffer.from(user['client-key-data']!, 'base64')))) problems.push(`${name}: its key does not match its certificate`);
    }
  }
  const ca = files.get('ca.crt');
  if (ca) {
    const key = new X509Certificate(ca).publicKey;
    for (const [name, data] of files) if (name.endsWith('.crt') && name !== 'ca.crt' && !new X509Certificate(data).verify(key)) problems.push(`${name} is not signed by ca.crt`);
  }
  return problems;
}
