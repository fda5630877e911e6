import { randomBytes } from 'node:crypto';
import { link, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { EXIT, UserError } from '../errors.js';
import { readyFile, syncDir } from '../files/atomic.js';
import { MODE } from '../model/files.js';

/** --kubeconfig-file FILE must be writable as asked: its folder exists, and it does not unless --force. Checked before any work. */
export async function assertKubeconfigTarget(file: string, force: boolean): Promise<string> {
  const path = resolve(file);
  const folder = await stat(dirname(path)).catch(() => null);
  if (!folder?.isDirectory()) throw new UserError(`--kubeconfig-file ${JSON.stringify(file)}: the folder ${dirname(path)} does not exist`, EXIT.badInput);
  const existing = await stat(path).catch(() => null);
  if (existing?.isDirectory()) throw new UserError(`--kubeconfig-file ${JSON.stringify(file)}: is a folder`, EXIT.badInput);
  if (existing && !force) throw new UserError(`--kubeconfig-file ${JSON.stringify(file)}: exists; give --force to replace it`, EXIT.badInput);
  return path;
}

/**
 * Writes the kubeconfig 0600 through a temporary file in the same folder. Without `force` it is
 * linked into place, which fails if the file appeared meanwhile (never replaced); with it, renamed.
 */
export async function writeKubeconfigFile(path: string, text: string, force: boolean): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.tmp-${randomBytes(6).toString('hex')}`);
  try {
    await writeFile(tmp, text, { mode: MODE.secret, flag: 'wx' });
    await readyFile(tmp, MODE.secret);
    if (force) await rename(tmp, path);
    else
      await link(tmp, path).catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'EEXIST') throw new UserError(`--kubeconfig-file ${path}: appeared while the certificate was made; not replaced (give --force)`, EXIT.failed);
        throw err;
      });
    await syncDir(dirname(path));
  } finally {
    await rm(tmp, { force: true });
  }
}
