import { randomBytes } from 'node:crypto';
import { chmod, copyFile, mkdir, open, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { MODE } from '../model/files.js';

/**
 * Creates a folder and its missing parents with mode 0700 (they may hold keys). A new folder is an
 * entry of its parent: each parent is synced too, or a crash could lose a synced file's whole folder.
 */
export async function ensureDir(path: string, mode: number = MODE.dir): Promise<void> {
  const first = await mkdir(path, { recursive: true, mode });
  if (first === undefined) return;
  for (let dir = path; ; dir = dirname(dir)) {
    await syncDir(dirname(dir));
    if (dir === first || dirname(dir) === dir) break;
  }
}

async function fsyncPath(path: string, flags = 'r'): Promise<void> {
  const handle = await open(path, flags);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Test hook: KUBE_PKI_TEST_STOP_AFTER_RENAME=N kills this process (SIGKILL: no clean-up runs) right
 * after its Nth step boundary (a rename into place, a removal, a durable new file such as an install
 * promise), so tests can stop a run at every one of them, not at random.
 */
const stopAfter = Number(process.env.KUBE_PKI_TEST_STOP_AFTER_RENAME ?? 0);
let boundaries = 0;
const boundary = () => {
  if (stopAfter > 0 && ++boundaries === stopAfter) process.kill(process.pid, 'SIGKILL');
};

/** A step boundary outside this folder's files (a rename on a node): counted by the same test hook. */
export const stepBoundary = boundary;

async function renameInto(from: string, to: string): Promise<void> {
  await rename(from, to);
  boundary();
}

/** Flushes a folder's entries (a rename, a new file) to disk; a file system that cannot is reported. */
export async function syncDir(path: string): Promise<void> {
  try {
    await fsyncPath(path);
  } catch (err) {
    throw new Error(`cannot sync the folder ${path} to disk: ${(err as Error).message}`);
  }
}

/**
 * Moves a finished file into place: mode first, data flushed, then one rename. A reader (or a run
 * killed at any moment) sees the old file or the new one, never a part of one.
 */
export async function installFile(tmpPath: string, finalPath: string, mode: number): Promise<void> {
  await readyFile(tmpPath, mode);
  await moveIntoPlace(tmpPath, finalPath);
  await syncDir(dirname(finalPath));
}

/** A finished file's mode and data on disk: only then may a rename show it. */
export async function readyFile(tmpPath: string, mode: number): Promise<void> {
  await chmod(tmpPath, mode);
  await fsyncPath(tmpPath);
}

/** The rename of a ready file into place (its folder made if missing); the caller syncs the folder. */
export async function moveIntoPlace(tmpPath: string, finalPath: string): Promise<void> {
  await ensureDir(dirname(finalPath));
  await renameInto(tmpPath, finalPath);
}

/**
 * Writes a file in place, no temporary file, and flushes it and its folder to disk: only for files
 * whose reader rejects a partial one (an install promise that is not whole JSON promises nothing).
 */
export async function writeFileDurably(path: string, content: string, mode: number): Promise<void> {
  await writeFile(path, content, { mode });
  await fsyncPath(path);
  await syncDir(dirname(path));
  boundary();
}

/** Removes a file (gone already is fine) and syncs its folder, so the removal survives a power cut. */
export async function removeFile(path: string): Promise<void> {
  await rm(path, { force: true });
  boundary();
  await syncDir(dirname(path));
}

/** Writes a whole file atomically (temporary file in the same folder, then rename). */
export async function writeFileAtomic(finalPath: string, content: string | Buffer, mode: number): Promise<void> {
  await ensureDir(dirname(finalPath));
  const tmp = join(dirname(finalPath), `.${basename(finalPath)}.tmp-${randomBytes(6).toString('hex')}`);
  try {
    await writeFile(tmp, content, { mode, flag: 'wx' });
    await installFile(tmp, finalPath, mode);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/** Copies a file (keeping its mode) to a backup path before it is replaced. */
export async function backupFile(path: string, backupPath: string): Promise<void> {
  await ensureDir(dirname(backupPath));
  await copyFile(path, backupPath);
  await chmod(backupPath, (await stat(path)).mode & 0o777);
  // The backup is what is left of the old file once it is replaced: on disk before the replacement.
  await fsyncPath(backupPath);
  await syncDir(dirname(backupPath));
}

export async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
