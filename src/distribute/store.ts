import { createHash, randomBytes } from 'node:crypto';
import { posix } from 'node:path';
import type { Client } from 'ssh2';
import { stepBoundary } from '../files/atomic.js';
import { MODE } from '../model/files.js';
import { execCommand, openSftp } from '../ssh/connect.js';
import { commandLine } from '../ssh/quote.js';
import type { Sftp } from '../ssh/sftp.js';

export const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

export type EntryType = 'file' | 'dir' | 'link' | 'other';

export interface RemoteEntry {
  type: EntryType;
  mode: number;
  size: number;
  uid: number;
}

/** A folder on the node: its own mode and owner, and its entries by name (not recursive). */
export interface FolderListing {
  mode: number;
  uid: number;
  entries: Map<string, RemoteEntry>;
}

/** What distribute and verify need from a node's file system. All paths are absolute. */
export interface RemoteStore {
  /** The remoteDir, made absolute against the login folder. */
  readonly dir: string;
  /** Owner the files must have (root when installing with sudo); undefined: whoever logs in. */
  readonly owner?: number;
  /** Folders and their entries; null for a folder that does not exist. */
  list(folders: string[]): Promise<Map<string, FolderListing | null>>;
  /** SHA-256 (hex) of each file's bytes. */
  hash(paths: string[]): Promise<Map<string, string>>;
  /** Creates each missing folder (and missing parents), mode 0700. */
  mkdirs(folders: string[]): Promise<void>;
  /**
   * Puts a whole file at a temporary name next to `path` (mode set, flushed, bytes checked on the
   * node) and returns that name; nothing is at `path` yet (renameStaged puts it there).
   */
  stage(path: string, data: Buffer, mode: number, sum: string): Promise<string>;
  /**
   * Renames each staged file that is still there over its final path, in order (each one a step
   * boundary of the test hook), then syncs their folders. Returns the final paths renamed.
   */
  renameStaged(files: readonly StagedFile[]): Promise<string[]>;
  /** A file's bytes; null when it does not exist. */
  read(path: string): Promise<Buffer | null>;
  remove(paths: string[]): Promise<void>;
  close(): Promise<void>;
  /** What opening the store found worth telling (e.g. a leftover it could not remove). */
  readonly notes: string[];
}

/** A file staged next to its final path (absolute paths on the node). */
export interface StagedFile {
  tmp: string;
  final: string;
}

/** Temporary names kube-pki uses next to a final path; anything matching is a leftover of a cut run. */
export const TEMP_NAME = /^\..+\.kube-pki-[0-9a-f]{12}\.tmp$/;
const tempPath = (path: string) => posix.join(posix.dirname(path), `.${posix.basename(path)}.kube-pki-${randomBytes(6).toString('hex')}.tmp`);

const S_IFMT = 0o170000;
const TYPE_BITS: Record<number, EntryType> = { 0o100000: 'file', 0o040000: 'dir', 0o120000: 'link' };

/** Every folder from the root down to each of `folders`, parents first. */
function withParents(folders: string[]): string[] {
  const all = new Set<string>();
  for (const folder of folders) {
    const parts = folder.split('/').filter(Boolean);
    parts.forEach((_, i) => all.add(`/${parts.slice(0, i + 1).join('/')}`));
  }
  return [...all].sort((a, b) => a.split('/').length - b.split('/').length || a.localeCompare(b));
}

async function absoluteDir(sftp: Sftp, remoteDir: string): Promise<string> {
  return remoteDir.startsWith('/') ? remoteDir : posix.join(await sftp.realpath('.'), remoteDir);
}

/** The login user owns the files: everything through SFTP, nothing run in a shell. */
export class SftpStore implements RemoteStore {
  readonly notes: string[] = [];

  private constructor(
    private readonly sftp: Sftp,
    readonly dir: string,
  ) {}

  static async open(client: Client, remoteDir: string): Promise<SftpStore> {
    const sftp = await openSftp(client);
    return new SftpStore(sftp, await absoluteDir(sftp, remoteDir));
  }

  async list(folders: string[]): Promise<Map<string, FolderListing | null>> {
    const out = new Map<string, FolderListing | null>();
    for (const folder of folders) {
      const st = await this.sftp.stat(folder);
      if (!st) {
        out.set(folder, null);
        continue;
      }
      if (!st.isDirectory()) throw new Error(`${folder} exists on the node but is not a folder`);
      const entries = new Map<string, RemoteEntry>();
      for (const e of await this.sftp.readdir(folder)) {
        entries.set(e.filename, { type: TYPE_BITS[e.attrs.mode & S_IFMT] ?? 'other', mode: e.attrs.mode & 0o7777, size: e.attrs.size, uid: e.attrs.uid });
      }
      out.set(folder, { mode: st.mode & 0o7777, uid: st.uid, entries });
    }
    return out;
  }

  async hash(paths: string[]): Promise<Map<string, string>> {
    return new Map(await Promise.all(paths.map(async (p) => [p, sha256(await this.sftp.readFile(p))] as const)));
  }

