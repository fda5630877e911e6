import { problem, type Problem } from '../model/problem.js';
import { DAY_MS } from '../model/time.js';
import { USER_LEDGER_FILE, type UserCertEntry } from '../model/user-ledger.js';
import { readUserLedger } from '../inspect/user-ledger.js';
import { statusOf, type FileRow, type UserCertRow } from './report.js';

/** Longer than this, a certificate nobody can revoke is a risk worth a warning. */
export const USER_MAX_DAYS = 365;

function userProblems(entry: UserCertEntry, now: Date, caFingerprint: string | undefined): Problem[] {
  const { name } = entry;
  const notBefore = new Date(entry.notBefore);
  const notAfter = new Date(entry.notAfter);
  if (notAfter <= now) return [problem('note', 'user-expired', `${name}: expired on ${notAfter.toISOString()}; it no longer grants access`)];
  const problems: Problem[] = [];
  if (caFingerprint && entry.issuer.fingerprint256 !== caFingerprint)
    problems.push(problem('note', 'user-other-ca', `${name}: signed by a CA that is no longer ${entry.issuer.file}; it works wherever kube-apiserver still trusts that CA`));
  const days = (notAfter.getTime() - notBefore.getTime()) / DAY_MS;
  if (days > USER_MAX_DAYS + 1)
    problems.push(problem('warning', 'user-long-lived', `${name}: valid for ${Math.round(days)} days, longer than a year, and cannot be revoked; only its expiry on ${notAfter.toISOString()} ends it`));
  return problems;
}

/**
 * The user certificates `kube-pki kubeconfig user` signed (users.json), soonest to expire first;
 * `caFingerprint`: the CA that signs them now (one signed by another is noted). A
 * ledger that cannot be read is an error row of `files`, not a crash: check reads everything else.
 */
export async function userRows(outDir: string, now: Date, caFingerprint: string | undefined): Promise<{ users: UserCertRow[]; files: FileRow[] }> {
  let ledger;
  try {
    ledger = await readUserLedger(outDir);
  } catch (err) {
    const problems = [problem('error', 'user-ledger', (err as Error).message)];
    return { users: [], files: [{ file: USER_LEDGER_FILE, catalog: null, status: statusOf(problems), problems }] };
  }
  const users = ledger.users.map((e): UserCertRow => {
    const notAfter = new Date(e.notAfter);
    const problems = userProblems(e, now, caFingerprint);
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
