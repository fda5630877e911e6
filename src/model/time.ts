/** One day in milliseconds: validity periods, --expiring-within and --warn-days count in days. */
export const DAY_MS = 24 * 60 * 60 * 1000;