  async mkdirs(folders: string[]): Promise<void> {
    for (const folder of withParents(folders)) {
      const st = await this.sftp.stat(folder);
      if (st && !st.isDirectory()) throw new Error(`${folder} exists on the node but is not a folder`);
      if (st) continue;
      await this.sftp.mkdir(folder, MODE.dir);
      await this.sftp.syncDir(posix.dirname(folder)); // a new folder is an entry of its parent
    }
  }

  async stage(path: string, data: Buffer, mode: number, sum: string): Promise<string> {
    const tmp = tempPath(path);
    try {
      await this.sftp.writeNewFile(tmp, data, mode);
      // Check the bytes on the node before they can reach the final path.
      if (sha256(await this.sftp.readFile(tmp)) !== sum) throw new Error(`${path}: the bytes on the node differ from the local file after upload`);
    } catch (err) {
      await this.sftp.unlink(tmp).catch(() => undefined);
      throw err;
    }
    return tmp;
  }

  async renameStaged(files: readonly StagedFile[]): Promise<string[]> {
    const renamed: string[] = [];
    for (const f of files) {
      if (!(await this.sftp.stat(f.tmp))) continue; // renamed already (a promise rolled forward)
      await this.sftp.rename(f.tmp, f.final);
      renamed.push(f.final);
      stepBoundary();
    }
    // The renames are only durable once their folders are: a crash of the node could otherwise bring old files back.
    for (const folder of new Set(renamed.map((p) => posix.dirname(p)))) await this.sftp.syncDir(folder);
    return renamed;
  }

  async read(path: string): Promise<Buffer | null> {
    return (await this.sftp.stat(path)) ? this.sftp.readFile(path) : null;
  }

  async remove(paths: string[]): Promise<void> {
    for (const p of paths) await this.sftp.unlink(p);
  }

  async close(): Promise<void> {
    this.sftp.raw.end();
  }
}

// Scripts run as root through `sudo -n sh -c SCRIPT sh ARGS...`: the script is a constant, every
// path is a positional argument, and the whole command line is quoted by commandLine().

// Each script is one line: a newline is a control character, which quoteWord() refuses.

/** For each folder: itself (depth 0) and its entries, as NUL-separated records depth, path, type, mode, size, uid. */
const LIST_SCRIPT =
  'for d do if [ -d "$d" ]; then find -H "$d" -maxdepth 1 -printf \'%d\\0%p\\0%y\\0%m\\0%s\\0%U\\0\'; ' +
  'else printf \'0\\0%s\\0-\\0\\0\\0\\0\' "$d"; fi; done';

/** A new folder is an entry of its parent: the parent is synced too. */
const MKDIR_SCRIPT = 'for d do [ -d "$d" ] || { install -d -m 0700 -- "$d" && sync -- "$(dirname -- "$d")"; } || exit 1; done';

/** args: staged file, temporary name next to the target, mode, sha256. The temporary file is removed unless it is whole and checked. */
const INSTALL_SCRIPT = [
  'set -e',
  'trap \'rm -f -- "$2"\' EXIT',
  'install -T -m "$3" -- "$1" "$2"',
  'sync -- "$2"',
  'sum=$(sha256sum < "$2")',
  '[ "${sum%% *}" = "$4" ] || { echo "the installed bytes differ from the local file" >&2; exit 3; }',
  'trap - EXIT',
].join('; ');

/**
 * args: pairs of staged file and target. Each staged file still there is renamed over its target and
 * the target's folder synced (a failed sync is this node's error); prints each target renamed, NUL-ended.
 */
const RENAME_SCRIPT = [
  'while [ $# -gt 1 ]; do',
  'if [ -e "$1" ]; then mv -f -T -- "$1" "$2" || exit 1; sync -- "$(dirname -- "$2")" || { echo "cannot sync the folder of $2 to disk" >&2; exit 4; }; printf \'%s\\0\' "$2"; fi;',
  'shift 2; done',
].join(' ');

/** args: a path; prints "y" and its bytes, or "n" when it does not exist. */
const READ_SCRIPT = 'if [ -e "$1" ]; then printf y; cat -- "$1"; else printf n; fi';

const STAGING = /^\.kube-pki-staging-[0-9a-f]{12}$/;
/** Older than this, a staging folder is not a concurrent run's: its connection was cut. */
const STALE_STAGING_S = 3600;

/**
 * A connection cut while a file was staged leaves it (possibly a private key, 0600 in a 0700 folder)
 * in the login folder: removed on the next connection, once it is clearly no other run's. One that
 * cannot be removed is reported, never a reason to fail: each connection stages in a folder of a new
 * random name anyway. Returns the notes.
 */
async function removeStaleStaging(sftp: Sftp, home: string, now = Date.now() / 1000): Promise<string[]> {
  const notes: string[] = [];
  for (const entry of await sftp.readdir(home)) {
    if (!STAGING.test(entry.filename) || !entry.attrs.isDirectory() || now - entry.attrs.mtime < STALE_STAGING_S) continue;
    const dir = posix.join(home, entry.filename);
    try {
      for (const file of await sftp.readdir(dir)) await sftp.unlink(posix.join(dir, file.filename));
      await sftp.rmdir(dir);
    } catch (err) {
      notes.push(`a staging folder an earlier run left, ${dir}, cannot be removed (${(err as Error).message}); it may hold a private key: remove it on the node`);
    }
  }
  return notes;
}

