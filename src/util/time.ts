import { DAY_MS } from '../model/time.js';

/** Whole days from `now` to `date` (negative once it is past). */
export function residualDays(date: Date, now: Date): number {
  return Math.floor((date.getTime() - now.getTime()) / DAY_MS);
}

type Unit = 'second' | 'minute' | 'hour' | 'day' | 'year';

/** A length of time in its largest whole unit, as kubeadm counts residual time (days up to a year). */
function span(ms: number): { n: number; unit: Unit } {
  const seconds = Math.floor(ms / 1000);
  if (seconds < 60) return { n: seconds, unit: 'second' };
  if (seconds < 3600) return { n: Math.floor(seconds / 60), unit: 'minute' };
  if (seconds < 86400) return { n: Math.floor(seconds / 3600), unit: 'hour' };
  const days = Math.floor(seconds / 86400);
  return days < 365 ? { n: days, unit: 'day' } : { n: Math.floor(days / 365), unit: 'year' };
}

/** Residual time the way kubeadm prints it: 45s, 12m, 5h, 364d, 9y; "expired" once past. */
export function shortDuration(date: Date, now: Date): string {
  const ms = date.getTime() - now.getTime();
  if (ms < 0) return 'expired';
  const { n, unit } = span(ms);
  return `${n}${unit[0]}`;
}

/** The same length in words, for sentences: "23 hours", "1 day", "364 days", "9 years" (never "0 days" or "1 days"). */
export function durationWords(from: Date, to: Date): string {
  const { n, unit } = span(Math.abs(to.getTime() - from.getTime()));
  return `${n} ${unit}${n === 1 ? '' : 's'}`;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** "Dec 30, 2026 23:36 UTC", as kubeadm certs check-expiration. */
export function expiresText(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${MONTHS[date.getUTCMonth()]} ${pad(date.getUTCDate())}, ${date.getUTCFullYear()} ${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())} UTC`;
}
