import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EXIT, UserError } from '../errors.js';

const LOCK = '.kube-pki.lock';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** One kube-pki at a time per output folder; a lock left by a killed run is taken over. */
export async function lockOutDir(outDir: string): Promise<() => Promise<void>> {
  const path = join(outDir, LOCK);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await writeFile(path, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
      return () => rm(path, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number((await readFile(path, 'utf8').catch(() => '')).trim());
      if (pid && pid !== process.pid && alive(pid))
        throw new UserError(`another kube-pki (pid ${pid}) is working in ${outDir}; wait for it, or remove ${path} if it is gone`, EXIT.failed);
      await rm(path, { force: true });
    }
  }
  throw new UserError(`cannot lock ${outDir}`, EXIT.failed);
}
