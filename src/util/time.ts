import { DAY_MS } from '../model/time.js';

/** Whole days from `now` to `date` (negative once it is past). */
export function residualDays(date: Date, now: Date): number {
  return Math.floor((date.getTime() - now.getTime()) / DAY_MS);
}

/** Residual time the way kubeadm prints it: 45s, 12m, 5h, 364d, 9y; "expired" once past. */
export function shortDuration(date: Date, now: Date): string {
  const seconds = Math.floor((date.getTime() - now.getTime()) / 1000);
  if (seconds < 0) return 'expired';
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)}h`;
  const days = Math.floor(seconds / 86400);
  return days < 365 ? `${days}d` : `${Math.floor(days / 365)}y`;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** "Dec 30, 2026 23:36 UTC", as kubeadm certs check-expiration. */
export function expiresText(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${MONTHS[date.getUTCMonth()]} ${pad(date.getUTCDate())}, ${date.getUTCFullYear()} ${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())} UTC`;
}
