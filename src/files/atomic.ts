import { randomBytes } from 'node:crypto';
import { chmod, copyFile, mkdir, open, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { MODE } from '../model/files.js';

/** Creates a folder and its missing parents with mode 0700 (they may hold keys). */
export async function ensureDir(path: string, mode: number = MODE.dir): Promise<void> {
  await mkdir(path, { recursive: true, mode });
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
 * Moves a finished file into place: mode first, data flushed, then one rename. A reader (or a run
 * killed at any moment) sees the old file or the new one, never a part of one.
 */
export async function installFile(tmpPath: string, finalPath: string, mode: number): Promise<void> {
  await chmod(tmpPath, mode);
  await fsyncPath(tmpPath);
  await ensureDir(dirname(finalPath));
  await rename(tmpPath, finalPath);
  await fsyncPath(dirname(finalPath)).catch(() => undefined); // not every file system syncs folders
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
}

export async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
