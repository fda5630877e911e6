import type { KeySpec } from '../model/cluster.js';
import type { Arg } from '../model/steps.js';

/** openssl's -subj syntax: /CN=…/O=…, with the characters it treats specially escaped. */
export function subjectArg(subject: { cn: string; o: string[] }): string {
  const esc = (v: string) => v.replace(/[\\/+=]/g, (ch) => `\\${ch}`);
  return [`/CN=${esc(subject.cn)}`, ...subject.o.map((o) => `/O=${esc(o)}`)].join('');
}

/**
 * Step 1: the private key (genrsa as in the lab; genpkey for ECDSA). With `encrypt` (the root CA's
 * key), written encrypted with AES-256 as PKCS#8 (BEGIN ENCRYPTED PRIVATE KEY), the passphrase read
 * by openssl from a file: it is never in plaintext on disk, nor on a command line.
 */
export function genKeyArgs(key: KeySpec, out: Arg, encrypt?: Arg): Arg[] {
  if (key.algorithm === 'rsa') return ['genrsa', ...(encrypt ? ['-aes256', '-passout', encrypt] : []), '-out', out, String(key.size)];
  return ['genpkey', '-algorithm', 'EC', '-pkeyopt', `ec_paramgen_curve:${key.curve}`, ...(encrypt ? ['-aes-256-cbc', '-pass', encrypt] : []), '-out', out];
}

/** A key held by a PKCS#11 token ({ token: URI }): openssl reaches it through its pkcs11 engine. */
const inToken = (key: Arg): boolean => typeof key === 'object' && 'token' in key;

/** The engine that signs with a key in a token (libp11's, Debian libengine-pkcs11-openssl). */
export const PKCS11_ENGINE = 'pkcs11';

/** Step 2: the certificate signing request; `passin` opens an encrypted key. */
export function csrArgs(o: { key: Arg; subject: { cn: string; o: string[] }; csr: Arg; cnf: Arg; passin?: Arg }): Arg[] {
  const engine = inToken(o.key) ? ['-engine', PKCS11_ENGINE, '-keyform', 'engine'] : [];
  return ['req', '-new', ...engine, '-key', o.key, ...(o.passin ? ['-passin', o.passin] : []), '-subj', subjectArg(o.subject), '-out', o.csr, '-config', o.cnf];
}

/** Step 3: the certificate, signed by a CA, or by its own key for a self-signed CA. */
export function signArgs(o: {
  csr: Arg;
  crt: Arg;
  days: number;
  cnf: Arg;
  section: string;
  signer: { selfKey: Arg } | { caCrt: Arg; caKey: Arg };
  /** Opens the signing key when it is encrypted (the root CA's). */
  passin?: Arg;
}): Arg[] {
  const signer: Arg[] =
    'selfKey' in o.signer
      ? ['-signkey', o.signer.selfKey, ...(inToken(o.signer.selfKey) ? ['-keyform', 'engine', '-engine', PKCS11_ENGINE] : [])]
      : ['-CA', o.signer.caCrt, '-CAkey', o.signer.caKey, ...(inToken(o.signer.caKey) ? ['-CAkeyform', 'engine', '-engine', PKCS11_ENGINE] : [])];
  if (o.passin) signer.push('-passin', o.passin);
  return [
    'x509', '-req', '-in', o.csr, ...signer, '-out', o.crt, '-days', String(o.days), '-sha256',
    // A random serial per certificate: no shared ca.srl for parallel signers to race on.
    '-set_serial', { serial: true }, '-extfile', o.cnf, '-extensions', o.section,
  ];
}

export function publicKeyArgs(key: Arg, pub: Arg): Arg[] {
  return ['pkey', '-in', key, '-pubout', '-out', pub];
}