const FIND_TYPES: Record<string, EntryType> = { f: 'file', d: 'dir', l: 'link' };

/**
 * A root-owned target (sudo: true): files are uploaded to a private staging folder in the login
 * folder, then installed as root with `install -m MODE` to a temporary name next to the target,
 * checked, and renamed into place (install alone replaces a file non-atomically).
 */
export class SudoStore implements RemoteStore {
  readonly owner = 0;
  private staging: Promise<string> | undefined;

  private constructor(
    private readonly client: Client,
    private readonly sftp: Sftp,
    private readonly home: string,
    readonly dir: string,
    readonly notes: string[],
  ) {}

  static async open(client: Client, remoteDir: string): Promise<SudoStore> {
    const sftp = await openSftp(client);
    const home = await sftp.realpath('.');
    const notes = await removeStaleStaging(sftp, home);
    return new SudoStore(client, sftp, home, await absoluteDir(sftp, remoteDir), notes);
  }

  private async sudo(argv: string[]): Promise<Buffer> {
    const { code, stdout, stderr } = await execCommand(this.client, commandLine(['sudo', '-n', ...argv]));
    if (code === 0) return stdout;
    const hint = /password is required|a terminal is required/.test(stderr) ? ' (kube-pki runs sudo -n: allow this user to run sudo without a password, or log in as root)' : '';
    throw new Error(`sudo ${argv[0] === 'sh' ? 'sh -c' : argv[0]} failed (exit ${code}): ${stderr.split('\n').slice(-3).join(' ') || 'no message'}${hint}`);
  }

  async list(folders: string[]): Promise<Map<string, FolderListing | null>> {
    const fields = (await this.sudo(['sh', '-c', LIST_SCRIPT, 'sh', ...folders])).toString('utf8').split('\0');
    const out = new Map<string, FolderListing | null>(folders.map((f) => [f, null]));
    let current: FolderListing | null = null;
    for (let i = 0; i + 5 < fields.length; i += 6) {
      const [depth, path = '', type = '', mode = '', size = '', uid = ''] = fields.slice(i, i + 6);
      const entry: RemoteEntry = { type: FIND_TYPES[type] ?? 'other', mode: parseInt(mode, 8), size: Number(size), uid: Number(uid) };
      if (depth === '0') {
        current = type === 'd' ? { mode: entry.mode, uid: entry.uid, entries: new Map() } : null;
        out.set(path, current);
      } else current?.entries.set(posix.basename(path), entry);
    }
    return out;
  }

  async hash(paths: string[]): Promise<Map<string, string>> {
    if (paths.length === 0) return new Map();
    const lines = (await this.sudo(['sha256sum', '--', ...paths])).toString('utf8').split('\n');
    // sha256sum answers in argument order; a name with odd characters gets a leading "\".
    return new Map(paths.map((p, i) => [p, /^\\?([0-9a-f]{64}) /.exec(lines[i] ?? '')?.[1] ?? '']));
  }

  async mkdirs(folders: string[]): Promise<void> {
    if (folders.length) await this.sudo(['sh', '-c', MKDIR_SCRIPT, 'sh', ...withParents(folders)]);
  }

  private stagingDir(): Promise<string> {
    this.staging ??= (async () => {
      const dir = posix.join(this.home, `.kube-pki-staging-${randomBytes(6).toString('hex')}`);
      await this.sftp.mkdir(dir, MODE.dir);
      return dir;
    })();
    return this.staging;
  }

  async stage(path: string, data: Buffer, mode: number, sum: string): Promise<string> {
    const staged = posix.join(await this.stagingDir(), randomBytes(6).toString('hex'));
    const tmp = tempPath(path);
    try {
      await this.sftp.writeNewFile(staged, data, 0o600);
      await this.sudo(['sh', '-c', INSTALL_SCRIPT, 'sh', staged, tmp, mode.toString(8).padStart(4, '0'), sum]);
    } finally {
      await this.sftp.unlink(staged).catch(() => undefined);
    }
    return tmp;
  }

  async renameStaged(files: readonly StagedFile[]): Promise<string[]> {
    if (files.length === 0) return [];
    // One command for all: a kill of kube-pki meanwhile leaves the node's promise to complete them.
    const out = await this.sudo(['sh', '-c', RENAME_SCRIPT, 'sh', ...files.flatMap((f) => [f.tmp, f.final])]);
    stepBoundary();
    return out.toString('utf8').split('\0').filter(Boolean);
  }

  async read(path: string): Promise<Buffer | null> {
    const out = await this.sudo(['sh', '-c', READ_SCRIPT, 'sh', path]);
    return out[0] === 0x79 ? out.subarray(1) : null;
  }

  async remove(paths: string[]): Promise<void> {
    if (paths.length) await this.sudo(['rm', '-f', '--', ...paths]);
  }

  async close(): Promise<void> {
    if (this.staging) await this.sftp.rmdir(await this.staging).catch(() => undefined);
    this.sftp.raw.end();
  }
}
