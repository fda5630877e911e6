import { problem, type Problem } from '../model/problem.js';
import { DAY_MS } from '../model/time.js';
import { USER_LEDGER_FILE } from '../model/user-ledger.js';
import { readUserLedger } from '../inspect/user-ledger.js';
import { statusOf, type FileRow, type UserCertRow } from './report.js';

/** Longer than this, a certificate nobody can revoke is a risk worth a warning. */
export const USER_MAX_DAYS = 365;

function userProblems(notBefore: Date, notAfter: Date, name: string, now: Date): Problem[] {
  if (notAfter <= now) return [problem('note', 'user-expired', `${name}: expired on ${notAfter.toISOString()}; it no longer grants access`)];
  const days = (notAfter.getTime() - notBefore.getTime()) / DAY_MS;
  if (days > USER_MAX_DAYS + 1)
    return [problem('warning', 'user-long-lived', `${name}: valid for ${Math.round(days)} days, longer than a year, and cannot be revoked; only its expiry on ${notAfter.toISOString()} ends it`)];
  return [];
}

/**
 * The user certificates `kube-pki kubeconfig user` signed (users.json), soonest to expire first. A
 * ledger that cannot be read is an error row of `files`, not a crash: check reads everything else.
 */
export async function userRows(outDir: string, now: Date): Promise<{ users: UserCertRow[]; files: FileRow[] }> {
  let ledger;
  try {
    ledger = await readUserLedger(outDir);
  } catch (err) {
    const problems = [problem('error', 'user-ledger', (err as Error).message)];
    return { users: [], files: [{ file: USER_LEDGER_FILE, catalog: null, status: statusOf(problems), problems }] };
  }
  const users = ledger.users.map((e): UserCertRow => {
    const notAfter = new Date(e.notAfter);
    const problems = userProblems(new Date(e.notBefore), notAfter, e.name, now);
    return {
      name: e.name,
      groups: e.groups,
      serial: e.serial,
      notBefore: e.notBefore,
      notAfter: e.notAfter,
      residualDays: Math.floor((notAfter.getTime() - now.getTime()) / DAY_MS),
      issuerFingerprint256: e.issuer.fingerprint256,
      status: statusOf(problems),
      problems,
    };
  });
  users.sort((a, b) => a.notAfter.localeCompare(b.notAfter));
  return { users, files: [] };
}
