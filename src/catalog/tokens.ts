import type { CertInstance } from '../model/instances.js';

/**
 * A certificate whose key signs or verifies service-account tokens (catalog flags --service-account-*,
 * hardway's service-account.key): a new key invalidates every token, so only an explicit renewal
 * replaces it, never a CA rotation.
 */
export const signsTokens = (c: CertInstance): boolean => (c.spec.uses ?? []).some((u) => u.flag.startsWith('--service-account-'));
