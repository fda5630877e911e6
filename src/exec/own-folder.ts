import { lstat, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Stats } from 'node:fs';
import { EXIT, UserError } from '../errors.js';
import { TMP_DIR } from '../model/files.js';

/** Owners that cannot have planted a file for this user: the user and root (as OpenSSH trusts them). */
const trusted = (uid: number) => uid === process.getuid?.() || uid === 0;

function whyNot(st: Stats): string | null {
  if (!trusted(st.uid)) return `is owned by uid ${st.uid}, not by this user (uid ${process.getuid?.()}) or root`;
  const who = [st.mode & 0o020 ? 'its group' : '', st.mode & 0o002 ? 'others' : ''].filter(Boolean).join(' and ');
  if (who) return `is writable by ${who} (mode ${(st.mode & 0o777).toString(8)})`;
  return null;
}

const refuse = (path: string, why: string, what: string) =>
  new UserError(
    `--out: ${path} ${why}: another user could have put ${what} there, and kube-pki would sign with it or send it to the nodes; ` +
      'give a folder of your own (kube-pki makes a new one 0700), or fix the owner and mode',
    EXIT.badInput,
  );

/**
 * Refuses (exit 2) an existing output folder that another user could have filled: one (or a link to
 * one) not owned by this user or root, or writable by its group or others, and the same for every
 * folder and private key (*.key) below it. OpenSSH refuses such key files for the same reason: a
 * planted CA key would sign every leaf. Backups and the temporary folder are not looked into.
 */
export async function assertOwnFolder(outDir: string): Promise<void> {
  const top = await stat(outDir).catch(() => null);
  if (!top?.isDirectory()) return; // absent (made 0700 later) or not a folder (refused elsewhere)
  const link = await lstat(outDir);
  if (link.isSymbolicLink() && !trusted(link.uid)) throw refuse(outDir, `is a link owned by uid ${link.uid}`, 'the folder it points to');
  const why = whyNot(top);
  if (why) throw refuse(outDir, why, 'a CA key');
  await walk(outDir);
}

async function walk(dir: string): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const e of entries) {
    if (e.name.startsWith('backup-') || e.name === TMP_DIR) continue;
    const path = join(dir, e.name);
    if (!e.isDirectory() && !e.name.endsWith('.key')) continue;
    const own = await lstat(path);
    const st = e.isSymbolicLink() ? await stat(path).catch(() => null) : own;
    if (!st) continue; // a dangling link: reported where the file is read
    const why = !trusted(own.uid) ? `is owned by uid ${own.uid}, not by this user (uid ${process.getuid?.()}) or root` : whyNot(st);
    if (why) throw refuse(path, why, e.isDirectory() ? 'keys' : 'this key');
    if (e.isDirectory()) await walk(path);
  }
}
