import { access } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Cluster } from '../model/cluster.js';
import { EXIT } from '../errors.js';
import { lockOutDir } from '../exec/lock.js';
import { assertOwnFolder } from '../exec/own-folder.js';
import { recoverOutDir } from '../exec/run-locked.js';
import { assertNothingUnfinished } from '../exec/unfinished.js';
import { instancesFor } from '../pki.js';
import { limiter } from '../util/limit.js';
import { readLocalFiles, type LocalFile } from './compare.js';
import { recordBundles } from './sent-bundles.js';
import type { NodeManifest } from './manifest.js';
import { distributeNode, type FileAction, type FileOutcome, type NodeDistribution, type SessionOptions } from './node.js';
import { prepareDistribution, sessionOptions, type DistributeOptions, type Prepared } from './prepare.js';
import { deferred, showNodes, type NodeView } from './progress.js';
import { address, fileReport, nodeBase, printJson, printTable, type DistributeReport, type NodeReport } from './report.js';
import { showRemoteDir, type NodeTarget } from './targets.js';
import { verifyCommand } from './verify.js';

export { prepareDistribution, type DistributeOptions, type RemoteOptions } from './prepare.js';
export { verifyRemote } from './verify.js';
export type { DistributeReport, NodeReport } from './report.js';

/**
 * `kube-pki distribute`: returns the exit code (0: every node succeeded, 1: some failed). `onReport`
 * receives the report of a real run (what was sent where: --restart restarts what reads it).
 */
export async function distribute(cluster: Cluster, options: DistributeOptions, onReport?: (report: DistributeReport) => void): Promise<number> {
  if (options.verify) return verifyCommand(cluster, options);
  // The keys sent are read from this folder: never from one another user could have filled.
  await assertOwnFolder(resolve(options.out));
  // An interrupted gen --replace-ca: new CA, old leaves; sending that is an outage (again under the lock).
  const unfinished = () => assertNothingUnfinished(resolve(options.out), instancesFor(cluster), 'distribute');
  await unfinished();
  const prepared = await prepareDistribution(cluster, options, { withoutCredentials: !!options.dryRun });
  if (options.dryRun) return dryRun(cluster, prepared, options);
  const { outDir, manifests, targets } = prepared;
  const session = await sessionOptions(options);
  const unlock = await lockOutDir(outDir, {
    onInterrupt: () => ['each node holds whole files only: what was staged on a node is removed, and what was promised there installed, by the next distribute'],
  });
  let reports: NodeReport[];
  try {
    // Read under the lock, after an interrupted gen is completed: never a key without its certificate.
    await recoverOutDir(outDir);
    await unfinished();
    const local = await readLocalFiles(outDir, manifests);
    const sent = await recordBundles(outDir, manifests, local);
    const limit = limiter(options.parallel ?? 16);
    const views: NodeView[] = [];
    const running = manifests.map((m) => {
      const target = targets.get(m.node.name);
      if (!target) return Promise.resolve<NodeReport>({ ...nodeBase(m, undefined), result: 'nothing-to-send', sent: 0, skipped: 0, failed: 0, files: [] });
      return sendToNode(m, target, { local, session, limit, views, sent });
    });
    const all = Promise.all(running);
    await showNodes(views, { silent: !!options.json });
    reports = await all;
  } finally {
    await unlock();
  }
  const failed = reports.some((r) => r.result === 'failed');
  const report: DistributeReport = { command: 'distribute', profile: cluster.profile, source: cluster.source, outDir, dryRun: false, result: failed ? 'failed' : 'ok', nodes: reports };
  onReport?.(report);
  if (options.json) printJson(report);
  else printTable(['NODE', 'SSH', 'SENT', 'SKIPPED', 'RESULT', 'ERROR'], reports.map((r) => ({ node: r, cells: [String(r.sent), String(r.skipped), r.result] })));
  return failed ? EXIT.failed : EXIT.ok;
}

interface Sending {
  local: Map<string, LocalFile>;
  session: SessionOptions;
  /** Bounds the nodes served at once (--parallel). */
  limit: <T>(task: () => Promise<T>) => Promise<T>;
  /** The progress view's rows: this node's is added before anything is sent. */
  views: NodeView[];
  /** SHA-256 of the trust bundles distribute sent from this folder. */
  sent: ReadonlySet<string>;
}

