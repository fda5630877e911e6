/** One day in milliseconds: validity periods, --expiring-within and --warn-days count in days. */
export const DAY_MS = 24 * 60 * 60 * 1000;

/** `check --warn-days` when not given; graph and report judge expiry with it too. */
export const DEFAULT_WARN_DAYS = 30;
