import { EXIT, UserError } from '../errors.js';
import type { CertState, DiskState } from '../inspect/disk.js';
import { certSteps, type RootSigning } from './cert-steps.js';
import { DAY_MS } from '../model/time.js';
import type { CertInstance, Instances } from '../model/instances.js';
import { PASSPHRASE, type PlanItem } from '../model/steps.js';

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
export function planRoot(root: CertInstance, state: CertState, encrypt: boolean): PlannedRoot {
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
