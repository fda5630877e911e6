import type { Client, FileEntryWithStats, SFTPWrapper, Stats } from 'ssh2';

const NO_SUCH_FILE = 2;

type Callback<T> = (err: (Error & { code?: number | string }) | undefined | null, value: T) => void;

/** Promise wrappers for the SFTP requests kube-pki uses; errors name the operation and the path. */
export class Sftp {
  private readonly pending = new Set<(err: Error) => void>();
  private closed = false;

  constructor(
    readonly raw: SFTPWrapper,
    client: Client,
  ) {
    // ssh2 drops a request on a dead channel without ever calling back (and its composite
    // operations, readFile, chain requests internally): fail whatever is waiting when it goes.
    const abort = () => {
      this.closed = true;
      for (const reject of this.pending) reject(new Error('the SSH connection closed (connection lost?)'));
      this.pending.clear();
    };
    raw.once('close', abort).once('end', abort);
    client.once('close', abort);
  }

  private call<T>(what: string, fn: (cb: Callback<T>) => void): Promise<T> {
    return new Promise((resolve, reject) => {
      const fail = (err: Error) => reject(new Error(`${what}: ${err.message}`));
      if (this.closed) return fail(new Error('the SFTP session is closed (connection lost?)'));
      this.pending.add(fail);
      try {
        fn((err, value) => {
          this.pending.delete(fail);
          if (err) reject(Object.assign(new Error(`${what}: ${err.message}`), { code: err.code }));
          else resolve(value);
        });
      } catch (err) {
        // ssh2 throws synchronously for an extension the server does not offer.
        this.pending.delete(fail);
        fail(err as Error);
      }
    });
  }

  /** stat (following links); null when the path does not exist. */
  async stat(path: string): Promise<Stats | null> {
    try {
      return await this.call<Stats>(`stat ${path}`, (cb) => this.raw.stat(path, cb));
    } catch (err) {
      if ((err as { code?: number }).code === NO_SUCH_FILE) return null;
      throw err;
    }
  }

  lstat(path: string): Promise<Stats> {
    return this.call(`lstat ${path}`, (cb) => this.raw.lstat(path, cb));
  }

  readdir(path: string): Promise<FileEntryWithStats[]> {
    return this.call(`readdir ${path}`, (cb) => this.raw.readdir(path, cb as Callback<unknown>));
  }

  realpath(path: string): Promise<string> {
    return this.call(`realpath ${path}`, (cb) => this.raw.realpath(path, cb));
  }

  async mkdir(path: string, mode: number): Promise<void> {
    await this.call(`mkdir ${path}`, (cb) => this.raw.mkdir(path, { mode }, (err) => cb(err, undefined)));
    // The server's umask may have narrowed it: set the mode exactly.
    await this.call(`chmod ${path}`, (cb) => this.raw.chmod(path, mode, (err) => cb(err, undefined)));
  }

  readFile(path: string): Promise<Buffer> {
    return this.call(`read ${path}`, (cb) => this.raw.readFile(path, cb as Callback<Buffer>));
  }

  /**
   * Creates a new file (never an existing one), writes it whole, sets its mode and flushes it to
   * disk (fsync@openssh.com when offered) before closing.
   */
  async writeNewFile(path: string, data: Buffer, mode: number): Promise<void> {
    const handle = await this.call<Buffer>(`create ${path}`, (cb) => this.raw.open(path, 'wx', { mode: 0o600 }, cb));
    try {
      await this.call(`write ${path}`, (cb) => this.raw.write(handle, data, 0, data.length, 0, (err) => cb(err, undefined)));
      await this.call(`chmod ${path}`, (cb) => this.raw.fchmod(handle, mode, (err) => cb(err, undefined)));
      await this.call(`fsync ${path}`, (cb) => this.raw.ext_openssh_fsync(handle, (err) => cb(err, undefined))).catch((err: Error) => {
        if (!/does not support/.test(err.message)) throw err;
      });
    } finally {
      await this.call(`close ${path}`, (cb) => this.raw.close(handle, (err) => cb(err, undefined))).catch(() => undefined);
    }
  }

  /**
   * Flushes a folder's entries (a rename, a new file) to disk: the folder opened for reading and
   * fsync@openssh.com on that handle (OpenSSH's sftp-server syncs any handle it opened, folders too).
   * A server without the extension cannot be asked (as for files); a failed sync is an error.
   */
  async syncDir(path: string): Promise<void> {
    const handle = await this.call<Buffer>(`open ${path}`, (cb) => this.raw.open(path, 'r', cb));
    try {
      await this.call(`fsync ${path}`, (cb) => this.raw.ext_openssh_fsync(handle, (err) => cb(err, undefined))).catch((err: Error) => {
        if (!/does not support/.test(err.message)) throw new Error(`cannot sync the folder to disk: ${err.message}`);
      });
    } finally {
      await this.call(`close ${path}`, (cb) => this.raw.close(handle, (err) => cb(err, undefined))).catch(() => undefined);
    }
  }

  /** posix-rename@openssh.com: replaces the target in one step (plain SFTP rename refuses to). */
  rename(from: string, to: string): Promise<void> {
    return this.call(`rename ${from} to ${to} (posix-rename@openssh.com)`, (cb) => this.raw.ext_openssh_rename(from, to, (err) => cb(err, undefined)));
  }

  unlink(path: string): Promise<void> {
    return this.call(`remove ${path}`, (cb) => this.raw.unlink(path, (err) => cb(err, undefined)));
  }

  rmdir(path: string): Promise<void> {
    return this.call(`rmdir ${path}`, (cb) => this.raw.rmdir(path, (err) => cb(err, undefined)));
  }
}
