import { stat } from 'node:fs/promises';
import { EXIT, UserError } from '../errors.js';
import { assertPassphrase } from '../exec/passphrase.js';
import { assertToken, type TokenAccess } from '../exec/token.js';
import { runLocked } from '../exec/run-locked.js';
import { assertNothingUnfinished } from '../exec/unfinished.js';
import { runContext } from '../exec/run-plan.js';
import { isExternalCa } from '../inspect/compare.js';
import { caRotation, embedded, readSnapshot, rotationPaths, signedBy, type CaRotation, type Snapshot } from '../inspect/rotation.js';
import { certFacts } from '../inspect/x509.js';
import type { Cluster } from '../model/cluster.js';
import type { CertInstance, Instances } from '../model/instances.js';
import type { RotationPhase, RotationState } from '../model/rotation.js';
import type { Plan } from '../model/steps.js';
import { checkOpenssl } from '../openssl/run.js';
import { caRunInputs } from './ca-run-inputs.js';
import { phaseComplete, planPhase } from './plan.js';
import { abortReport, abortTargets, assertAbortable, planAbort } from './abort.js';
import { retiredBundleNote } from './notes.js';
import type { PhaseReport } from './phase-report.js';
import { rollingRestart } from './restart.js';

export type RotateCommand = RotationPhase | 'abort' | 'status';

export interface RotateCaOptions {
  out: string;
  ca?: string[];
  dryRun?: boolean;
  newKeys?: boolean;
  concurrency?: number;
  now?: Date;
  /** --ca-passphrase-file: start under rootCA signs the new intermediate with the (encrypted) root key. */
  caPassphraseFile?: string;
  /** --ca-pin-file: start under a root in a PKCS#11 token signs the new intermediate through the token. */
  caPinFile?: string;
}

export interface CaStatus {
  name: string;
  file: string;
  /** The last phase begun ('none': no rotation under way). */
  state: RotationState;
  /** That phase has nothing left to do. */
  complete: boolean;
  /** What to run next, for the user. */
  next: string;
  /** Leaf certificates and kubeconfigs still signed by the CA being replaced. */
  signedByOld: string[];
}

export interface RotateReport extends PhaseReport<RotateCommand> {
  cas: CaStatus[];
}

const PHASES: readonly RotationPhase[] = ['start', 'reissue', 'finish'];
const run = (what: string) => `kube-pki rotate-ca ${what}`;

function nextText(r: CaRotation, complete: boolean): string {
  if (r.state === 'none') return `no rotation under way (${run('start')} begins one)`;
  // An abort cut short looks like its phase unfinished: both ways on are offered.
  if (!complete) return `${run(r.state)} again to complete the ${r.state} phase${r.state === 'finish' ? '' : ` (or ${run('abort')} to go back)`}`;
  if (r.state === 'finish') return 'rotation done';
  const after = PHASES[PHASES.indexOf(r.state) + 1]!;
  return `distribute, restart as listed, then ${run(after)} (or ${run('abort')} to go back)`;
}

/** The CAs of the catalog that kube-pki can rotate (made by kube-pki, key present), and why not the others. */
export function rotatable(snap: Snapshot, ca: CertInstance): string | null {
  const crt = snap.get(ca.certPath);
  if (crt && !snap.get(ca.keyPath)) return `${ca.name} is an external CA: ${ca.certPath} is here without its key, so kube-pki cannot sign with it or replace its leaves; rotate it where its key is`;
  if (crt) {
    try {
      if (isExternalCa(ca, certFacts(crt))) return `${ca.name} is an external CA (${ca.certPath} was not made by kube-pki); its owner replaces it`;
    } catch {
      return `${ca.certPath} is not a readable certificate`;
    }
  }
  return null;
}

