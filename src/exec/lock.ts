import { randomBytes } from 'node:crypto';
import { rmSync, statSync } from 'node:fs';
import { link, open, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { EXIT, UserError } from '../errors.js';
import { interruptible } from './interrupt.js';

const LOCK = '.kube-pki.lock';
/** Held for a moment by the one run that removes a stale lock, so that two runs never both remove one. */
const BREAKER = '.kube-pki.lock.break';

/**
 * A lock without a readable owner (an older kube-pki's, written in two steps, or a damaged one) is
 * respected this long: its run may still be starting. Older than this, it is taken over.
 */
export const OWNERLESS_LOCK_MS = 60_000;
/** The breaker is held for milliseconds; one this old was left by a run killed right then. */
const BREAKER_MS = 10_000;

/** Who holds a lock: the process, its machine, and its start time (a PID can be reused). */
interface Owner {
  pid: number;
  host: string;
  started?: string;
}

/** Linux: the process's start time in clock ticks since boot (field 22 of /proc/PID/stat). */
async function startTime(pid: number): Promise<string | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => null);
  // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
  return stat?.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
}

async function me(): Promise<Owner> {
  const started = await startTime(process.pid);
  return { pid: process.pid, host: hostname(), ...(started ? { started } : {}) };
}

function parseOwner(text: string): Owner | null {
  // An older kube-pki wrote only its PID, on this machine.
  if (/^\d+\n?$/.test(text)) return { pid: Number(text), host: hostname() };
  try {
    const o = JSON.parse(text) as Owner;
    return Number.isInteger(o.pid) && o.pid > 0 && typeof o.host === 'string' ? o : null;
  } catch {
    return null;
  }
}

