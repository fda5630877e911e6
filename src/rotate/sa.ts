import { stat } from 'node:fs/promises';
import { EXIT, UserError } from '../errors.js';
import { existingPkiFolder } from '../exec/pki-folder.js';
import { assertOwnFolder } from '../exec/own-folder.js';
import { runLocked } from '../exec/run-locked.js';
import { runContext } from '../exec/run-plan.js';
import { assertNothingUnfinished } from '../exec/unfinished.js';
import { readSaSnapshot, saFiles, saRotation, type SaFiles, type SaRotation } from '../inspect/sa-rotation.js';
import { readSnapshot, type Snapshot } from '../inspect/rotation.js';
import type { Cluster } from '../model/cluster.js';
import type { Instances } from '../model/instances.js';
import type { KeyRotationCommand, KeyRotationPhase, KeyRotationState } from '../model/key-rotation.js';
import type { Plan } from '../model/steps.js';
import { checkOpenssl } from '../openssl/run.js';
import { instancesFor } from '../pki.js';
import { assertKeyPhaseOrder, nextKeyPhase } from './key-phases.js';
import type { PhaseReport } from './phase-report.js';
import type { NodeRestart } from './restart.js';
import { planSaPhase, saPhaseComplete } from './sa-plan.js';

export interface RotateSaOptions {
  out: string;
  dryRun?: boolean;
  concurrency?: number;
  now?: Date;
}

export interface RotateSaReport extends PhaseReport<KeyRotationCommand> {
  /** The last phase begun ('none': no rotation under way) and whether it has nothing left to do. */
  state: KeyRotationState;
  complete: boolean;
  next: string;
  /** The token key's files in the PKI folder: the current pair and the new one. */
  files: { current: { key: string; pub: string }; new: { key: string; pub: string } };
}

/** Which components read which service-account flag: the catalog's uses of the token key. */
function tokenKeyUses(instances: Instances, files: SaFiles): { component: string; flag: string }[] {
  const spec = instances.keyPairs.find((k) => k.name === files.name)?.spec ?? instances.certs.find((c) => c.name === files.name)!.spec;
  return (spec.uses ?? []).map((u) => ({ component: u.component, flag: u.flag }));
}

const VERIFY = '--service-account-key-file';

/**
 * Who restarts after a phase, control planes one at a time: start changes what the apiservers verify
 * with (kube-apiserver), promote what signs (the apiserver and the controller manager's token
 * controller), finish both.
 */
export function saRestart(cluster: Cluster, instances: Instances, files: SaFiles, phase: KeyRotationPhase): NodeRestart[] {
  const uses = tokenKeyUses(instances, files).filter((u) => phase === 'finish' || (phase === 'start') === (u.flag === VERIFY));
  const components = ['kube-apiserver', 'kube-controller-manager'].filter((c) => uses.some((u) => u.component === c));
  return cluster.nodes.filter((n) => n.role === 'controlplane').map((n) => ({ node: n.name, components }));
}

function notesFor(phase: KeyRotationPhase, files: SaFiles): string[] {
  const n = files.next;
  switch (phase) {
    case 'start':
      return [`tokens are still signed with ${files.current.key}; every apiserver now also accepts tokens of ${n.key} (after its restart)`];
    case 'promote':
      return [`the apiservers sign new tokens with ${n.key} (after their restart); tokens of the old key keep working until finish`];
    case 'finish':
      return [
        `${n.key} and ${n.pub} stay, a copy of the current pair, so that a component restarted with the promote flags still starts; ` +
          `once every apiserver and controller manager runs with the flags \`kube-pki flags\` prints now, delete them (and their copies in node trees) and run kube-pki distribute; the next rotate-sa start replaces them anyway`,
        'tokens signed with the old key are refused from each apiserver\'s restart on: pods get new ones from the kubelet (projected tokens are refreshed hourly); long-lived tokens made by hand must be made again',
      ];
  }
}

