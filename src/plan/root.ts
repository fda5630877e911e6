import { EXIT, UserError } from '../errors.js';
import type { CertState, DiskState } from '../inspect/disk.js';
import { certSteps, type RootSigning } from './cert-steps.js';
import { DAY_MS } from '../model/time.js';
import type { CertInstance, Instances } from '../model/instances.js';
import type { Pkcs11Settings } from '../model/cluster.js';
import { PASSPHRASE, type Arg, type PlanItem } from '../model/steps.js';

// The root CA of `rootCA` (README "A root CA"): made once, kept, never replaced by gen (a new root is
// a rotation). It signs the catalog's CAs as intermediates; nothing else. Kept apart from plan.ts so
// that a later `rotate-ca` can plan a new root with the same pieces.

const idle = (root: CertInstance, action: PlanItem['action'], reasons: string[]): PlanItem => ({
  name: root.name, group: 'ca', action, reasons, needs: [], keySteps: [], steps: [], outputs: [],
});

export interface PlannedRoot {
  item: PlanItem;
  /** How intermediates are signed; absent when the root's key is not in the folder (kept offline). */
  signing?: RootSigning;
  /** The root's end, when its certificate is on disk (or undefined: it is made in this run). */
  notAfter?: Date;
}

/**
 * The root's item. Its key is encrypted (rootCA.encrypt) when made; a key on disk is used as it is,
 * encrypted or not, and its passphrase is then needed for everything it signs.
 */
export function planRoot(root: CertInstance, state: CertState, encrypt: boolean, token?: Pkcs11Settings, certifyToken = false): PlannedRoot {
  if (token) return planTokenRoot(root, state, token, certifyToken);
  const encrypted = state.keyExists ? !!state.keyEncrypted : encrypt;
  const pass = encrypted ? PASSPHRASE : undefined;
  const signing: RootSigning = { name: root.name, certPath: root.certPath, keyPath: root.keyPath, ...(pass ? { passphrase: pass } : {}) };
  const notAfter = state.facts?.notAfter;
  if (state.keyUnreadable) throw new UserError(`${root.keyPath} is not a readable private key; kube-pki never overwrites the root CA key: move it away or restore it`, EXIT.badInput);
  if (!state.keyExists && !state.certExists) return { item: certSteps(root, 'create', ['new root CA'], true, state, undefined, pass), signing };
  if (!state.certExists) return { item: certSteps(root, 'create', ['root key kept; certificate made from it'], false, state, undefined, pass), signing };
  if (!state.keyExists) return { item: idle(root, 'keep', [`${root.keyPath} is kept elsewhere: nothing new can be signed by the root here`]), ...(notAfter ? { notAfter } : {}) };
  // A wrong root is never replaced by gen: every intermediate and node would follow it.
  if (state.problems.length) return { item: idle(root, 'stale', [...state.problems, 'the root CA is never replaced by gen']), signing, ...(notAfter ? { notAfter } : {}) };
  return { item: idle(root, 'keep', ['kept']), signing, ...(notAfter ? { notAfter } : {}) };
}

/** The root of rootCA.pkcs11: its key in the token, its certificate made by `root init`, never by gen. */
function planTokenRoot(root: CertInstance, state: CertState, token: Pkcs11Settings, certify: boolean): PlannedRoot {
  const signing: RootSigning = { name: root.name, certPath: root.certPath, keyPath: root.keyPath, token: tokenArg(token) };
  if (certify && !state.certExists) return { item: tokenRootItem(root, token, `key in the PKCS#11 token ${token.uri}; certificate made for it`), signing };
  if (state.keyExists || state.keyUnreadable)
    throw new UserError(
      `${root.keyPath} is in the output folder, but rootCA.pkcs11 puts the root CA key in the token ${token.uri}: move ${root.keyPath} away (the token's key signs; no file holds it)`,
      EXIT.badInput,
    );
  if (!state.certExists)
    throw new UserError(
      `${root.certPath} is not there: the root CA key is in the token ${token.uri}; make its certificate first with kube-pki root init --ca-pin-file FILE (it makes the key in the token too); nothing was written`,
      EXIT.badInput,
    );
  const notAfter = state.facts?.notAfter;
  const where = `key in the PKCS#11 token ${token.uri}`;
  if (state.problems.length) return { item: idle(root, 'stale', [...state.problems, 'the root CA is never replaced by gen']), signing, ...(notAfter ? { notAfter } : {}) };
  return { item: idle(root, 'keep', [`kept (${where})`]), signing, ...(notAfter ? { notAfter } : {}) };
}

/** The root key as a step argument: its URI, which openssl's pkcs11 engine opens. */
export const tokenArg = (token: Pkcs11Settings): Arg => ({ token: token.uri });

/** `root init`: the self-signed root certificate for the key in the token (made there first, or found). */
export function tokenRootItem(root: CertInstance, token: Pkcs11Settings, reason: string): PlanItem {
  return certSteps(root, 'create', [reason], false, { keyExists: false, keyUnreadable: false, certExists: false, problems: [] }, undefined, undefined, root.days, tokenArg(token));
}

/**
 * After the CAs are planned: refuses (exit 2, before anything is written) an intermediate the root
 * must sign when it cannot (its key is elsewhere) or when the intermediate would outlive the root.
 * Returns the CA certificates that are not the root's, for gen to refuse without --replace-ca.
 */
export function checkIntermediates(instances: Instances, disk: DiskState, items: PlanItem[], root: PlannedRoot, now: Date): string[] {
  const byName = new Map(items.map((i) => [i.name, i]));
  const cas = instances.certs.filter((c) => c.root);
  const signed = cas.filter((c) => ['create', 'reissue'].includes(byName.get(c.name)?.action ?? ''));
  if (signed.length && !root.signing)
    throw new UserError(
      `${signed.map((c) => c.certPath).join(', ')} must be signed by the root CA, but ${instances.root!.keyPath} is not in the output folder: put it back (it is needed only for this)`,
      EXIT.badInput,
    );
  const end = root.notAfter;
  const outliving = end ? signed.filter((c) => now.getTime() + c.days * DAY_MS > end.getTime()) : [];
  if (outliving.length)
    throw new UserError(
      `${instances.root!.certPath}: the root CA ends on ${end!.toISOString()}; ${outliving.map((c) => c.certPath).join(', ')} made now for ` +
        `validityDays.ca ${outliving[0]!.days} days would outlive it: lower validityDays.ca, or give the cluster a new root first`,
      EXIT.badInput,
    );
  return cas.filter((c) => disk.certs.get(c.name)?.notUnderRoot && byName.get(c.name)?.action === 'stale').map((c) => c.certPath);
}
