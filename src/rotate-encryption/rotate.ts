import { stat } from 'node:fs/promises';
import { EXIT, UserError } from '../errors.js';
import { existingPkiFolder } from '../exec/pki-folder.js';
import { runLocked } from '../exec/run-locked.js';
import { assertNothingUnfinished } from '../exec/unfinished.js';
import { runContext } from '../exec/run-plan.js';
import { encryptionRotation, inspectEncryption, type EncryptionRotation, type EncryptionState } from '../inspect/encryption.js';
import type { Cluster } from '../model/cluster.js';
import { ENCRYPTION_CONFIG, keyName, type EncryptionInstance, type EncryptionKeyRef, type EncryptionPhase } from '../model/encryption.js';
import type { Instances } from '../model/instances.js';
import type { Plan, PlanItem } from '../model/steps.js';
import { checkOpenssl } from '../openssl/run.js';
import { configSteps, copyItems } from '../plan/encryption.js';
import { instancesFor } from '../pki.js';

// rotate-encryption-key: the key rotation of "Encrypting Confidential Data at Rest" (kubernetes.io) in
// three phases, each followed by a rolling restart of every kube-apiserver (docs/encryption.md):
//   start    [old]      → [old, new]  every apiserver can read what the new key will write
//   promote  [old, new] → [new, old]  the new key encrypts; then re-encrypt every Secret
//   finish   [new, old] → [new]       the old key is archived in backup-<time>/
// The phase is read from the file itself (key names: the highest number is the newest), so the file is
// the state record: each phase is one atomic rename of it (then of each tree's copy), and a run killed
// at any moment completes when run again.

export type EncryptionCommand = EncryptionPhase | 'status';

export interface RotateEncryptionOptions {
  out: string;
  dryRun?: boolean;
  now?: Date;
}

export interface NodeRestart {
  node: string;
  components: string[];
}

export interface EncryptionReport {
  outDir: string;
  profile: string;
  source: string;
  command: EncryptionCommand;
  result: 'ok' | 'failed' | 'dry-run' | 'nothing';
  file: string;
  provider: string;
  /** The last phase begun ('none': no rotation under way). */
  state: EncryptionRotation['state'];
  complete: boolean;
  /** Key names in the file's order: the first encrypts, all decrypt. Never the keys. */
  keys: string[];
  next: string;
  changed: string[];
  backupDir: string | null;
  restart: NodeRestart[];
  /** After promote: the command that rewrites every Secret with the new key, before finish. */
  reencrypt: string | null;
  notes: string[];
  errors: { name: string; message: string }[];
}

/** Rewrites every Secret through the apiserver, so that each is encrypted again with the first key. */
export const REENCRYPT_COMMAND = 'kubectl get secrets --all-namespaces -o json | kubectl replace -f -';

const run = (what: string) => `kube-pki rotate-encryption-key ${what}`;

function nextText(r: EncryptionRotation): string {
  if (r.broken) return r.broken;
  if (!r.complete) return `${run(r.state === 'none' ? 'finish' : r.state)} again to complete it`;
  if (r.state === 'none') return `no rotation under way (${run('start')} begins one)`;
  if (r.state === 'start') return `distribute, restart every kube-apiserver as listed, then ${run('promote')}`;
  return `distribute, restart every kube-apiserver as listed, re-encrypt every Secret (${REENCRYPT_COMMAND}), then ${run('finish')}`;
}

/** Every phase changes what each kube-apiserver reads at start: the control planes, one at a time. */
const restartOf = (instance: EncryptionInstance): NodeRestart[] => instance.nodes.map((node) => ({ node, components: ['kube-apiserver'] }));

function refuse(command: EncryptionPhase, what: string): never {
  throw new UserError(`rotate-encryption-key ${command}: ${what}; nothing was changed`, EXIT.badInput);
}

/**
 * The items of a phase from where the file stands: the new file and its copies, or only the copies a
 * killed run left behind; nothing when the phase is done. Out of order: refused (exit 2) naming what to run.
 */
