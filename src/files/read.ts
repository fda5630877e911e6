import { constants } from 'node:fs';
import { access, lstat, readFile, readlink, stat } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { EXIT, UserError } from '../errors.js';

/** A path of the PKI that is there but cannot be used as a file: gen, renew and check all stop at it (exit 1). */
export class UnusableFile extends UserError {
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`${path}: ${reason}; kube-pki neither reads nor replaces it: fix or move it, then run again`, EXIT.failed);
    this.name = 'UnusableFile';
  }
}

const KINDS: [keyof Stats, string][] = [
  ['isFIFO', 'a named pipe (FIFO)'],
  ['isSocket', 'a socket'],
  ['isCharacterDevice', 'a character device'],
  ['isBlockDevice', 'a block device'],
];

/** Why an error from the file system makes a path unusable, in words. */
export function errorReason(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ELOOP') return 'cannot be read (ELOOP: a symbolic link loop)';
  if (code === 'EACCES' || code === 'EPERM') return `cannot be read (${code}: permission denied)`;
  if (code === 'ENOTDIR') return 'cannot be read (ENOTDIR: a folder on its path is a file)';
  if (code === 'EISDIR') return 'cannot be read (EISDIR: a folder, not a file)';
  return `cannot be read (${code ?? (err as Error).message})`;
}

/**
 * What makes `path` unusable as a file of the PKI, or null when it is a regular file or absent.
 * Never reads it: a named pipe would block the reader forever.
 */
export async function pathProblem(path: string): Promise<string | null> {
  let st: Stats;
  try {
    st = await stat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return errorReason(err);
    const link = await lstat(path).catch(() => null);
    if (!link?.isSymbolicLink()) return null;
    // A link to a volume not mounted yet: never a reason to make a new key in its place.
    return `cannot be read (ENOENT: a symbolic link to ${await readlink(path).catch(() => '?')}, which does not exist)`;
  }
  if (st.isDirectory()) return 'cannot be read (EISDIR: a folder, not a file)';
  if (!st.isFile()) return `cannot be read (${KINDS.find(([is]) => (st[is] as () => boolean).call(st))?.[1] ?? 'not a regular file'}, not a file)`;
  // A key another user owns: there, but not for this run (what gen would stop at, check reports).
  return access(path, constants.R_OK).then(
    () => null,
    (err: unknown) => errorReason(err),
  );
}

/** Reads a file of the PKI: null when it does not exist; UnusableFile when something else is in its place. */
export async function readPkiFile(path: string): Promise<Buffer | null> {
  const problem = await pathProblem(path);
  if (problem) throw new UnusableFile(path, problem);
  try {
    return await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null; // not there (or removed meanwhile)
    throw new UnusableFile(path, errorReason(err));
  }
}