/** Sends one node its files (within the --parallel bound), showing each file's outcome as it comes. */
async function sendToNode(m: NodeManifest, target: NodeTarget, { local, session, limit, views, sent }: Sending): Promise<NodeReport> {
  const files = new Map(m.files.map((f) => [f, deferred<FileOutcome>()]));
  const done = deferred<{ ok: boolean; summary: string }>();
  const view: NodeView = {
    name: m.node.name,
    title: `${m.node.name} → ${address(target)}:${showRemoteDir(target.remoteDir)}${target.sudo ? ' (sudo)' : ''}`,
    files: m.files.map((f) => ({ label: f.remote, outcome: files.get(f)!.promise })),
    done: done.promise,
  };
  views.push(view);
  try {
    const result = await limit(() =>
      distributeNode(
        target,
        m.files,
        local,
        session,
        {
          onFile: (f, o) => files.get(f)!.resolve(o),
          onRetry: (attempt, error) => view.onStatus?.(`attempt ${attempt} failed (${error}); trying again`),
        },
        { paths: m.retired, sent },
      ),
    );
    const report = nodeReport(m, target, local, result);
    const counts = `${report.sent} sent, ${report.skipped} skipped (identical)`;
    // The error itself is printed once, after the table.
    done.resolve({ ok: !result.error, summary: result.error ? `FAILED after ${counts} (the error follows below)` : `ok: ${counts}` });
    return report;
  } finally {
    // Never leave the view waiting, whatever happened.
    for (const d of files.values()) d.resolve({ action: 'not-sent', reason: 'stopped' });
    done.resolve({ ok: false, summary: 'stopped' });
  }
}

/** One node's row of the report: what happened to each file, counted. */
function nodeReport(m: NodeManifest, target: NodeTarget, local: Map<string, LocalFile>, result: NodeDistribution): NodeReport {
  const fileReports = m.files.map((f) => fileReport(f, local, result.outcomes.get(f)));
  const count = (a: FileAction) => fileReports.filter((r) => r.action === a).length;
  const base = nodeBase(m, target, result.remoteDir);
  return {
    ...base,
    result: result.error ? 'failed' : 'ok',
    sent: count('sent'),
    skipped: count('skipped'),
    failed: count('failed') + count('not-sent'),
    attempts: result.attempts,
    ...(result.error ? { error: result.error } : {}),
    notes: [...base.notes, ...result.notes],
    files: fileReports,
  };
}

/** --dry-run: what would go where; reads the local folder, connects to nothing. */
async function dryRun(cluster: Cluster, { outDir, manifests, targets, credentialProblems }: Prepared, options: DistributeOptions): Promise<number> {
  warnCredentials(credentialProblems);
  const exists = async (p: string) => access(join(outDir, p)).then(() => true, () => false);
  const nodes = await Promise.all(
    manifests.map(async (m): Promise<NodeReport> => {
      const target = targets.get(m.node.name);
      const files = await Promise.all(
        m.files.map(async (f) => ({ ...fileReport(f, undefined, undefined), ...((await exists(f.local)) ? {} : { reason: 'not generated yet' }) })),
      );
      return { ...nodeBase(m, target), result: target ? 'planned' : 'nothing-to-send', sent: 0, skipped: 0, failed: 0, files };
    }),
  );
  if (options.json) {
    printJson({ command: 'distribute', profile: cluster.profile, source: cluster.source, outDir, dryRun: true, result: 'ok', nodes } satisfies DistributeReport);
    return EXIT.ok;
  }
  const lines = [`Distribution of ${outDir} (profile ${cluster.profile}, from ${cluster.source}); nothing is connected:`];
  for (const n of nodes) {
    const t = targets.get(n.node);
    if (!t) {
      lines.push(`${n.node} (${n.role}): nothing to send`, ...n.notes.map((note) => `    ${note}`));
      continue;
    }
    const key = t.hostKey ? `host key pinned ${t.hostKey.fingerprint}` : `host key from ${options.knownHosts ?? '~/.ssh/known_hosts'}${options.acceptNew ? ' (new keys accepted)' : ''}`;
    lines.push(`${n.node} (${n.role}) → ${address(t)}, folder ${showRemoteDir(t.remoteDir)}${t.sudo ? ' via sudo install' : ''}; ${key}`);
    const width = Math.max(...n.files.map((f) => f.path.length));
    for (const f of n.files) lines.push(`    ${f.path.padEnd(width)}  ${f.mode}${f.local !== f.path ? `  ← ${f.local}` : ''}${f.reason ? `  (${f.reason})` : ''}`);
    for (const note of n.notes) lines.push(`    ${note}`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  return EXIT.ok;
}

/** A dry run needs no login keys; what the real run would refuse about them is said, not fatal. */
function warnCredentials(problems: string[]): void {
  for (const p of problems) process.stderr.write(`kube-pki: warning: the real run would stop here (no connection is made now): ${p}\n`);
}

