import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MODE, RENEWAL_RECORD } from '../model/files.js';
import type { RenewalRecord } from '../model/metrics.js';
import { writeFileAtomic } from './atomic.js';

/** Records a successful renew in the output folder, atomically (a reader sees the old record or the new). */
export async function writeRenewalRecord(outDir: string, record: RenewalRecord): Promise<void> {
  await writeFileAtomic(join(outDir, RENEWAL_RECORD), `${JSON.stringify(record, null, 2)}\n`, MODE.public);
}

/** The last successful renew, or null when none was recorded (or the record is not renew's). */
export async function readRenewalRecord(outDir: string): Promise<RenewalRecord | null> {
  const text = await readFile(join(outDir, RENEWAL_RECORD), 'utf8').catch(() => null);
  if (text === null) return null;
  try {
    const record = JSON.parse(text) as Partial<RenewalRecord>;
    return typeof record.succeededAt === 'string' && !Number.isNaN(Date.parse(record.succeededAt)) ? (record as RenewalRecord) : null;
  } catch {
    return null;
  }
}
