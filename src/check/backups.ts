import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { problem } from '../model/problem.js';
import { statusOf, type BackupRow } from './report.js';
import { DAY_MS } from '../model/time.js';

const BACKUP = /^backup-(\d{4}-\d{2}-\d{2})T(\d{2})-(\d{2})-(\d{2})-(\d{3})Z$/;

/** When a backup folder was made: from its name (backup-<ISO time>), else its modification time. */
function madeAt(name: string, mtime: Date): Date {
  const m = BACKUP.exec(name);
  return m ? new Date(`${m[1]}T${m[2]}:${m[3]}:${m[4]}.${m[5]}Z`) : mtime;
}

/** Files below a folder, relative to it. */
async function filesBelow(dir: string, rel = ''): Promise<string[]> {
  const entries = await readdir(join(dir, rel), { withFileTypes: true }).catch(() => []);
  const nested = await Promise.all(
    entries.map((e) => (e.isDirectory() ? filesBelow(dir, join(rel, e.name)) : Promise.resolve(e.isFile() ? [join(rel, e.name)] : []))),
  );
  return nested.flat();
}

/** A private key file, or a kubeconfig that embeds one. */
const holdsKey = (text: string) => /-----BEGIN [A-Z ]*PRIVATE KEY-----|client-key-data:/.test(text);

/**
 * The backup folders gen and renew leave (OUT/backup-<time>/): the old keys they hold stay usable
 * by whoever can read them, so check lists each one with its age, and warns when one is not private.
 */
export async function backupRows(outDir: string, now: Date): Promise<BackupRow[]> {
  const entries = (await readdir(outDir, { withFileTypes: true })).filter((e) => e.isDirectory() && e.name.startsWith('backup-'));
  const rows = await Promise.all(
    entries.map(async (e): Promise<BackupRow> => {
      const path = join(outDir, e.name);
      const st = await stat(path);
      const files = await filesBelow(path);
      const keys: string[] = [];
      for (const f of files) if (holdsKey(await readFile(join(path, f), 'utf8').catch(() => ''))) keys.push(f);
      const created = madeAt(e.name, st.mtime);
      const ageDays = Math.max(0, Math.floor((now.getTime() - created.getTime()) / DAY_MS));
      const mode = st.mode & 0o777;
      const problems = [
        problem(
          'note',
          'backup',
          `${e.name}/: ${ageDays} day${ageDays === 1 ? '' : 's'} old, ${files.length} file${files.length === 1 ? '' : 's'}` +
            (keys.length ? `, ${keys.length} holding a private key (${keys.join(', ')})` : '') +
            `; remove it once you no longer need to go back: rm -rf ${path}`,
        ),
      ];
      if (keys.length && (mode & 0o077) !== 0)
        problems.push(problem('warning', 'backup-mode', `${e.name}/ has mode ${mode.toString(8)} but holds private keys: chmod 700 ${path}, or remove it`));
      return { dir: e.name, createdAt: created.toISOString(), ageDays, mode: mode.toString(8), files: files.length, privateKeys: keys, status: statusOf(problems), problems };
    }),
  );
  return rows.sort((a, b) => a.dir.localeCompare(b.dir));
}
