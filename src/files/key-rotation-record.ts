import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { KEY_ROTATION_KINDS, KEY_ROTATION_PHASES, keyRotationRecord, type KeyRotationKind, type KeyRotationRecord } from '../model/key-rotation.js';

// The record of a phased key rotation (model/key-rotation.ts): written by start's first step (through
// the plan, so --dry-run shows it and a kill leaves it or not, never half), removed by finish's last.
// While it is there the rotation is unfinished. It holds no key material: the phase and a fingerprint.

/** The record of one kind, or null when there is none; a record that cannot be read counts as a broken one. */
export async function readKeyRotationRecord(outDir: string, kind: KeyRotationKind): Promise<KeyRotationRecord | { kind: string; broken: string } | null> {
  const file = keyRotationRecord(kind);
  const text = await readFile(join(outDir, file), 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return null;
    throw err;
  });
  if (text === null) return null;
  try {
    const r = JSON.parse(text) as Partial<KeyRotationRecord>;
    if (typeof r.phase === 'string' && (KEY_ROTATION_PHASES as readonly string[]).includes(r.phase) && typeof r.newKey === 'string')
      return { kind, phase: r.phase, newKey: r.newKey };
  } catch {
    // fall through
  }
  return { kind, broken: `${file} is not a record kube-pki wrote (no phase and key fingerprint)` };
}

/** The record's text as start/promote/finish write it. */
export const keyRotationRecordText = (record: KeyRotationRecord): string => `${JSON.stringify(record)}\n`;

/** Every kind with a record in the folder: key rotations under way (or broken records), for the refusals. */
export async function keyRotationsUnderWay(outDir: string): Promise<{ kind: KeyRotationKind; command: string; what: string; phase: string }[]> {
  const found = await Promise.all(
    (Object.keys(KEY_ROTATION_KINDS) as KeyRotationKind[]).map(async (kind) => {
      const r = await readKeyRotationRecord(outDir, kind);
      return r ? { kind, ...KEY_ROTATION_KINDS[kind], phase: 'phase' in r ? r.phase : 'unclear' } : null;
    }),
  );
  return found.filter((f) => f !== null);
}