/** Gone: not running on this machine, or its PID now belongs to another process. Another machine's owner is never judged. */
async function ownerGone(owner: Owner): Promise<boolean> {
  if (owner.host !== hostname()) return false;
  if (owner.pid === process.pid) return owner.started !== (await startTime(process.pid));
  try {
    process.kill(owner.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return true;
  }
  return owner.started !== undefined && owner.started !== (await startTime(owner.pid));
}

/**
 * Creates `path` with the owner already in it, or returns false if it exists: the content is written
 * to a private file first and hard-linked into place, so no other run ever reads an empty lock.
 */
async function createOwned(path: string, owner: Owner, linking?: Linking): Promise<boolean> {
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  await writeFile(tmp, `${JSON.stringify(owner)}\n`, { mode: 0o600, flag: 'wx' });
  // The hard link shares the file's inode: known before the link exists, so no moment is unaccounted for.
  if (linking) Object.assign(linking, { tmp, ino: (await stat(tmp)).ino });
  try {
    await link(tmp, path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    await rm(tmp, { force: true });
  }
}

/** The lock file being linked into place (or linked): its temporary name and inode. */
interface Linking {
  tmp?: string;
  ino?: number;
}

interface Seen {
  /** null: this user may not read it (another user's lock, e.g. a `sudo kube-pki`'s). */
  text: string | null;
  ino: number;
  uid: number;
  ageMs: number;
}

/**
 * The lock as it is now, read through one open file: its content and its inode are the same file's,
 * so a lock released (or replaced) meanwhile is never mistaken for an empty one. null: no lock.
 */
async function look(path: string): Promise<Seen | null> {
  const seen = (s: { ino: number; uid: number; mtimeMs: number }, text: string | null): Seen => ({ text, ino: s.ino, uid: s.uid, ageMs: Date.now() - s.mtimeMs });
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null; // released meanwhile
    if (code !== 'EACCES') throw err;
    const s = await stat(path).catch(() => null);
    return s && seen(s, null);
  }
  try {
    return seen(await handle.stat(), await handle.readFile('utf8'));
  } finally {
    await handle.close();
  }
}

async function busy(outDir: string, path: string, seen: Seen): Promise<UserError | null> {
  // Another user's lock: its owner cannot be judged from here, and it is never taken over.
  if (seen.text === null)
    return new UserError(
      `${path} belongs to another user (uid ${seen.uid}) and this user cannot read it: another kube-pki (e.g. one run with sudo) is working in ${outDir}; ` +
        `wait for it, or remove ${path} if no kube-pki is running`,
      EXIT.failed,
    );
  const owner = parseOwner(seen.text);
  if (!owner) {
    if (seen.ageMs > OWNERLESS_LOCK_MS) return null;
    return new UserError(
      `${path} names no owner and is ${Math.round(seen.ageMs / 1000)} s old: another kube-pki may be starting in ${outDir}; ` +
        `try again in a minute, or remove it if no kube-pki is running`,
      EXIT.failed,
    );
  }
  if (await ownerGone(owner)) return null;
  const who = owner.host === hostname() ? `pid ${owner.pid}` : `pid ${owner.pid} on ${owner.host}`;
  return new UserError(`another kube-pki (${who}) is working in ${outDir}; wait for it, or remove ${path} if it is gone`, EXIT.failed);
}

/** Removes a stale lock, unless another run replaced it meanwhile; one remover at a time. */
async function breakStale(dir: string, path: string, seen: Seen): Promise<void> {
  const breaker = join(dir, BREAKER);
  if (!(await createOwned(breaker, await me()))) {
    const b = await look(breaker);
    if (b && b.ageMs > BREAKER_MS) await rm(breaker, { force: true });
    else await sleep(20);
    return;
  }
  try {
    const now = await look(path);
    if (now && now.ino === seen.ino && now.text === seen.text) await rm(path, { force: true });
  } finally {
    await rm(breaker, { force: true });
  }
}

export interface LockOptions {
  /** Synchronous: on Ctrl-C (or SIGTERM, SIGHUP), before the lock is released: tidies up, returns what to tell. */
  onInterrupt?: () => string[];
}

/**
 * One kube-pki at a time per output folder. The lock names its owner from the moment it exists; it
 * is taken over only when that owner is gone (a killed run), or, naming no owner, when it is old.
 */
export async function lockOutDir(outDir: string, interrupted: LockOptions = {}): Promise<() => Promise<void>> {
  const path = join(outDir, LOCK);
  const owner = await me();
  // Listening before the lock exists: a signal at any moment after it appears finds it accounted for.
  const linking: Linking = {};
  const ours = () => linking.ino !== undefined && statSync(path, { throwIfNoEntry: false })?.ino === linking.ino;
  const done = interruptible({
    what: `kube-pki ${process.argv.slice(2).join(' ')} (in ${outDir})`,
    stop: () => {
      if (linking.tmp) rmSync(linking.tmp, { force: true });
      if (!ours()) return ['the folder was not locked by this run (not yet, or no longer): nothing to release'];
      const told = interrupted.onInterrupt?.() ?? [];
      // The process ends right after, so nothing of it writes on once the lock is gone.
      rmSync(path, { force: true });
      return [...told, `the lock ${path} is released`];
    },
  });
  try {
    for (let attempt = 0; attempt < 100; attempt++) {
      if (await createOwned(path, owner, linking)) {
        const mine = linking.ino;
        return async () => {
          // Only our own lock is removed, never one another run took over meanwhile.
          const now = await look(path);
          if (now && now.ino === mine) await rm(path, { force: true });
          done(); // after: a signal before the lock is gone still releases it
        };
      }
      linking.ino = undefined;
      const seen = await look(path);
      if (!seen) continue;
      const error = await busy(outDir, path, seen);
      if (error) throw error;
      await breakStale(outDir, path, seen);
    }
  } catch (err) {
    done();
    throw err;
  }
  done();
  throw new UserError(`cannot lock ${outDir}: ${path} keeps coming back; is another kube-pki starting and stopping there?`, EXIT.failed);
}
