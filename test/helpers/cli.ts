import { execa, type Result } from 'execa';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
export const CLI = join(ROOT, 'dist', 'cli.js');

/** Runs the built CLI (npm test builds first) as a user would, with plain output. */
export async function kubePki(args: string[], options: { cwd?: string; env?: Record<string, string> } = {}): Promise<Result> {
  return execa('node', [CLI, ...args], {
    cwd: options.cwd ?? ROOT,
    reject: false,
    stdin: 'ignore',
    env: { CI: '1', ...options.env },
  });
}

/** A fresh temporary folder, removed by the returned cleanup. */
export async function tempDir(prefix = 'kube-pki-test-'): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}
