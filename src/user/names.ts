import { EXIT, UserError } from '../errors.js';

/**
 * What a user name or group may hold: letters, digits and . _ - : @ (e-mail addresses and
 * Kubernetes' colon-separated names fit). Nothing that openssl's -subj syntax escapes (/ + = \),
 * nothing a kubeconfig or a shell would read differently (spaces, quotes, line breaks, #), and at
 * most 64 characters, X.509's limit for a CN or an O.
 */
const SAFE = /^[A-Za-z0-9][A-Za-z0-9._@:-]{0,63}$/;

function assertSafe(option: string, value: string): void {
  if (!SAFE.test(value))
    throw new UserError(
      `${option} ${JSON.stringify(value)}: use 1 to 64 letters, digits and . _ - : @ (starting with a letter or digit); ` +
        'other characters would be read differently by openssl -subj or a kubeconfig',
      EXIT.badInput,
    );
}

/** NAME and each --group, checked before anything is made; duplicate groups are dropped. */
export function validateUser(name: string, groups: readonly string[]): { name: string; groups: string[] } {
  assertSafe('NAME', name);
  for (const g of groups) assertSafe('--group', g);
  return { name, groups: [...new Set(groups)] };
}

/** Identities a user certificate should rarely carry: they cannot be taken away until it expires. */
export function identityWarnings(name: string, groups: readonly string[]): string[] {
  const out: string[] = [];
  if (groups.includes('system:masters'))
    out.push('--group system:masters bypasses RBAC: nothing can take it away from this certificate until it expires; prefer a group bound by RBAC');
  if (name.startsWith('system:')) out.push(`NAME ${JSON.stringify(name)} is in the system: namespace Kubernetes reserves for its own components`);
  return out;
}
