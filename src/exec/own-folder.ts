import { lstat, readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Stats } from 'node:fs';
import { EXIT, UserError } from '../errors.js';
import { TMP_DIR } from '../model/files.js';

/** Owners that cannot have planted a file for this user: the user and root (as OpenSSH trusts them). */
const trusted = (uid: number) => uid === process.getuid?.() || uid === 0;

/** name:x:id:…[:members] lines of /etc/passwd or /etc/group. */
async function table(file: string): Promise<string[][]> {
  return (await readFile(file, 'utf8').catch(() => '')).split('\n').filter(Boolean).map((l) => l.split(':'));
}

/**
 * A group whose only member is the file's owner (a user private group, as with umask 002): its write
 * bit lets in no one else. OpenSSH accepts group-writable files in that case too.
 */
async function ownersOwnGroup(st: Stats): Promise<boolean> {
  const users = await table('/etc/passwd');
  const owner = users.find((u) => Number(u[2]) === st.uid)?.[0];
  const group = (await table('/etc/group')).find((g) => Number(g[2]) === st.gid);
  if (!owner || !group) return false;
  const members = new Set([...(group[3] ?? '').split(',').filter(Boolean), ...users.filter((u) => Number(u[3]) === st.gid).map((u) => u[0])]);
  return members.size === 1 && members.has(owner);
}

async function whyNot(st: Stats): Promise<string | null> {
  if (!trusted(st.uid)) return `is owned by uid ${st.uid}, not by this user (uid ${process.getuid?.()}) or root`;
  const groupWrites = (st.mode & 0o020) !== 0 && !(await ownersOwnGroup(st));
  const who = [groupWrites ? 'its group' : '', st.mode & 0o002 ? 'others' : ''].filter(Boolean).join(' and ');
  if (who) return `is writable by ${who} (mode ${(st.mode & 0o777).toString(8)})`;
  return null;
}

const refuse = (path: string, why: string, what: string) =>
  new UserError(
    `--out: ${path} ${why}: it cannot hold private keys, since another user could have put ${what} there, and kube-pki would sign with it or send it to the nodes; ` +
      'give a folder of your own (kube-pki makes a new one 0700), or fix the owner and mode',
    EXIT.badInput,
  );

/**
 * Refuses (exit 2) an existing output folder that another user could have filled: one (or a link to
 * one) not owned by this user or root, or writable by others or by a group with other members, and the same for every
 * folder and private key (*.key) below it. OpenSSH refuses such key files for the same reason: a
 * planted CA key would sign every leaf. Backups and the temporary folder are not looked into.
 */
export async function assertOwnFolder(outDir: string): Promise<void> {
  const top = await stat(outDir).catch(() => null);
  if (!top?.isDirectory()) return; // absent (made 0700 later) or not a folder (refused elsewhere)
  const link = await lstat(outDir);
  if (link.isSymbolicLink() && !trusted(link.uid)) throw refuse(outDir, `is a link owned by uid ${link.uid}`, 'the folder it points to');
  const why = await whyNot(top);
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
    const why = !trusted(own.uid) ? `is owned by uid ${own.uid}, not by this user (uid ${process.getuid?.()}) or root` : await whyNot(st);
    if (why) throw refuse(path, why, e.isDirectory() ? 'keys' : 'this key');
    if (e.isDirectory()) await walk(path);
  }
}
