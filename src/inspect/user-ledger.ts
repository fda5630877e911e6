import { join } from 'node:path';
import { EXIT, UserError } from '../errors.js';
import { readPkiFile } from '../files/read.js';
import { USER_LEDGER_FILE, type UserCertEntry, type UserLedger } from '../model/user-ledger.js';

const isEntry = (e: unknown): e is UserCertEntry => {
  const o = e as Partial<UserCertEntry> | null;
  return (
    !!o &&
    typeof o.serial === 'string' &&
    typeof o.name === 'string' &&
    Array.isArray(o.groups) &&
    typeof o.notBefore === 'string' &&
    typeof o.notAfter === 'string' &&
    !Number.isNaN(Date.parse(o.notAfter)) &&
    typeof o.issuer?.fingerprint256 === 'string'
  );
};

/**
 * The folder's ledger of user certificates; none yet is an empty one. A damaged ledger stops the
 * caller (exit 1): appending to it would lose what it recorded.
 */
export async function readUserLedger(outDir: string): Promise<UserLedger> {
  const path = join(outDir, USER_LEDGER_FILE);
  const text = await readPkiFile(path);
  if (text === null) return { version: 1, users: [] };
  let parsed: Partial<UserLedger>;
  try {
    parsed = JSON.parse(text.toString('utf8')) as Partial<UserLedger>;
  } catch (err) {
    throw new UserError(`${path}: not JSON (${(err as Error).message}); restore it from a copy, or move it away to start a new ledger`, EXIT.failed);
  }
  const bad = Array.isArray(parsed.users) ? parsed.users.findIndex((e) => !isEntry(e)) : -1;
  if (parsed.version !== 1 || !Array.isArray(parsed.users) || bad >= 0)
    throw new UserError(`${path}: not a kube-pki user ledger${bad >= 0 ? ` (users[${bad}] is incomplete)` : ''}; restore it from a copy, or move it away`, EXIT.failed);
  return { version: 1, users: parsed.users };
}
