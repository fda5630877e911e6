import { lstat, readdir, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { EXIT, UserError } from '../errors.js';
import { lockOutDir } from './lock.js';
import { clearUnpromisedSync, completeInterrupted } from './install-together.js';
import { stopOpenssl } from '../openssl/spawn.js';
import { assertOwnFolder } from './own-folder.js';
import { clearLeftovers, runContext, startPlan } from './run-plan.js';
import { TMP_DIR } from '../model/files.js';
import { ensureDir } from '../files/atomic.js';
import { errorReason, UnusableFile } from '../files/read.js';
import type { Plan } from '../model/steps.js';
import { showProgress } from '../tasks/progress.js';

/**
 * Makes a new output folder private (it holds keys): created 0700. An existing folder keeps its mode:
 * kube-pki never changes a folder it did not create; a wider one gets a note saying what to do. A
 * folder that is plainly not kube-pki's own (the root, a home or the current folder, or one with
 * set-id or sticky bits, like /tmp) is refused.
 */
export async function privateOutDir(outDir: string): Promise<string[]> {
  const existing = await stat(outDir).catch(() => null);
  if (!existing) {
    await ensureDir(outDir);
    return [];
  }
  if (!existing.isDirectory()) throw new UserError(`--out ${outDir}: is not a folder`, EXIT.badInput);
  const mode = existing.mode & 0o7777;
  if (mode === 0o700) return [];
  const shared = [resolve('/'), resolve(homedir()), resolve(process.cwd())].includes(resolve(outDir)) || (mode & 0o7000) !== 0;
  if (shared)
    throw new UserError(
      `--out ${outDir}: a folder others use (mode ${mode.toString(8)}) cannot hold private keys; give a folder of its own, e.g. ${join(outDir, 'pki')}`,
      EXIT.badInput,
    );
  if ((mode & 0o077) === 0) return [];
  return [`${outDir} has mode ${mode.toString(8)} and holds private keys (each 0600); kube-pki leaves the mode of a folder it did not create as it is: run chmod 700 ${outDir}`];
}

/** What kube-pki leaves in a folder it works in besides the PKI's files: its lock and temporary folder (.kube-pki*), backups. */
const isOwnEntry = (name: string) => name.startsWith('.kube-pki') || name.startsWith('backup-');

/**
 * The output folder must be a folder (or not exist yet), and either empty or a kube-pki PKI: one of
 * the catalog's files (`ownPaths`, relative) or something kube-pki leaves (its lock, temporary
 * folder, a backup) is there. A PKI written by `kube-pki script` counts: it holds the catalog's files.
 * Checked before anything is planned or written.
 */
export async function assertOutDir(outDir: string, ownPaths: readonly string[] = []): Promise<void> {
  const existing = await stat(outDir).catch(() => null);
  if (!existing) return;
  if (!existing.isDirectory()) throw new UserError(`--out ${outDir}: is not a folder`, EXIT.badInput);
  await assertOwnFolder(outDir);
  const entries = await readdir(outDir).catch((err: unknown) => {
    throw new UnusableFile(outDir, errorReason(err));
  });
  if (entries.length === 0 || entries.some(isOwnEntry)) return;
  for (const path of ownPaths) if (await lstat(join(outDir, path)).catch(() => null)) return;
  const shown = entries.sort().slice(0, 5).join(', ') + (entries.length > 5 ? ', …' : '');
  throw new UserError(
    `--out ${outDir}: the folder holds other things (${shown}) and no kube-pki PKI (none of its files, such as ${ownPaths[0] ?? 'ca.crt'}); ` +
      `kube-pki writes only into a new or empty folder, or its own PKI: give a folder of its own, e.g. ${join(outDir, 'pki')}`,
    EXIT.badInput,
  );
}

/**
 * Under the lock, before the folder is read: what a killed run had promised to install is installed
 * (a key and its certificate together), and what it left half-made is removed.
 */
export async function recoverOutDir(outDir: string): Promise<void> {
  const completed = await completeInterrupted(outDir, join(outDir, TMP_DIR));
  if (completed.length) process.stderr.write(`kube-pki: completed what an interrupted run had begun to install: ${completed.join(', ')}\n`);
  await clearLeftovers(outDir);
}

/** Ctrl-C during a plan: openssl stopped, half-made files removed, what was promised kept for the next run. */
function interruptedPlan(outDir: string): string[] {
  stopOpenssl();
  const { kept } = clearUnpromisedSync(join(outDir, TMP_DIR));
  return [
    'the files in place are whole (each was renamed into place complete); half-made ones are removed',
    ...(kept ? [`${kept} item(s) had promised their files (${join(outDir, TMP_DIR)}): the next run installs them first`] : []),
  ];
}

/** Runs a plan in the output folder under its lock, with the progress view; returns the failed items' messages. */
export async function runLocked(
  planned: Plan | (() => Promise<Plan>),
  outDir: string,
  options: { concurrency?: number; silent: boolean; now?: Date; passphraseFile?: string; after?: (plan: Plan, errors: Map<string, string>) => Promise<void> },
): Promise<Map<string, string>> {
  await assertOwnFolder(outDir); // before the lock: never a lock (nor a file) in a folder another user controls
  const unlock = await lockOutDir(outDir, { onInterrupt: () => interruptedPlan(outDir) });
  const errors = new Map<string, string>();
  try {
    await recoverOutDir(outDir);
    // Planning under the lock: what another run just wrote is seen, never overwritten by a stale plan.
    const plan = typeof planned === 'function' ? await planned() : planned;
    const running = startPlan(plan, runContext(outDir, options.now ?? new Date(), options.concurrency, options.passphraseFile));
    await showProgress(plan, running, { silent: options.silent });
    for (const [name, p] of running) await p.catch((err: Error) => errors.set(name, err.message));
    await clearLeftovers(outDir);
    await options.after?.(plan, errors);
  } finally {
    await unlock();
  }
  return errors;
}