/** The CAs this run works on: --ca names, else every CA kube-pki made (start) or every CA under rotation. */
function selectCas(instances: Instances, snap: Snapshot, command: RotateCommand, asked: string[] | undefined): CertInstance[] {
  const cas = instances.certs.filter((c) => !c.caName);
  if (asked?.length) {
    return [...new Set(asked)].map((name) => {
      const ca = cas.find((c) => c.name === name);
      if (!ca) throw new UserError(`--ca ${JSON.stringify(name)}: not a CA of this cluster; one of: ${cas.map((c) => c.name).join(', ')}`, EXIT.badInput);
      const why = rotatable(snap, ca);
      if (why) throw new UserError(`--ca ${name}: ${why}`, EXIT.badInput);
      return ca;
    });
  }
  const own = cas.filter((c) => !rotatable(snap, c));
  if (command === 'start') return own;
  const under = own.filter((c) => caRotation(c, snap).state !== 'none');
  if (under.length || command === 'reissue') return under;
  if (command === 'status') return own;
  // finish or abort again after one: the CAs whose rotation ended (their bundle retired), nothing to do.
  const ended = own.filter((c) => caRotation(c, snap).retired);
  return ended.length ? ended : own;
}

/** Refuses a phase out of order (exit 2), saying what to run instead. */
function assertOrder(command: RotationPhase, r: CaRotation, complete: boolean): void {
  if (r.broken) throw new UserError(`rotate-ca ${command}: ${r.broken}`, EXIT.failed);
  const refuse = (what: string) => {
    throw new UserError(`rotate-ca ${command}: CA ${r.ca.name} ${what}`, EXIT.badInput);
  };
  const at = PHASES.indexOf(command);
  if (r.state === 'none') {
    // start begins one; finish after a finish (the bundle retired) has nothing left to do.
    if (command === 'reissue' || (command === 'finish' && !r.retired)) refuse(`has no rotation under way: run ${run('start')} first`);
    return;
  }
  const now = PHASES.indexOf(r.state);
  if (now > at) refuse(`is already in the ${r.state} phase${complete ? '' : ' (not complete)'}: run ${run(r.state)}${r.state === 'finish' ? '' : complete ? ` or ${run(PHASES[now + 1]!)}` : ''}`);
  if (now < at - 1) refuse(`is in the ${r.state} phase: run ${run(PHASES[now + 1]!)} first`);
  if (now === at - 1 && !complete) refuse(`has not completed the ${r.state} phase: run ${run(r.state)} again first`);
}

async function snapshotOf(outDir: string, instances: Instances): Promise<Snapshot> {
  // The root's files too: start under rootCA signs the new intermediate with them.
  const root = instances.root ? [instances.root.certPath, instances.root.keyPath] : [];
  return readSnapshot(outDir, [...rotationPaths(instances, instances.certs.filter((c) => !c.caName).map((c) => c.name)), ...root]);
}

function statusOf(instances: Instances, snap: Snapshot, ca: CertInstance): CaStatus {
  const r = caRotation(ca, snap);
  const complete = r.state === 'none' ? true : phaseComplete(r.state, instances, r, snap);
  const old = r.state === 'none' ? null : r.previous;
  const byOld = (pem: Buffer | null | undefined) => !!old && signedBy(pem, old) && !signedBy(pem, r.next);
  const signedByOld = old
    ? [
        ...instances.certs.filter((c) => c.caName === ca.name && byOld(snap.get(c.certPath))).map((c) => c.certPath),
        ...instances.kubeconfigs.filter((k) => k.caName === ca.name && byOld(embedded(snap.get(k.path))?.cert)).map((k) => k.path),
      ]
    : [];
  return { name: ca.name, file: ca.certPath, state: r.state, complete, next: r.broken ?? nextText(r, complete), signedByOld };
}