const snapshotOf = (outDir: string, instances: Instances, files: SaFiles): Promise<Snapshot> => {
  const ca = instances.certs.find((c) => c.name === files.name)?.ca;
  // The hard way's new certificate is capped to its CA's end: the CA certificate is read too.
  return readSaSnapshot(outDir, files).then(async (snap) => (ca ? new Map([...snap, ...(await readSnapshot(outDir, [ca.certPath]))]) : snap));
};

/** `kube-pki rotate-sa start|promote|finish|status`. */
export async function rotateSa(cluster: Cluster, command: KeyRotationCommand, options: RotateSaOptions): Promise<{ exitCode: number; report: RotateSaReport; plan: Plan | null }> {
  const outDir = await existingPkiFolder(options.out);
  const now = options.now ?? new Date();
  const instances = instancesFor(cluster);
  const files = saFiles(instances);
  if (!files) throw new UserError(`rotate-sa: the ${cluster.profile} catalog has no service-account key`, EXIT.badInput);
  if (command !== 'status') {
    // A dry run too: it exits as the real run would (the lock's own check comes before any write).
    await assertOwnFolder(outDir);
    await assertNothingUnfinished(outDir, instances, `rotate-sa ${command}`);
  }
  let snap = await snapshotOf(outDir, instances, files);
  const status = (r: SaRotation) => {
    const complete = r.state === 'none' ? true : saPhaseComplete(r.state, instances, r, snap);
    return { state: r.state, complete, next: r.broken ?? nextKeyPhase('sa', r.state, complete) };
  };
  let r = saRotation(files, snap);
  const report: RotateSaReport = {
    outDir, profile: cluster.profile, source: cluster.source, command, result: 'ok', ...status(r),
    files: { current: files.current, new: files.next }, changed: [], backupDir: null, restart: [], notes: [], warnings: [], errors: [],
  };
  if (command === 'status') return { exitCode: EXIT.ok, report, plan: null };
  const phase = command;
  const plan = (s: Snapshot): Plan => {
    const found = saRotation(files, s);
    if (found.broken) throw new UserError(`rotate-sa ${phase}: ${found.broken}`, EXIT.failed);
    assertKeyPhaseOrder('sa', phase, found.state, found.state === 'none' || saPhaseComplete(found.state, instances, found, s), found.retired);
    // finish again after a finished rotation: nothing to do.
    if (phase === 'finish' && found.state === 'none') return { profile: 'rotate-sa', items: [] };
    return planSaPhase(phase, instances, found, s, { now });
  };
  let planned = plan(snap);
  const warningsOf = (p: Plan) => p.items.flatMap((i) => (i.warnings ?? []).map((w) => `${i.name}: ${w}`));
  report.warnings = warningsOf(planned);
  if (phase === 'finish' && r.state === 'none') return { exitCode: EXIT.ok, report: { ...report, result: 'nothing' }, plan: planned };
  report.restart = saRestart(cluster, instances, files, phase);
  report.notes = notesFor(phase, files);
  if (options.dryRun) return { exitCode: EXIT.ok, report: { ...report, result: 'dry-run' }, plan: planned };

  await checkOpenssl();
  const errors = await runLocked(async () => (planned = plan(await snapshotOf(outDir, instances, files))), outDir, {
    operation: `rotate-sa ${phase}`,
    instances,
    now,
    silent: true,
    ...(options.concurrency ? { concurrency: options.concurrency } : {}),
  });
  snap = await snapshotOf(outDir, instances, files);
  r = saRotation(files, snap);
  Object.assign(report, status(r));
  if (phase === 'finish' && r.state === 'none' && !errors.size) report.next = 'rotation done';
  report.warnings = warningsOf(planned);
  report.errors = [...errors].map(([name, message]) => ({ name, message }));
  report.changed = planned.items.filter((i) => i.steps.length && !errors.has(i.name)).flatMap((i) => i.outputs).filter((f) => !f.startsWith('.kube-pki'));
  const { backupDir } = runContext(outDir, now);
  report.backupDir = (await stat(backupDir).catch(() => null)) ? backupDir : null;
  report.result = errors.size ? 'failed' : 'ok';
  return { exitCode: errors.size ? EXIT.failed : EXIT.ok, report, plan: planned };
}
