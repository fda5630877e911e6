import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../files/atomic.js';
import { MODE } from '../model/files.js';
import type { Plan } from '../model/steps.js';

/**
 * `gen --replace-ca` re-issues every leaf of a replaced CA after the CA itself. A run killed in
 * between leaves a new CA beside leaves the old one signed: this record, written before the run and
 * removed when a run completes, tells the next plain `gen` to finish that work (the leaves' keys
 * kept) instead of calling them stale, or needing a third CA.
 */
const RECORD = '.kube-pki-replacing-ca.json';

/** The CAs an unfinished `--replace-ca` was replacing (empty when none). */
export async function unfinishedCaReplacement(outDir: string): Promise<Set<string>> {
  const text = await readFile(join(outDir, RECORD), 'utf8').catch(() => null);
  if (text === null) return new Set();
  try {
    const cas = (JSON.parse(text) as { cas?: unknown }).cas;
    return new Set(Array.isArray(cas) ? cas.filter((c): c is string => typeof c === 'string') : []);
  } catch {
    return new Set();
  }
}

/** Before a plan runs: records the CAs it replaces (a CA made anew over existing files), with those still unfinished. */
export async function recordCaReplacement(outDir: string, plan: Plan, unfinished: ReadonlySet<string>): Promise<void> {
  const replaced = plan.items.filter((i) => i.group === 'ca' && i.action === 'create' && i.steps.some((s) => s.op === 'backup')).map((i) => i.name);
  const cas = [...new Set([...unfinished, ...replaced])];
  if (cas.length) await writeFileAtomic(join(outDir, RECORD), `${JSON.stringify({ cas })}\n`, MODE.secret);
}

/** After a run that completed (no failure, nothing stale): nothing is left to finish. */
export async function clearCaReplacement(outDir: string): Promise<void> {
  await rm(join(outDir, RECORD), { force: true });
}
