import { posix } from 'node:path';
import { MODE } from '../model/files.js';
import { sha256, TEMP_NAME, type RemoteStore, type StagedFile } from './store.js';

/**
 * The node's promise, in its remoteDir, renamed into place whole before the first of several renames:
 * "these staged files replace these files". Once it is there, the files are as good as installed: a
 * run stopped between the renames (killed, cut off, a rename refused) is rolled forward by the next
 * distribute before anything else, so a key never stays beside a certificate it does not match. The
 * same rule as the local folder's (src/exec/install-together.ts).
 */
export const NODE_PROMISE = '.kube-pki-install-intent.json';

const promisePath = (store: RemoteStore) => posix.join(store.dir, NODE_PROMISE);

/** Installs a node's staged files as one: with more than one, promised on the node first. */
export async function installStaged(store: RemoteStore, files: readonly StagedFile[]): Promise<void> {
  if (files.length <= 1) {
    await store.renameStaged(files);
    return;
  }
  await writePromise(store, files);
  try {
    await store.renameStaged(files);
  } catch (err) {
    throw new Error(`${(err as Error).message}; the node's new files are promised in ${promisePath(store)}: the next distribute completes them first`);
  }
  await store.remove([promisePath(store)]);
}

async function writePromise(store: RemoteStore, files: readonly StagedFile[]): Promise<void> {
  const relative = files.map((f) => ({ tmp: posix.relative(store.dir, f.tmp), final: posix.relative(store.dir, f.final) }));
  const data = Buffer.from(`${JSON.stringify({ files: relative })}\n`);
  const path = promisePath(store);
  // Staged and renamed like any file: the promise is there whole or not at all.
  const tmp = await store.stage(path, data, MODE.secret, sha256(data));
  await store.renameStaged([{ tmp, final: path }]);
}

/**
 * A promise's files, absolute; null when it is not one kube-pki wrote: every path under remoteDir,
 * each staged file a kube-pki temporary name beside its final path.
 */
export function parsePromise(dir: string, text: string): StagedFile[] | null {
  let files: unknown;
  try {
    files = (JSON.parse(text) as { files?: unknown }).files;
  } catch {
    return null;
  }
  const inside = (p: unknown): p is string => typeof p === 'string' && p !== '' && !p.startsWith('/') && !p.split('/').includes('..') && !/[\u0000-\u001f]/.test(p);
  if (!Array.isArray(files)) return null;
  const ok = files.every(
    (f: { tmp?: unknown; final?: unknown }) => inside(f.tmp) && inside(f.final) && posix.dirname(f.tmp) === posix.dirname(f.final) && TEMP_NAME.test(posix.basename(f.tmp)),
  );
  return ok ? (files as StagedFile[]).map((f) => ({ tmp: posix.join(dir, f.tmp), final: posix.join(dir, f.final) })) : null;
}

/**
 * Run first on every connection: completes what an interrupted distribute had promised on this node.
 * Returns the files it put in place (paths under remoteDir).
 */
export async function rollForward(store: RemoteStore): Promise<string[]> {
  const path = promisePath(store);
  const data = await store.read(path);
  if (!data) return [];
  const files = parsePromise(store.dir, data.toString('utf8'));
  if (!files) throw new Error(`${path} is not an install promise kube-pki wrote: look at it and remove it, then run again`);
  let done: string[];
  try {
    done = await store.renameStaged(files);
  } catch (err) {
    throw new Error(`cannot complete what an interrupted distribute promised in ${path} (nothing else is done on this node until it is): ${(err as Error).message}`);
  }
  await store.remove([path]);
  return done.map((p) => posix.relative(store.dir, p)).sort(); // in a stable order for the note
}
