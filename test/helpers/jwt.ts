import { createPublicKey, verify } from 'node:crypto';

// A service-account token (a JWT) checked outside the apiserver: its signature against one public key
// (a PEM public key or a certificate carrying one), with node:crypto alone.

/** True when `token`'s signature verifies with `publicPem`; RS*, PS* and ES* algorithms. */
export function jwtSignedBy(token: string, publicPem: Buffer | string): boolean {
  const [header, payload, signature] = token.split('.');
  if (!header || !payload || !signature) throw new Error('not a JWT (three dot-separated parts expected)');
  const { alg } = JSON.parse(Buffer.from(header, 'base64url').toString('utf8')) as { alg: string };
  const m = /^(RS|PS|ES)(256|384|512)$/.exec(alg);
  if (!m) throw new Error(`JWT algorithm ${alg} not handled here`);
  const key = createPublicKey(publicPem);
  const options = m[1] === 'ES' ? { key, dsaEncoding: 'ieee-p1363' as const } : m[1] === 'PS' ? { key, padding: 6 /* RSA_PKCS1_PSS_PADDING */ } : { key };
  return verify(`sha${m[2]}`, Buffer.from(`${header}.${payload}`), options, Buffer.from(signature, 'base64url'));
}

/** The claims of a JWT (not verified). */
export const jwtClaims = (token: string): Record<string, unknown> => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
