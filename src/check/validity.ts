import { problem, type Problem } from '../model/problem.js';
import { DAY_MS } from '../model/time.js';
import { durationWords } from '../util/time.js';

/** Expired, not yet valid, or expiring within `warnDays`. `what` starts the message ("", "client certificate "). */
export function validityProblems(notBefore: Date, notAfter: Date, now: Date, warnDays: number, what = ''): Problem[] {
  if (notAfter <= now) return [problem('error', 'expired', `${what}expired on ${notAfter.toISOString()} (${durationWords(notAfter, now)} ago)`)];
  if (notBefore > now) return [problem('error', 'not-yet-valid', `${what}not valid before ${notBefore.toISOString()}`)];
  if (notAfter.getTime() - now.getTime() < warnDays * DAY_MS)
    return [problem('warning', 'expires-soon', `${what}expires in ${durationWords(now, notAfter)} (${notAfter.toISOString()}), within --warn-days ${warnDays}`)];
  return [];
}
