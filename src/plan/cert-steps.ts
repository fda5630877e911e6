import type { CertState } from '../inspect/disk.js';
import { csrArgs, genKeyArgs, signArgs } from '../openssl/commands.js';
import { extensionSection, renderCnf } from '../openssl/cnf.js';
import type { CertInstance } from '../model/instances.js';
import { MODE } from '../model/files.js';
import type { Action, Arg, PlanItem, Step } from '../model/steps.js';

export const base = (path: string) => path.replace(/\.(crt|key)$/, '');

/**
 * How an intermediate is signed by the root: its files, and the passphrase when its key is encrypted;
 * `token`: its key is in a PKCS#11 token ({ token: URI }), not in keyPath.
 */
export interface RootSigning {
  name: string;
  certPath: string;
  keyPath: string;
  passphrase?: Arg;
  token?: Arg;
}

/**
 * The key (new, or the one on disk) and the signing request asking for the certificate's extensions.
 * `passphrase`: the key is (or is made) encrypted, opened with the root CA's passphrase file.
 */
export function requestSteps(cert: CertInstance, newKey: boolean, passphrase?: Arg, token?: Arg): { key: Arg; cnf: { out: string }; csr: { out: string }; keySteps: Step[]; steps: Step[] } {
  const b = base(cert.certPath);
  // A key in a token is never new here: `root init` makes it in the token before any plan.
  const key: Arg = token ?? (newKey ? { out: cert.keyPath } : { in: cert.keyPath });
  const cnf = { out: `${b}.cnf` };
  const csr = { out: `${b}.csr` };
  return {
    key,
    cnf,
    csr,
    keySteps: newKey && !token ? [{ op: 'openssl', args: genKeyArgs(cert.key, key, passphrase) }] : [],
    steps: [
      { op: 'write', file: cnf.out, content: renderCnf(cert) },
      { op: 'openssl', args: csrArgs({ key, subject: cert.subject, csr, cnf, ...(passphrase ? { passin: passphrase } : {}) }) },
    ],
  };
}

/**
 * A certificate's steps: signed by its CA, by the root (an intermediate: `root`), or by its own key
 * (a self-signed CA, the root itself: `ownPassphrase` when its key is encrypted).
 */
export function certSteps(cert: CertInstance, action: Action, reasons: string[], newKey: boolean, state: CertState, root?: RootSigning, ownPassphrase?: Arg, days = cert.days, ownToken?: Arg): PlanItem {
  const { key, cnf, csr, keySteps, steps } = requestSteps(cert, newKey && !ownToken, ownPassphrase, ownToken);
  newKey &&= !ownToken;
  const crt = { out: cert.certPath };
  const signer = root
    ? { caCrt: { in: root.certPath }, caKey: root.token ?? { in: root.keyPath } }
    : cert.ca
      ? { caCrt: { in: cert.ca.certPath }, caKey: { in: cert.ca.keyPath } }
      : { selfKey: key };
  const passin = root ? root.passphrase : cert.ca ? undefined : ownPassphrase;
  steps.push({ op: 'openssl', args: signArgs({ csr, crt, days, cnf, section: extensionSection(cert), signer, ...(passin ? { passin } : {}) }) });
  if (newKey) {
    if (state.keyExists) steps.push({ op: 'backup', file: cert.keyPath });
    steps.push({ op: 'install', file: cert.keyPath, mode: MODE.secret });
  }
  if (state.certExists) steps.push({ op: 'backup', file: cert.certPath });
  steps.push({ op: 'install', file: cert.certPath, mode: MODE.public });
  return {
    name: cert.name,
    group: cert.caName ? 'cert' : 'ca',
    action,
    reasons,
    needs: cert.caName ? [cert.caName] : root ? [root.name] : [],
    keySteps,
    steps,
    outputs: newKey ? [cert.keyPath, cert.certPath] : [cert.certPath],
  };
}

