import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { NodeRestart } from '../catalog/restart.js';
import { exists, removeFile, writeFileAtomic } from '../files/atomic.js';
import { MODE } from '../model/files.js';

/**
 * The restarts a --restart run could not carry out (it stopped at a node): the node it stopped at and
 * those after it. The next --restart run does them too, even when nothing is renewed or sent then.
 */
export const PENDING_RESTARTS = '.kube-pki-restart-pending.json';

export async function readPending(outDir: string): Promise<NodeRestart[]> {
  const text = await readFile(join(outDir, PENDING_RESTARTS), 'utf8').catch(() => null);
  if (text === null) return [];
  try {
    const steps = (JSON.parse(text) as { steps?: unknown }).steps;
    if (!Array.isArray(steps)) return [];
    return steps.filter(
      (s): s is NodeRestart => typeof s?.node === 'string' && Array.isArray(s.components) && s.components.every((c: unknown) => typeof c === 'string'),
    );
  } catch {
    return [];
  }
}

export async function writePending(outDir: string, steps: NodeRestart[], reason: string): Promise<void> {
  await writeFileAtomic(join(outDir, PENDING_RESTARTS), `${JSON.stringify({ stoppedAt: new Date().toISOString(), reason, steps }, null, 2)}\n`, MODE.public);
}

export async function clearPending(outDir: string): Promise<void> {
  if (await exists(join(outDir, PENDING_RESTARTS))) await removeFile(join(outDir, PENDING_RESTARTS));
}