function planPhase(command: EncryptionPhase, instance: EncryptionInstance, state: EncryptionState): { items: PlanItem[]; nothing: boolean } {
  const r = encryptionRotation(instance, state);
  if (r.broken) throw new UserError(`rotate-encryption-key ${command}: ${r.broken}`, EXIT.failed);
  const target: EncryptionRotation['state'] = command === 'finish' ? 'none' : command;
  const order = ['none', 'start', 'promote'] as const;
  const want = { start: 'none', promote: 'start', finish: 'promote' } as const;
  const path = instance.path;
  const [first, second] = r.keys;
  const keep = (name: string): EncryptionKeyRef => ({ name, from: path });
  if (r.state === target) {
    // This phase's file is there already: complete its copies (a killed run), or nothing to do.
    if (r.complete) return { items: [], nothing: true };
    return { items: copyItems(instance, state, false, [], true), nothing: false };
  }
  if (r.state !== want[command]) {
    if (order.indexOf(r.state) > order.indexOf(want[command]) || (command === 'start' && r.state !== 'none'))
      refuse(command, `the rotation is already in the ${r.state} phase: run ${run(r.state === 'start' ? 'promote' : 'finish')}`);
    refuse(command, r.state === 'none' ? `no rotation under way: run ${run('start')} first` : `the rotation is in the ${r.state} phase: run ${run('promote')} first`);
  }
  if (!r.complete)
    refuse(
      command,
      r.state === 'none'
        ? `the trees' copies of ${path} differ from it: run kube-pki gen (a copy missing) or ${run('finish')} (a finish cut short) again first`
        : `the ${r.state} phase is not complete (the trees' copies differ): run ${run(r.state)} again first`,
    );
  const keys: EncryptionKeyRef[] =
    command === 'start'
      ? [keep(first!), { name: keyName(Math.max(...r.keys.map((k) => Number(k.slice(3)))) + 1), fresh: true }]
      : command === 'promote'
        ? [keep(second!), keep(first!)]
        : [keep(first!)];
  const source: PlanItem = {
    name: ENCRYPTION_CONFIG,
    group: 'keypair',
    action: 'reissue',
    reasons: [
      command === 'start'
        ? `${keys[1]!.name} added second: every apiserver can decrypt with it, ${first} still encrypts`
        : command === 'promote'
          ? `${second} first: it encrypts from now on, ${first} still decrypts`
          : `${second} removed (archived in the backup folder): ${first} alone`,
    ],
    needs: [],
    keySteps: [],
    // finish drops a key: the file with it is archived first, so that a Secret missed by the re-encryption can still be read.
    steps: configSteps(instance, keys, command === 'finish'),
    outputs: [path],
  };
  return { items: [source, ...copyItems(instance, state, true, [ENCRYPTION_CONFIG])], nothing: false };
}

function encryptionOf(cluster: Cluster, instances: Instances): EncryptionInstance {
  if (!instances.encryption)
    throw new UserError(`rotate-encryption-key: ${cluster.source} has no encryption (encryption: { provider: aescbc } turns it on; docs/encryption.md)`, EXIT.badInput);
  return instances.encryption;
}

/** `kube-pki rotate-encryption-key start|promote|finish|status`. */
export async function rotateEncryptionKey(
  cluster: Cluster,
  command: EncryptionCommand,
  options: RotateEncryptionOptions,
): Promise<{ exitCode: number; report: EncryptionReport; plan: Plan | null }> {
  const outDir = await existingPkiFolder(options.out);
  const instances = instancesFor(cluster);
  const instance = encryptionOf(cluster, instances);
  const now = options.now ?? new Date();
  if (command !== 'status') await assertNothingUnfinished(outDir, instances, `rotate-encryption-key ${command}`);
  const describe = (state: EncryptionState) => {
    const r = encryptionRotation(instance, state);
    return { state: r.state, complete: r.complete, keys: r.keys, next: nextText(r), provider: state.config?.provider ?? instance.provider };
  };
  let state = await inspectEncryption(outDir, instance);
  const report: EncryptionReport = {
    outDir, profile: cluster.profile, source: cluster.source, command, result: 'ok', file: instance.path, ...describe(state),
    changed: [], backupDir: null, restart: [], reencrypt: null, notes: [], errors: [],
  };
  if (command === 'status') {
    if (report.state === 'promote' && report.complete) report.reencrypt = REENCRYPT_COMMAND;
    return { exitCode: EXIT.ok, report, plan: null };
  }
  let planned = planPhase(command, instance, state);
  if (planned.nothing) return { exitCode: EXIT.ok, report: { ...report, result: 'nothing', notes: [`the ${command} phase is done already: ${report.next}`] }, plan: null };
  report.restart = restartOf(instance);
  if (command === 'promote') report.reencrypt = REENCRYPT_COMMAND;
  if (command === 'finish')
    report.notes.push(`finish removes the old key: every Secret must have been re-encrypted after promote's restarts (${REENCRYPT_COMMAND}); the file with the old key is kept in the backup folder`);
  const plan = (): Plan => ({ profile: 'rotate-encryption-key', items: planned.items });
  if (options.dryRun) return { exitCode: EXIT.ok, report: { ...report, result: 'dry-run' }, plan: plan() };

  await checkOpenssl();
  const errors = await runLocked(
    async () => {
      // Under the lock: planned again from the file as it is now (another run may just have moved it).
      planned = planPhase(command, instance, await inspectEncryption(outDir, instance));
      return plan();
    },
    outDir,
    { operation: `rotate-encryption-key ${command}`, instances, now, silent: true },
  );
  state = await inspectEncryption(outDir, instance);
  Object.assign(report, describe(state));
  report.errors = [...errors].map(([name, message]) => ({ name, message }));
  report.changed = planned.items.filter((i) => i.steps.length && !errors.has(i.name)).flatMap((i) => i.outputs);
  const { backupDir } = runContext(outDir, now);
  report.backupDir = (await stat(backupDir).catch(() => null)) ? backupDir : null;
  report.result = errors.size ? 'failed' : 'ok';
  return { exitCode: errors.size ? EXIT.failed : EXIT.ok, report, plan: plan() };
}
