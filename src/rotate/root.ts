import { EXIT, UserError } from '../errors.js';
import { cert, type CaRotation, type Snapshot } from '../inspect/rotation.js';
import { isEncryptedKey } from '../inspect/x509.js';
import type { Instances } from '../model/instances.js';
import { PASSPHRASE, type PlanItem } from '../model/steps.js';
import { DAY_MS } from '../model/time.js';
import type { RootSigning } from '../plan/cert-steps.js';
import { absent } from '../plan/plan.js';
import { planRoot, tokenArg } from '../plan/root.js';

// rotate-ca start under rootCA: who signs the new intermediates, and the root itself when the
// description gained rootCA on a running cluster (adoption).

/**
 * start under rootCA: the new intermediate is signed by the root, as gen --replace-ca signs one:
 * its key here (encrypted: the passphrase file opens it), the new CA within the root's validity.
 */
export function rootSigning(instances: Instances, r: CaRotation, snap: Snapshot, now: Date): RootSigning | undefined {
  const root = r.ca.root;
  if (!root) return undefined;
  // Adopting a root: made in this run (newRootItem), long enough for its CAs (checked when read).
  const made = newRootItem(instances, snap);
  if (made) return made.signing;
  const key = snap.get(root.keyPath);
  const token = instances.rootToken;
  if (token && key)
    throw new UserError(`rotate-ca start: ${root.keyPath} is in the output folder, but rootCA.pkcs11 puts the root CA key in the token ${token.uri}: move ${root.keyPath} away`, EXIT.badInput);
  if (!key && !token)
    throw new UserError(`rotate-ca start: ${r.files.newCrt} must be signed by the root CA, but ${root.keyPath} is not in the output folder: put it back (it is needed only for this)`, EXIT.badInput);
  const rootCrt = cert(snap.get(root.certPath));
  const end = rootCrt ? new Date(rootCrt.validTo) : null;
  if (!end) throw new UserError(`rotate-ca start: ${root.certPath} is missing or not a readable certificate: the root CA signs the new ${r.ca.name}`, EXIT.badInput);
  if (now.getTime() + r.ca.days * DAY_MS > end.getTime())
    throw new UserError(
      `${root.certPath}: the root CA ends on ${end.toISOString()}; ${r.files.newCrt} made now for ${r.ca.daysField} ${r.ca.days} days would outlive it: lower ${r.ca.daysField}, or give the cluster a new root first`,
      EXIT.badInput,
    );
  if (token) return { name: root.name, certPath: root.certPath, keyPath: root.keyPath, token: tokenArg(token) };
  return { name: root.name, certPath: root.certPath, keyPath: root.keyPath, ...(isEncryptedKey(key!) ? { passphrase: PASSPHRASE } : {}) };
}

/**
 * rootCA added to a cluster whose CAs are self-signed (no root in the folder yet): start makes the
 * root first, as gen does (its key encrypted unless rootCA.encrypt is false), and signs the new CAs
 * with it; the old self-signed CAs stay trusted through the overlap like any old CA.
 */
export function newRootItem(instances: Instances, snap: Snapshot): { item: PlanItem; signing: RootSigning } | null {
  const root = instances.root;
  const key = root && snap.get(root.keyPath);
  if (!root || snap.get(root.certPath)) return null;
  // A root in a token is made by `root init` (the key in the token, then its certificate), never here.
  if (instances.rootToken)
    throw new UserError(
      `rotate-ca start: ${root.certPath} is not there: the root CA key is in the token ${instances.rootToken.uri}; make it first with kube-pki root init --ca-pin-file FILE; nothing was written`,
      EXIT.badInput,
    );
  // A key without its certificate: a start killed while installing the pair (rolled forward under
  // the lock before the run plans again), or a key put there by hand; certified as gen would.
  const planned = planRoot(root, { ...absent(), keyExists: !!key, keyEncrypted: !!key && isEncryptedKey(key) }, instances.rootEncrypt ?? true);
  return planned.signing ? { item: planned.item, signing: planned.signing } : null;
}
