import type { KeySpec } from '../model/cluster.js';
import type { Arg } from '../model/steps.js';

/** openssl's -subj syntax: /CN=…/O=…, with the characters it treats specially escaped. */
export function subjectArg(subject: { cn: string; o: string[] }): string {
  const esc = (v: string) => v.replace(/[\\/+=]/g, (ch) => `\\${ch}`);
  return [`/CN=${esc(subject.cn)}`, ...subject.o.map((o) => `/O=${esc(o)}`)].join('');
}

/** Step 1: the private key (genrsa as in the lab; genpkey for ECDSA). */
export function genKeyArgs(key: KeySpec, out: Arg): Arg[] {
  if (key.algorithm === 'rsa') return ['genrsa', '-out', out, String(key.size)];
  return ['genpkey', '-algorithm', 'EC', '-pkeyopt', `ec_paramgen_curve:${key.curve}`, '-out', out];
}

/** Step 2: the certificate signing request. */
export function csrArgs(o: { key: Arg; subject: { cn: string; o: string[] }; csr: Arg; cnf: Arg }): Arg[] {
  return ['req', '-new', '-key', o.key, '-subj', subjectArg(o.subject), '-out', o.csr, '-config', o.cnf];
}

/** Step 3: the certificate, signed by a CA, or by its own key for a self-signed CA. */
export function signArgs(o: {
  csr: Arg;
  crt: Arg;
  days: number;
  cnf: Arg;
  section: string;
  signer: { selfKey: Arg } | { caCrt: Arg; caKey: Arg };
}): Arg[] {
  const signer = 'selfKey' in o.signer ? ['-signkey', o.signer.selfKey] : ['-CA', o.signer.caCrt, '-CAkey', o.signer.caKey];
  return [
    'x509', '-req', '-in', o.csr, ...signer, '-out', o.crt, '-days', String(o.days), '-sha256',
    // A random serial per certificate: no shared ca.srl for parallel signers to race on.
    '-set_serial', { serial: true }, '-extfile', o.cnf, '-extensions', o.section,
  ];
}

export function publicKeyArgs(key: Arg, pub: Arg): Arg[] {
  return ['pkey', '-in', key, '-pubout', '-out', pub];
}
