import { randomInt } from 'node:crypto';
import { TOKEN_GROUP } from '../catalog/bootstrap.js';

// Bootstrap tokens in the documented format (kubernetes.io/docs/reference/access-authn-authz/bootstrap-tokens):
// "<id>.<secret>", [a-z0-9]{6} and [a-z0-9]{16}, kept as the Secret the apiserver reads them from.

export const TOKEN_ID = /^[a-z0-9]{6}$/;
export const TOKEN = /^([a-z0-9]{6})\.([a-z0-9]{16})$/;
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

export interface BootstrapToken {
  id: string;
  secret: string;
  expiration: Date;
  description: string;
}

/** n characters of [a-z0-9], each from the kernel's random source without modulo bias (crypto.randomInt). */
const randomChars = (n: number) => Array.from({ length: n }, () => ALPHABET[randomInt(ALPHABET.length)]).join('');

export function newToken(ttlSeconds: number, description: string, now = new Date()): BootstrapToken {
  return { id: randomChars(6), secret: randomChars(16), expiration: new Date(now.getTime() + ttlSeconds * 1000), description };
}

export const secretName = (id: string) => `bootstrap-token-${id}`;

/** RFC 3339 in UTC without fractions, as kubeadm writes `expiration`. */
const rfc3339 = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

/** The Secret the apiserver authenticates the token from (kube-system, type bootstrap.kubernetes.io/token). */
export function tokenSecret(t: BootstrapToken): object {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: secretName(t.id), namespace: 'kube-system' },
    type: 'bootstrap.kubernetes.io/token',
    stringData: {
      description: t.description,
      'token-id': t.id,
      'token-secret': t.secret,
      expiration: rfc3339(t.expiration),
      // Authentication only: kube-pki distributes the CA itself, so the token need not sign cluster-info.
      'usage-bootstrap-authentication': 'true',
      'auth-extra-groups': TOKEN_GROUP,
    },
  };
}

/** A Secret read back from the folder; null when it is not one of ours in the expected shape. */
export function fromSecret(doc: unknown): BootstrapToken | null {
  const d = doc as { kind?: unknown; type?: unknown; stringData?: Record<string, unknown> } | null;
  const s = d?.stringData;
  if (d?.kind !== 'Secret' || d.type !== 'bootstrap.kubernetes.io/token' || !s) return null;
  const id = s['token-id'];
  const secret = s['token-secret'];
  const expiration = new Date(String(s.expiration));
  if (typeof id !== 'string' || typeof secret !== 'string' || !TOKEN.test(`${id}.${secret}`) || Number.isNaN(expiration.getTime())) return null;
  return { id, secret, expiration, description: typeof s.description === 'string' ? s.description : '' };
}

/** A description the Secret and a table can carry: one line of printable text. */
export function descriptionProblem(text: string): string | null {
  if (text.length > 200) return 'must be at most 200 characters';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(text)) return 'must be one line of printable text (no line breaks or control characters)';
  return null;
}
