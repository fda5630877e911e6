import { chmod, stat } from 'node:fs/promises';
import { lockOutDir } from './lock.js';
import { clearLeftovers, runContext, startPlan } from './run-plan.js';
import { ensureDir } from '../files/atomic.js';
import type { Plan } from '../plan/steps.js';
import { showProgress } from '../tasks/progress.js';

/** Makes the output folder private (it holds keys); returns a note when its mode had to change. */
export async function privateOutDir(outDir: string): Promise<string[]> {
  await ensureDir(outDir);
  const mode = (await stat(outDir)).mode & 0o777;
  if (mode === 0o700) return [];
  await chmod(outDir, 0o700);
  return [`${outDir} had mode ${mode.toString(8)}; set to 700 because it holds private keys`];
}

/** Runs a plan in the output folder under its lock, with the progress view; returns the failed items' messages. */
export async function runLocked(plan: Plan, outDir: string, options: { concurrency?: number; silent: boolean; now?: Date }): Promise<Map<string, string>> {
  const unlock = await lockOutDir(outDir);
  const errors = new Map<string, string>();
  try {
    await clearLeftovers(outDir);
    const running = startPlan(plan, runContext(outDir, options.now ?? new Date(), options.concurrency));
    await showProgress(plan, running, { silent: options.silent });
    for (const [name, p] of running) await p.catch((err: Error) => errors.set(name, err.message));
    await clearLeftovers(outDir);
  } finally {
    await unlock();
  }
  return errors;
}
