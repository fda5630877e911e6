import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { expect } from 'vitest';
import { kubectl } from './apiserver.js';
import { waitFor } from './processes.js';

// What the real apiserver makes of an identity: `kubectl auth whoami` and `kubectl auth can-i`.

export interface WhoAmI {
  username: string;
  groups: string[];
}

/** `kubectl auth whoami -o json` through a kubeconfig (extra args: --server, --token…). */
export async function whoami(kubeconfig: string, extra: string[] = []): Promise<WhoAmI> {
  const r = await kubectl(kubeconfig, [...extra, 'auth', 'whoami', '-o', 'json']);
  expect(r.exitCode, `whoami via ${kubeconfig}: ${r.stderr}`).toBe(0);
  const info = (JSON.parse(r.stdout) as { status: { userInfo: { username: string; groups?: string[] } } }).status.userInfo;
  return { username: info.username, groups: [...(info.groups ?? [])].sort() };
}

/** `kubectl auth can-i VERB RESOURCE…`: true for yes, false for no (and a failure for anything else). */
export async function canI(kubeconfig: string, args: string[], extra: string[] = []): Promise<boolean> {
  const r = await kubectl(kubeconfig, [...extra, 'auth', 'can-i', ...args]);
  // "yes", or "no" with the authorizer's reason after it ("no - node: can only read namespaced object…").
  const answer = /^(yes|no)\b/.exec(r.stdout.trim().split('\n').pop() ?? '')?.[1];
  if (!answer) throw new Error(`can-i ${args.join(' ')} via ${kubeconfig}: ${r.stdout}\n${r.stderr}`);
  return answer === 'yes';
}

/** Verifies a service-account token's signature (JWS, RS256 or ES256) with a public key, as any outside party would. */
export function tokenVerifies(token: string, key: KeyObject | string | Buffer): boolean {
  const [header, payload, signature] = token.split('.') as [string, string, string];
  const alg = (JSON.parse(Buffer.from(header, 'base64url').toString()) as { alg: string }).alg;
  const pub = typeof key === 'object' && 'type' in key ? key : createPublicKey(key);
  const data = Buffer.from(`${header}.${payload}`);
  const sig = Buffer.from(signature, 'base64url');
  if (alg === 'RS256') return verify('sha256', data, pub, sig);
  if (alg === 'ES256') return verify('sha256', data, { key: pub, dsaEncoding: 'ieee-p1363' }, sig);
  throw new Error(`unexpected token algorithm ${alg}`);
}

/** The controller manager's and scheduler's leader-election Leases are held and renewed: they authenticated and are authorised. */
export async function leaderLeasesRenewed(admin: string): Promise<void> {
  for (const name of ['kube-controller-manager', 'kube-scheduler']) {
    const lease = async () => {
      const r = await kubectl(admin, ['get', 'lease', '-n', 'kube-system', name, '-o', 'jsonpath={.spec.holderIdentity} {.spec.renewTime}']);
      return r.exitCode === 0 ? r.stdout.trim() : '';
    };
    await waitFor(async () => /^\S+ \S+/.test(await lease()), `the ${name} lease`, 60_000);
    const first = await lease();
    await waitFor(async () => (await lease()) !== first, `the ${name} lease renewed`, 30_000);
  }
}
