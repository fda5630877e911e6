import { join } from 'node:path';
import { writeFileAtomic } from '../files/atomic.js';
import { readUserLedger } from '../inspect/user-ledger.js';
import { MODE } from '../model/files.js';
import { USER_LEDGER_FILE, type UserCertEntry } from '../model/user-ledger.js';

/**
 * Adds an issued certificate to the folder's ledger: read, append, written whole (temp + rename).
 * The caller holds the folder's lock, so no other run appends meanwhile. 0600: the ledger names who
 * holds access to the cluster.
 */
export async function recordUserCert(outDir: string, entry: UserCertEntry): Promise<void> {
  const ledger = await readUserLedger(outDir);
  ledger.users.push(entry);
  await writeFileAtomic(join(outDir, USER_LEDGER_FILE), `${JSON.stringify(ledger, null, 2)}\n`, MODE.secret);
}
