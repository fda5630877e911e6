/** One day in milliseconds: validity periods, --expiring-within and --warn-days count in days. */
export const DAY_MS = 24 * 60 * 60 * 1000;

/** `check --warn-days` when not given; graph and report judge expiry with it too. */
export const DEFAULT_WARN_DAYS = 30;

/**
 * How far before "now" every certificate starts (its notBefore), as kubeadm does (constants.go
 * CertificateBackdate, 5 minutes; its notAfter counts from now): a node whose clock is a little behind
 * does not see a new certificate as not yet valid.
 */
export const BACKDATE_MS = 5 * 60 * 1000;
