import { EXIT, UserError } from '../errors.js';
import type { Instances } from '../model/instances.js';
import { rotationRefusal, rotationsUnderWay } from '../inspect/rotation.js';
import { unfinishedCaReplacement } from './replacing-ca.js';

/** A command that changes the PKI folder (or the nodes from it), as its user typed it. */
export type Operation = 'gen' | 'gen --replace-ca' | 'renew' | 'renew-ca' | 'csr' | 'distribute' | `rotate-ca ${string}`;

/** Operations that sign with a CA or re-embed one: they would cut a rotation's overlap in two. */
const SIGNS_ACROSS_A_ROTATION: readonly Operation[] = ['gen', 'gen --replace-ca', 'renew', 'renew-ca'];

/**
 * Every operation looks at what an earlier one left unfinished before it plans (under the lock, and
 * in a dry run the same way, so that it predicts the real run). Install intents are rolled forward
 * by recoverOutDir; what is left here is refused, naming the unfinished operation and how to finish it:
 * - an interrupted `gen --replace-ca` (its record): only gen finishes it (new CA, old leaves: anything
 *   else would sign, rotate or send a PKI whose leaves verify against no CA it trusts);
 * - a CA rotation under way: gen, renew and renew-ca would sign with (or renew) one CA in the middle of its overlap.
 */
export async function assertNothingUnfinished(outDir: string, instances: Instances, operation: Operation): Promise<void> {
  const replacing = [...(await unfinishedCaReplacement(outDir))];
  if (replacing.length && !operation.startsWith('gen'))
    throw new UserError(
      `${operation}: an interrupted kube-pki gen --replace-ca left ${replacing.join(', ')} replaced here but not every certificate it signs re-issued; ` +
        `run kube-pki gen with the same --config and --out to finish that replacement first (it re-issues those leaves, keys kept), then ${operation} again; nothing was changed`,
      EXIT.badInput,
    );
  if (!SIGNS_ACROSS_A_ROTATION.includes(operation)) return;
  const refusal = rotationRefusal(operation, await rotationsUnderWay(outDir, instances));
  if (refusal) throw new UserError(refusal, EXIT.badInput);
}
