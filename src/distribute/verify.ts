import type { Cluster } from '../model/cluster.js';
import { EXIT } from '../errors.js';
import { lockOutDir } from '../exec/lock.js';
import { recoverOutDir } from '../exec/run-locked.js';
import { limiter } from '../util/limit.js';
import { join } from 'node:path';
import { readIfExists } from '../inspect/disk.js';
import { instancesFor } from '../pki.js';
import { readLocalFiles, type ForbiddenFile, type LocalFile } from './compare.js';
import { sha256 } from './store.js';
import { verifyNode } from './node.js';
import { prepareDistribution, sessionOptions, type DistributeOptions, type Prepared, type RemoteOptions } from './prepare.js';
import { deferred, showNodes, type NodeView } from './progress.js';
import { checkLines, nodeBase, printJson, printTable, type NodeCheck, type VerifyReport } from './report.js';

/**
 * Compares each selected node's files with the local PKI by SHA-256, mode (and owner root with
 * sudo), and lists missing, different and extra files. Changes nothing on the nodes. Throws
 * UserError (exit 2) on bad input before connecting. `onNode` is called as each node finishes.
 * For `kube-pki check --remote`.
 */
export async function verifyRemote(cluster: Cluster, options: RemoteOptions, onNode?: (check: NodeCheck) => void): Promise<VerifyReport> {
  const prepared = await prepareDistribution(cluster, options);
  return verifyPrepared(cluster, prepared, await readLocked(prepared), options, onNode);
}

/** The local files, read under the output folder's lock (never half of what a gen is writing); the comparison runs after. */
async function readLocked({ outDir, manifests }: Prepared): Promise<Map<string, LocalFile>> {
  // A folder this user cannot write (a read-only check of another user's PKI) cannot be locked, nor written by this user's gen.
  const unlock = await lockOutDir(outDir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'EACCES' || err.code === 'EROFS') return null;
    throw err;
  });
  if (!unlock) return readLocalFiles(outDir, manifests);
  try {
    await recoverOutDir(outDir);
    return await readLocalFiles(outDir, manifests);
  } finally {
    await unlock();
  }
}

async function verifyPrepared(cluster: Cluster, prepared: Prepared, local: Map<string, LocalFile>, options: RemoteOptions, onNode?: (check: NodeCheck) => void): Promise<VerifyReport> {
  const { outDir, manifests, targets } = prepared;
  const session = await sessionOptions(options);
  const forbidden = await rootKeyFile(cluster, outDir);
  const limit = limiter(options.parallel ?? 16);
  const nodes = await Promise.all(
    manifests.map(async (m): Promise<NodeCheck> => {
      const target = targets.get(m.node.name);
      const empty = { matching: 0, missing: [], different: [], extra: [] };
      let check: NodeCheck;
      if (!target) check = { ...nodeBase(m, undefined), result: 'nothing-to-check', ...empty };
      else {
        const v = await limit(() => verifyNode(target, m.files, local, session, forbidden));
        const base = { ...nodeBase(m, target, v.remoteDir), attempts: v.attempts };
        if (!v.inspection) check = { ...base, result: 'failed', error: v.error ?? 'failed', ...empty };
        else {
          const files = v.inspection.files;
          const missing = files.filter((f) => f.status === 'missing').map((f) => f.file.remote);
          const different = files.filter((f) => f.status === 'different').map((f) => ({ path: f.file.remote, reasons: f.reasons }));
          const extra = v.inspection.extra;
          const rootKey = v.inspection.forbidden;
          const ok = missing.length + different.length + extra.length + rootKey.length === 0;
          check = {
            ...base,
            notes: v.inspection.notes,
            result: ok ? 'ok' : 'problems',
            matching: files.length - missing.length - different.length,
            missing,
            different,
            extra,
            ...(rootKey.length ? { rootKey } : {}),
          };
        }
      }
      onNode?.(check);
      return check;
    }),
  );
  const result = nodes.some((n) => n.result === 'failed') ? 'failed' : nodes.some((n) => n.result === 'problems') ? 'problems' : 'ok';
  return { command: 'verify', profile: cluster.profile, source: cluster.source, outDir, result, nodes };
}

/** The root CA's key (rootCA), by its bytes: a node that holds a copy is reported. */
async function rootKeyFile(cluster: Cluster, outDir: string): Promise<ForbiddenFile | undefined> {
  const root = instancesFor(cluster).root;
  const data = root ? await readIfExists(join(outDir, root.keyPath)) : null;
  return data ? { sha256: sha256(data), size: data.length } : undefined;
}

/** `kube-pki distribute --verify`: exit 0 when every node holds exactly its files, else 1. */
export async function verifyCommand(cluster: Cluster, options: DistributeOptions): Promise<number> {
  const prepared = await prepareDistribution(cluster, options);
  const local = await readLocked(prepared);
  const waits = new Map(prepared.manifests.map((m) => [m.node.name, deferred<{ ok: boolean; summary: string }>()]));
  const views: NodeView[] = prepared.manifests.map((m) => ({ name: m.node.name, title: `${m.node.name}: comparing`, files: [], done: waits.get(m.node.name)!.promise }));
  const running = verifyPrepared(cluster, prepared, local, options, (c) =>
    waits.get(c.node)!.resolve({ ok: c.result === 'ok' || c.result === 'nothing-to-check', summary: c.result === 'failed' ? 'FAILED (the error follows below)' : checkLines(c)[0]!.slice(c.node.length + 2) }),
  );
  await showNodes(views, { silent: !!options.json });
  const report = await running;
  if (options.json) printJson(report);
  else {
    const details = report.nodes.flatMap((n) => checkLines(n).slice(1));
    if (details.length) process.stdout.write(`${details.join('\n')}\n`);
    printTable(
      ['NODE', 'SSH', 'SAME', 'MISSING', 'DIFFERENT', 'EXTRA', 'RESULT', 'ERROR'],
      report.nodes.map((n) => ({ node: n, cells: [String(n.matching), String(n.missing.length), String(n.different.length), String(n.extra.length), n.result] })),
    );
  }
  return report.result === 'ok' ? EXIT.ok : EXIT.failed;
}
