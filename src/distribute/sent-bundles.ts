import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../files/atomic.js';
import { MODE } from '../model/files.js';
import type { LocalFile } from './compare.js';
import type { NodeManifest } from './manifest.js';

/**
 * The SHA-256 of every rotation trust bundle (ca-bundle.crt…) distribute sent from this folder. Once a
 * rotation is over, a node's bundle is removed only when it is one of these: a file of that name that
 * kube-pki never wrote (an operator's own OIDC bundle) stays.
 */
const RECORD = '.kube-pki-sent-bundles.json';

export async function sentBundles(outDir: string): Promise<Set<string>> {
  const text = await readFile(join(outDir, RECORD), 'utf8').catch(() => null);
  try {
    const sums = text === null ? [] : (JSON.parse(text) as { sha256?: unknown }).sha256;
    return new Set(Array.isArray(sums) ? sums.filter((s): s is string => typeof s === 'string' && /^[0-9a-f]{64}$/.test(s)) : []);
  } catch {
    return new Set();
  }
}

/** Under the lock, before anything is sent: the bundles about to be sent are recorded (a sent one is always known). */
export async function recordBundles(outDir: string, manifests: NodeManifest[], local: Map<string, LocalFile>): Promise<Set<string>> {
  const known = await sentBundles(outDir);
  const sending = manifests.flatMap((m) => m.files.filter((f) => f.bundle).map((f) => local.get(f.local)!.sha256));
  if (sending.every((s) => known.has(s))) return known;
  for (const s of sending) known.add(s);
  await writeFileAtomic(join(outDir, RECORD), `${JSON.stringify({ sha256: [...known] })}\n`, MODE.secret);
  return known;
}
