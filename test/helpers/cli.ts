import { execa, type Result } from 'execa';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
export const CLI = join(ROOT, 'dist', 'cli.js');

/** The execa options kubePki always passes; they make stdout and stderr plain strings. */
type KubePkiExecaOptions = { readonly cwd: string; readonly reject: false; readonly stdin: 'ignore'; readonly env: Record<string, string> };

/** What kubePki resolves to: never rejects, `stdout`/`stderr` are strings, `exitCode` is set unless killed. */
export type KubePkiResult = Result<KubePkiExecaOptions>;

/** Runs the built CLI (npm test builds first) as a user would, with plain output. */
export async function kubePki(args: string[], options: { cwd?: string; env?: Record<string, string> } = {}): Promise<KubePkiResult> {
  const execaOptions: KubePkiExecaOptions = {
    cwd: options.cwd ?? ROOT,
    reject: false,
    stdin: 'ignore',
    env: { CI: '1', ...options.env },
  };
  return execa('node', [CLI, ...args], execaOptions);
}

/**
 * The CLI run at another time of day by libfaketime (`faketime '-1 day' node …`): node and openssl
 * alike, so that every date kube-pki signs agrees with the clock it decided by. Go programs (etcd,
 * kube-apiserver) keep the real clock: a PKI made "yesterday" is one they accept today.
 */
export async function kubePkiAt(offset: string, args: string[], options: { env?: Record<string, string> } = {}): Promise<KubePkiResult> {
  const execaOptions: KubePkiExecaOptions = { cwd: ROOT, reject: false, stdin: 'ignore', env: { CI: '1', ...options.env } };
  return execa('faketime', [offset, 'node', CLI, ...args], execaOptions);
}

/** A fresh temporary folder, removed by the returned cleanup. */
export async function tempDir(prefix = 'kube-pki-test-'): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}
