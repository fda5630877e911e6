import { DAY_MS } from '../model/time.js';

const UNIT_SECONDS = { s: 1, m: 60, h: 3600, d: DAY_MS / 1000, w: 7 * (DAY_MS / 1000) } as const;

/** A Prometheus-style duration of one unit ("7d", "12h", "2w") in seconds; null when it is not one. */
export function durationSeconds(text: string): number | null {
  const m = /^([1-9]\d{0,5})([smhdw])$/.exec(text);
  return m ? Number(m[1]) * UNIT_SECONDS[m[2] as keyof typeof UNIT_SECONDS] : null;
}
