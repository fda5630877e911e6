import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, closeSync, constants, openSync, readFileSync, statSync } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';
import { onExit } from 'signal-exit';

/**
 * The openssl processes of a run, started with node:child_process rather than execa: a gen starts
 * three per certificate, and execa cost ~55 ms of CPU to load and ~3.7 ms per process on top of the
 * spawn itself (docs/performance.md). Arguments are an array, never a shell string, as with execa.
 */

/**
 * `openssl x509` loads the system trust store (SSL_CERT_FILE, ~140 certificates) at start although
 * signing never consults it: ~25 ms of CPU per certificate. Pointing it at an empty file skips that.
 */
const NO_TRUST_STORE = { SSL_CERT_FILE: '/dev/null' };

/** stderr kept for the error message: openssl says what went wrong in its first lines. */
const STDERR_LIMIT = 16 * 1024;

export interface OpensslResult {
  /** openssl was not found on PATH. */
  missing: boolean;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

let resolved: { path: string | undefined; binary: string | undefined } | undefined;

/**
 * openssl's absolute path, looked up once per PATH: the child then execs it directly instead of
 * trying every folder of PATH in turn (execvp), which each of ~100 processes would repeat.
 */
export function opensslBinary(): string | undefined {
  const path = process.env.PATH;
  if (resolved && resolved.path === path) return resolved.binary;
  let binary: string | undefined;
  for (const dir of (path ?? '').split(delimiter)) {
    if (!dir || !isAbsolute(dir)) continue; // a relative PATH entry would depend on each step's cwd
    const candidate = join(dir, 'openssl');
    try {
      if (!statSync(candidate).isFile()) continue;
      accessSync(candidate, constants.X_OK);
      binary = candidate;
      break;
    } catch {
      // not there, or not executable: the next folder
    }
  }
  resolved = { path, binary };
  return binary;
}

export interface SpawnOptions {
  /** Read stdout (`openssl version`); otherwise it is not even opened: steps write files (-out). */
  captureStdout?: boolean;
  /**
   * Where openssl's stderr goes (a file in the step's private temporary folder), read back only when
   * openssl fails: a file costs less than a pipe and its stream (~0.75 ms of CPU per process here).
   * Without it, stderr is read through a pipe.
   */
  stderrFile?: string;
}

/** openssl processes under way: killed if kube-pki exits or is killed first (as execa's `cleanup` did). */
const live = new Set<ChildProcess>();
let cleanupRegistered = false;

function track(child: ChildProcess): void {
  if (!cleanupRegistered) {
    cleanupRegistered = true;
    onExit(() => {
      for (const c of live) c.kill('SIGKILL');
    });
  }
  live.add(child);
  child.once('exit', () => live.delete(child));
  child.once('error', () => live.delete(child));
}

/** Stops every openssl process under way now (an interrupted run, before its temporary files are removed). */
export function stopOpenssl(): void {
  for (const c of live) c.kill('SIGKILL');
}

/** Runs openssl once; never throws for a failure of openssl itself (the caller words it). */
export function spawnOpenssl(args: string[], cwd: string, { captureStdout = false, stderrFile }: SpawnOptions = {}): Promise<OpensslResult> {
  const binary = opensslBinary();
  if (!binary) return Promise.resolve({ missing: true, exitCode: null, signal: null, stdout: '', stderr: '' });
  const stderrFd = stderrFile === undefined ? undefined : openSync(stderrFile, 'w', 0o600);
  let child: ChildProcess;
  try {
    child = spawn(binary, args, {
      cwd,
      env: { ...process.env, ...NO_TRUST_STORE },
      stdio: ['ignore', captureStdout ? 'pipe' : 'ignore', stderrFd ?? 'pipe'],
    });
  } catch (err) {
    if (stderrFd !== undefined) closeSync(stderrFd);
    return Promise.reject(err);
  }
  track(child);
  return new Promise((resolve) => {
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let stderrBytes = 0;
    child.stdout?.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr?.on('data', (chunk: Buffer) => {
      if (stderrBytes < STDERR_LIMIT) stderr.push(chunk);
      stderrBytes += chunk.length;
    });
    const text = (chunks: Buffer[]) => Buffer.concat(chunks).toString('utf8');
    let settled = false;
    const settle = (result: OpensslResult) => {
      if (settled) return;
      settled = true;
      if (stderrFd !== undefined) {
        closeSync(stderrFd);
        if (result.exitCode !== 0 && !result.missing) result.stderr ||= readFileSync(stderrFile!, 'utf8').slice(0, STDERR_LIMIT);
      }
      resolve(result);
    };
    child.on('error', (err: NodeJS.ErrnoException) => settle({ missing: err.code === 'ENOENT', exitCode: null, signal: null, stdout: '', stderr: err.message }));
    child.on('close', (exitCode, signal) => settle({ missing: false, exitCode, signal, stdout: text(stdout), stderr: text(stderr) }));
  });
}
