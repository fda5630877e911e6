import { existsSync, readdirSync, rmSync } from 'node:fs';
import { readdir, readFile, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { exists, installFile, moveIntoPlace, readyFile, syncDir, writeFileDurably } from '../files/atomic.js';
import { MODE } from '../model/files.js';

/** One finished file of an item, waiting in the item's temporary folder to be renamed into place. */
export interface Staged {
  /** Its name inside the temporary folder. */
  tmp: string;
  /** Its path relative to the output folder. */
  final: string;
  mode: number;
}

/**
 * The item's promise, written in its temporary folder before the first of several renames: "these
 * staged files replace these files". Once it is on disk, the files are as good as installed: a run
 * killed between the renames is rolled forward by the next run (completeInterrupted), so a key never
 * stays beside a certificate it does not match (kubeadm and etcd recover the same way on start).
 */
const INTENT = 'install-intent.json';

/**
 * Installs an item's files as one: a single file is one rename; several files (a key and its
 * certificate, a public key, a tree's copies) are first promised in the intent file, then renamed.
 */
export async function installTogether(outDir: string, tmpDir: string, files: Staged[]): Promise<void> {
  await Promise.all(files.map((f) => readyFile(join(tmpDir, f.tmp), f.mode)));
  // Written straight, not renamed into place: it is on disk before the first rename, and a promise cut
  // short by a kill is not JSON (readIntent), which is right, as nothing was renamed yet.
  if (files.length > 1) await writeFileDurably(join(tmpDir, INTENT), `${JSON.stringify(files)}\n`, MODE.secret);
  const folders = new Set<string>();
  for (const f of files) {
    const final = join(outDir, f.final);
    await moveIntoPlace(join(tmpDir, f.tmp), final);
    folders.add(dirname(final));
  }
  // Once per folder after all the renames: a crash before it is rolled forward from the promise.
  await Promise.all([...folders].map(syncDir));
}

function readIntent(text: string): Staged[] | null {
  try {
    const files = JSON.parse(text) as Staged[];
    const relative = (p: unknown) => typeof p === 'string' && p !== '' && !p.startsWith('/') && !p.split('/').includes('..');
    return Array.isArray(files) && files.every((f) => relative(f.tmp) && relative(f.final) && typeof f.mode === 'number') ? files : null;
  } catch {
    return null;
  }
}

/**
 * Run first under the lock, before anything is planned: completes every install a killed run had
 * promised (the files it had not yet renamed are renamed now). A temporary folder without a promise
 * holds nothing that was meant to be in place yet: the caller removes it. Returns the files installed.
 */
export async function completeInterrupted(outDir: string, tmpRoot: string): Promise<string[]> {
  const done: string[] = [];
  const entries = await readdir(tmpRoot, { withFileTypes: true }).catch(() => []);
  for (const entry of entries.filter((e) => e.isDirectory())) {
    const dir = join(tmpRoot, entry.name);
    const text = await readFile(join(dir, INTENT), 'utf8').catch(() => null);
    const files = text === null ? null : readIntent(text);
    if (!files) continue;
    for (const f of files) {
      // Renamed already when the staged copy is gone.
      if (!(await exists(join(dir, f.tmp)))) continue;
      await installFile(join(dir, f.tmp), join(outDir, f.final), f.mode);
      done.push(f.final);
    }
    await rm(join(dir, INTENT), { force: true });
  }
  return done;
}

/**
 * What completeInterrupted would install, without installing it: a dry run cannot roll forward, so it
 * says what the real run will complete before it plans.
 */
export async function pendingInstalls(outDir: string, tmpRoot: string): Promise<string[]> {
  const pending: string[] = [];
  const entries = await readdir(tmpRoot, { withFileTypes: true }).catch(() => []);
  for (const entry of entries.filter((e) => e.isDirectory())) {
    const dir = join(tmpRoot, entry.name);
    const text = await readFile(join(dir, INTENT), 'utf8').catch(() => null);
    for (const f of (text === null ? null : readIntent(text)) ?? []) if (await exists(join(dir, f.tmp))) pending.push(f.final);
  }
  return pending;
}

/**
 * For an interrupted run (synchronous, from a signal handler, its openssl processes stopped): removes
 * the items' temporary folders that promised nothing, and keeps those that did for the next run to
 * complete. Returns how many of each.
 */
export function clearUnpromisedSync(tmpRoot: string): { removed: number; kept: number } {
  let removed = 0;
  let kept = 0;
  const entries = existsSync(tmpRoot) ? readdirSync(tmpRoot, { withFileTypes: true }) : [];
  for (const entry of entries.filter((e) => e.isDirectory())) {
    const dir = join(tmpRoot, entry.name);
    if (existsSync(join(dir, INTENT))) kept++;
    else {
      rmSync(dir, { recursive: true, force: true, maxRetries: 5 });
      removed++;
    }
  }
  if (kept === 0) rmSync(tmpRoot, { recursive: true, force: true, maxRetries: 5 });
  return { removed, kept };
}