/** `kube-pki rotate-ca start|reissue|finish|status`. */
export async function rotateCa(cluster: Cluster, command: RotateCommand, options: RotateCaOptions): Promise<{ exitCode: number; report: RotateReport; plan: Plan | null }> {
  // The passphrase and PIN files are checked by every phase; only start under a root uses them.
  const { outDir, now, instances, passphrase, pin } = await caRunInputs(cluster, options);
  let token: TokenAccess | undefined;
  if (command !== 'status') await assertNothingUnfinished(outDir, instances, `rotate-ca ${command}`);
  let snap = await snapshotOf(outDir, instances);
  const cas = selectCas(instances, snap, command, options.ca);
  const report: RotateReport = { outDir, profile: cluster.profile, source: cluster.source, command, result: 'ok', cas: [], changed: [], backupDir: null, restart: [], notes: [], warnings: [], errors: [] };
  const statuses = () => cas.map((c) => statusOf(instances, snap, c));
  if (command === 'status') return { exitCode: EXIT.ok, report: { ...report, cas: statuses() }, plan: null };
  if (!cas.length) {
    if (command === 'reissue') throw new UserError(`rotate-ca reissue: no rotation under way in ${outDir}: run ${run('start')} first`, EXIT.badInput);
    throw new UserError(`rotate-ca ${command}: no CA here that kube-pki made (external CAs are rotated by their owner)`, EXIT.badInput);
  }

  const plan = (s: Snapshot): Plan => {
    const rotations = cas.map((c) => caRotation(c, s));
    if (command === 'abort') {
      rotations.forEach(assertAbortable);
      return { profile: 'rotate-ca', items: abortTargets(rotations).flatMap((r) => planAbort(instances, r, s, { now })) };
    }
    for (const r of rotations) assertOrder(command, r, r.state === 'none' || phaseComplete(r.state, instances, r, s));
    // finish on a CA without a rotation: nothing to do (running finish twice changes nothing).
    return planPhase(command, instances, rotations.filter((r) => command !== 'finish' || r.state !== 'none'), s, { newKeys: !!options.newKeys, now });
  };
  // Like gen: what the root must sign is checked (passphrase given and right) before anything is written.
  const rootChecked = async (p: Plan): Promise<Plan> => {
    await assertPassphrase(p, instances, outDir, passphrase);
    token = await assertToken(p, instances, outDir, pin);
    return p;
  };
  let planned = plan(snap);
  const warningsOf = (p: Plan) => p.items.flatMap((i) => (i.warnings ?? []).map((w) => `${i.name}: ${w}`));
  report.warnings = warningsOf(planned);
  const moving = command === 'abort' ? abortTargets(cas.map((c) => caRotation(c, snap))).map((r) => r.ca) : cas;
  const rotating = moving.filter((c) => command === 'start' || caRotation(c, snap).state !== 'none').map((c) => c.name);
  if (command === 'abort') Object.assign(report, abortReport(cluster, instances, snap, rotating));
  else {
    report.restart = rollingRestart(cluster, instances, rotating, command);
    report.notes = command === 'finish' ? rotating.map((name) => retiredBundleNote(instances, name, 'the new CA')) : [];
  }
  if (!rotating.length) return { exitCode: EXIT.ok, report: { ...report, result: 'nothing', cas: statuses(), restart: [] }, plan: planned };
  await rootChecked(planned); // a dry run too: it exits as the real run would
  if (options.dryRun) return { exitCode: EXIT.ok, report: { ...report, result: 'dry-run', cas: statuses() }, plan: planned };

  await checkOpenssl();
  const errors = await runLocked(
    async () => (planned = await rootChecked(plan(await snapshotOf(outDir, instances)))),
    outDir,
    { operation: `rotate-ca ${command}`, instances, now, silent: true, ...(options.concurrency ? { concurrency: options.concurrency } : {}), ...(passphrase ? { passphraseFile: passphrase.path } : {}), token: () => token },
  );
  snap = await snapshotOf(outDir, instances);
  report.warnings = warningsOf(planned);
  report.errors = [...errors].map(([name, message]) => ({ name, message }));
  report.changed = planned.items.filter((i) => i.steps.length && !errors.has(i.name)).flatMap((i) => i.outputs);
  const { backupDir } = runContext(outDir, now);
  report.backupDir = (await stat(backupDir).catch(() => null)) ? backupDir : null;
  report.cas = statuses();
  report.result = errors.size ? 'failed' : 'ok';
  return { exitCode: errors.size ? EXIT.failed : EXIT.ok, report, plan: planned };
}
