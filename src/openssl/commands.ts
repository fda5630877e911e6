import type { KeySpec } from '../model/cluster.js';
import { CA_CONFIG, NOT_BEFORE, type Arg } from '../model/steps.js';
import { BACKDATE_MS } from '../model/time.js';

/**
 * `openssl ca` keeps a database (an index file) and a copy of each certificate it signs: its own
 * configuration file (`-config`, CA_CONFIG) puts them in a private temporary folder, `dir`. The
 * certificate's extensions still come from its openssl.cnf (-extfile), which stays usable by hand.
 */
export const CA_CONFIG_FILE = '.ca-config.cnf';
export const CA_INDEX = '.ca-index';

export function caConfig(dir: string): string {
  return [
    '# openssl ca\'s own settings, written by kube-pki: its database in a temporary folder; extensions from -extfile.',
    '[ca]',
    'default_ca = kube_pki_ca',
    '[kube_pki_ca]',
    `database = ${dir}/${CA_INDEX}`,
    `new_certs_dir = ${dir}`,
    // Never read (-rand_serial), but openssl ca 3.0 looks the setting up.
    `serial = ${dir}/.ca-serial`,
    'unique_subject = no',
    'email_in_dn = no',
    'policy = kube_pki_policy',
    '[kube_pki_policy]',
    '',
  ].join('\n');
}

/** `openssl ca -startdate` for a certificate signed at `now`: BACKDATE_MS earlier, as YYYYMMDDHHMMSSZ. */
export function startDate(now: Date): string {
  return new Date(now.getTime() - BACKDATE_MS).toISOString().replace(/[-:T]/g, '').replace(/\.\d{3}Z$/, 'Z');
}

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

/**
 * Step 3: the certificate, signed by a CA, or by its own key for a self-signed CA. `openssl ca` rather
 * than `openssl x509 -req`: OpenSSL before 3.4 has no other way to set notBefore (-startdate), which
 * is backdated as kubeadm does; notAfter is `days` from now. -preserveDN keeps the request's subject as
 * it is (order and string types: a renewed CA's subject stays byte for byte); -rand_serial draws a
 * random serial (no serial file for parallel signers to race on); the extensions come from the cnf
 * only, never copied from the request.
 */
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
  const key = 'selfKey' in o.signer ? o.signer.selfKey : o.signer.caKey;
  const signer: Arg[] = 'selfKey' in o.signer ? ['-selfsign', '-keyfile', key] : ['-cert', o.signer.caCrt, '-keyfile', key];
  if (inToken(key)) signer.push('-keyform', 'engine', '-engine', PKCS11_ENGINE);
  if (o.passin) signer.push('-passin', o.passin);
  return [
    'ca', '-batch', '-config', CA_CONFIG, '-in', o.csr, ...signer, '-out', o.crt, '-startdate', NOT_BEFORE, '-days', String(o.days), '-md', 'sha256',
    '-rand_serial', '-preserveDN', '-notext', '-extfile', o.cnf, '-extensions', o.section,
  ];
}

/** A signing request for a certificate already there (a CA renewed with its key): its subject kept as it is. */
export function requestFromCertArgs(o: { crt: Arg; key: Arg; csr: Arg; passin?: Arg }): Arg[] {
  return ['x509', '-x509toreq', '-in', o.crt, '-signkey', o.key, ...(inToken(o.key) ? ['-keyform', 'engine', '-engine', PKCS11_ENGINE] : []), ...(o.passin ? ['-passin', o.passin] : []), '-out', o.csr];
}

export function publicKeyArgs(key: Arg, pub: Arg): Arg[] {
  return ['pkey', '-in', key, '-pubout', '-out', pub];
}
