import { lstat, readdir, realpath, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { EXIT, UserError } from '../errors.js';
import { lockOutDir } from './lock.js';
import { clearUnpromisedSync, completeInterrupted } from './install-together.js';
import { stopOpenssl } from '../openssl/spawn.js';
import { assertOwnFolder } from './own-folder.js';
import { clearLeftovers, runContext, startPlan } from './run-plan.js';
import { OWN_PREFIXES, TMP_DIR } from '../model/files.js';
import { ensureDir } from '../files/atomic.js';
import { errorReason, UnusableFile } from '../files/read.js';
import type { Plan } from '../model/steps.js';
import { showProgress } from '../tasks/progress.js';
import type { Instances } from '../model/instances.js';
import { assertNothingUnfinished, type Operation } from './unfinished.js';
import { recordHeldKeys } from './held-keys-record.js';
import type { TokenAccess } from './token.js';

/** One folder whatever its spelling (".", "./e2/", a link to it): the rules below judge the folder, not the text. */
const realFolder = (path: string) => realpath(path).catch(() => resolve(path));

/**
 * What gen and csr say about an output folder before they write (a dry run too), creating nothing.
 * An existing folder keeps its mode: kube-pki never changes a folder it did not create; a wider one gets
 * a note saying what to do. A folder that is plainly not kube-pki's own (the root or a home folder, or
 * one with set-id or sticky bits, like /tmp) is refused; whether it holds other things is assertOutDir's.
 */
export async function outDirNotes(outDir: string): Promise<string[]> {
  const existing = await stat(outDir).catch(() => null);
  if (!existing) return [];
  if (!existing.isDirectory()) throw new UserError(`--out ${outDir}: is not a folder`, EXIT.badInput);
  const mode = existing.mode & 0o7777;
  if (mode === 0o700) return [];
  const here = await realFolder(outDir);
  const shared = [resolve('/'), await realFolder(homedir())].includes(here) || (mode & 0o7000) !== 0;
  if (shared)
    throw new UserError(
      `--out ${outDir}: a folder others use (mode ${mode.toString(8)}) cannot hold private keys; give a folder of its own, e.g. ${join(outDir, 'pki')}`,
      EXIT.badInput,
    );
  if ((mode & 0o077) === 0) return [];
  return [`${outDir} has mode ${mode.toString(8)} and holds private keys (each 0600); kube-pki leaves the mode of a folder it did not create as it is: run chmod 700 ${outDir}`];
}

/** Before the first write: outDirNotes' verdict, and a new output folder made private (created 0700). */
export async function privateOutDir(outDir: string): Promise<string[]> {
  const notes = await outDirNotes(outDir);
  if (!(await stat(outDir).catch(() => null))) await ensureDir(outDir);
  return notes;
}

/** What kube-pki leaves in a folder it works in besides the PKI's files: its lock and temporary folder (.kube-pki*), backups. */
const isOwnEntry = (name: string) => OWN_PREFIXES.some((p) => name.startsWith(p));

/** A catalog path and its tails ("w/pki/ca.crt", "pki/ca.crt", "ca.crt"): a node's copy of its tree read in place. */
const withTails = (paths: readonly string[]) => [...new Set(paths.flatMap((p) => p.split('/').map((_, i, parts) => parts.slice(i).join('/'))))];

/**
 * The output folder must be a folder (or not exist yet), and either empty or a kube-pki PKI: one of
 * the catalog's files (`ownPaths`, relative) or something kube-pki leaves (its lock, temporary
 * folder, a backup) is there. A PKI written by `kube-pki script` counts: it holds the catalog's files.
 * Checked before anything is planned or written, and by check and renew before they read (never
 * walking into a project's node_modules). `reading` (check): a node's copy of its tree counts too
 * (`check /etc/kubernetes/pki` holds pki/ca.crt's tail, ca.crt).
 */
export async function assertOutDir(outDir: string, ownPaths: readonly string[] = [], { reading = false } = {}): Promise<void> {
  const existing = await stat(outDir).catch(() => null);
  if (!existing) return;
  if (!existing.isDirectory()) throw new UserError(`--out ${outDir}: is not a folder`, EXIT.badInput);
  await assertOwnFolder(outDir);
  const entries = await readdir(outDir).catch((err: unknown) => {
    throw new UnusableFile(outDir, errorReason(err));
  });
  if (entries.length === 0 || entries.some(isOwnEntry)) return;
  for (const path of reading ? withTails(ownPaths) : ownPaths) if (await lstat(join(outDir, path)).catch(() => null)) return;
  const shown = entries.sort().slice(0, 5).join(', ') + (entries.length > 5 ? ', …' : '');
  throw new UserError(
    `--out ${outDir}: the folder holds other things (${shown}) and no kube-pki PKI (none of its files, such as ${ownPaths[0] ?? 'ca.crt'}); ` +
      (reading
        ? 'is it the PKI folder? give the folder kube-pki gen wrote (or a node\'s copy of it)'
        : `kube-pki writes only into a new or empty folder, or its own PKI: give a folder of its own, e.g. ${join(outDir, 'pki')}`),
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
  options: {
    /** Who runs and on what: what an earlier operation left unfinished is refused for it under the lock (exec/unfinished.ts). */
    operation: Operation;
    instances: Instances;
    concurrency?: number;
    silent: boolean;
    now?: Date;
    passphraseFile?: string;
    /** The root CA key in a PKCS#11 token, as the plan's check (assertToken, under the lock too) found it. */
    token?: () => TokenAccess | undefined;
    after?: (plan: Plan, errors: Map<string, string>) => Promise<void>;
  },
): Promise<Map<string, string>> {
  await assertOwnFolder(outDir); // before the lock: never a lock (nor a file) in a folder another user controls
  const unlock = await lockOutDir(outDir, { onInterrupt: () => interruptedPlan(outDir) });
  const errors = new Map<string, string>();
  try {
    await recoverOutDir(outDir);
    await assertNothingUnfinished(outDir, options.instances, options.operation);
    await recordHeldKeys(outDir, options.instances);
    // Planning under the lock: what another run just wrote is seen, never overwritten by a stale plan.
    const plan = typeof planned === 'function' ? await planned() : planned;
    const running = startPlan(plan, runContext(outDir, options.now ?? new Date(), options.concurrency, options.passphraseFile, options.token?.()));
    await showProgress(plan, running, { silent: options.silent });
    for (const [name, p] of running) await p.catch((err: Error) => errors.set(name, err.message));
    await clearLeftovers(outDir);
    await recordHeldKeys(outDir, options.instances); // the CA keys this run made are kube-pki's from now on
    await options.after?.(plan, errors);
  } finally {
    await unlock();
  }
  return errors;
}
