import { EXIT, UserError } from '../errors.js';
import type { Instances } from '../model/instances.js';
import { keyRotationsUnderWay } from '../files/key-rotation-record.js';
import { rotationRefusal, rotationsUnderWay } from '../inspect/rotation.js';
import { unfinishedCaReplacement } from './replacing-ca.js';
import { encryptionRotationUnderWay } from '../inspect/encryption.js';

/**
 * A CA (or token-key) rotation and an encryption-key rotation each need every apiserver restarted between phases:
 * one at a time, so that a restart list never mixes the two (docs/encryption.md). `status` is no change.
 */
async function assertOneRollingRestart(outDir: string, instances: Instances, operation: Operation): Promise<void> {
  if (operation.endsWith(' status')) return;
  if (operation.startsWith('rotate-ca ') || operation.startsWith('rotate-sa ')) {
    const phase = await encryptionRotationUnderWay(outDir, instances.encryption);
    if (phase)
      throw new UserError(
        `${operation}: an encryption-key rotation is under way (phase ${phase}); finish it first (kube-pki rotate-encryption-key status says what is next), then ${operation}; nothing was changed`,
        EXIT.badInput,
      );
  }
  if (operation.startsWith('rotate-encryption-key ')) {
    const rotating = (await rotationsUnderWay(outDir, instances)).map((r) => r.ca.name);
    if (rotating.length)
      throw new UserError(
        `${operation}: a CA rotation is under way (${rotating.join(', ')}); finish it first (kube-pki rotate-ca status says what is next), then ${operation}; nothing was changed`,
        EXIT.badInput,
      );
  }
}

/** A command that changes the PKI folder (or the nodes from it), as its user typed it. */
export type Operation = 'gen' | 'gen --replace-ca' | 'renew' | 'renew-ca' | 'csr' | 'distribute' | 'root init' | `rotate-ca ${string}` | `rotate-encryption-key ${string}` | `rotate-sa ${string}`;

/** Operations that sign with a CA or re-embed one: they would cut a rotation's overlap in two. */
const SIGNS_ACROSS_A_ROTATION: readonly Operation[] = ['gen', 'gen --replace-ca', 'renew', 'renew-ca'];

/**
 * Every operation looks at what an earlier one left unfinished before it plans (under the lock, and
 * in a dry run the same way, so that it predicts the real run). Install intents are rolled forward
 * by recoverOutDir; what is left here is refused, naming the unfinished operation and how to finish it:
 * - an interrupted `gen --replace-ca` (its record): only gen finishes it (new CA, old leaves: anything
 *   else would sign, rotate or send a PKI whose leaves verify against no CA it trusts);
 * - a CA rotation under way: gen, renew and renew-ca would sign with (or renew) one CA in the middle of its overlap, and
 *   a key rotation (rotate-sa) waits for it to end;
 * - a key rotation under way (its record, model/key-rotation.ts): only its own command and distribute
 *   run (distribution is part of every phase); anything else would change the PKI under a rotation
 *   whose files the nodes are being moved through.
 */
export async function assertNothingUnfinished(outDir: string, instances: Instances, operation: Operation): Promise<void> {
  const replacing = [...(await unfinishedCaReplacement(outDir))];
  if (replacing.length && !operation.startsWith('gen'))
    throw new UserError(
      `${operation}: an interrupted kube-pki gen --replace-ca left ${replacing.join(', ')} replaced here but not every certificate it signs re-issued; ` +
        `run kube-pki gen with the same --config and --out to finish that replacement first (it re-issues those leaves, keys kept), then ${operation} again; nothing was changed`,
      EXIT.badInput,
    );
  await assertOneRollingRestart(outDir, instances, operation);
  for (const k of await keyRotationsUnderWay(outDir)) {
    if (operation === 'distribute' || operation.startsWith(`${k.command} `)) continue;
    throw new UserError(
      `${operation}: a ${k.what} is under way here (phase ${k.phase}); roll it forward first (kube-pki ${k.command} status says what to run next; kube-pki ${k.command} finish ends it), then ${operation} again; nothing was changed`,
      EXIT.badInput,
    );
  }
  if (!SIGNS_ACROSS_A_ROTATION.includes(operation) && !operation.startsWith('rotate-sa ')) return;
  const refusal = rotationRefusal(operation, await rotationsUnderWay(outDir, instances));
  if (refusal) throw new UserError(refusal, EXIT.badInput);
}
