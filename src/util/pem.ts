import { X509Certificate } from 'node:crypto';

// Trust bundles (several CA certificates in one PEM file). Joined byte by byte, a file without a final
// newline glues two blocks together (`-----END CERTIFICATE----------BEGIN CERTIFICATE-----`), which
// Go's pem.Decode and openssl reject: every bundle is made here and read back before it is installed.

const CERTIFICATE = /-----BEGIN CERTIFICATE-----\r?\n[\s\S]*?\r?\n-----END CERTIFICATE-----/g;

/** The certificates of a PEM text, in order, as a strict reader sees them (a glued block is not one). */
export function pemCertificates(pem: Buffer | string): X509Certificate[] {
  const text = pem.toString('latin1');
  const blocks = [...text.matchAll(CERTIFICATE)].map((m) => ({ block: m[0], at: m.index }));
  // A block must start a line: "…-----END CERTIFICATE----------BEGIN…" is how a glued bundle looks.
  return blocks.filter(({ at }) => at === 0 || text[at - 1] === '\n').map(({ block }) => new X509Certificate(block));
}

/** PEM files one after the other, each ending in exactly one newline. */
export function joinPem(parts: readonly (Buffer | string)[]): Buffer {
  return Buffer.from(parts.map((p) => `${p.toString('latin1').replace(/\s+$/, '')}\n`).join(''), 'latin1');
}

/**
 * The bundle of these files, checked: it must read back as exactly their certificates, in order.
 * Throws an Error naming the file at fault (the phase that makes the bundle then fails).
 */
export function pemBundle(parts: readonly { name: string; pem: Buffer }[], to: string): Buffer {
  const expected: string[] = [];
  for (const { name, pem } of parts) {
    let certs: X509Certificate[];
    try {
      certs = pemCertificates(pem);
    } catch (err) {
      throw new Error(`${to}: ${name} is not a readable PEM certificate (${(err as Error).message})`);
    }
    if (!certs.length) throw new Error(`${to}: ${name} holds no PEM certificate`);
    expected.push(...certs.map((c) => c.fingerprint256));
  }
  const bundle = joinPem(parts.map((p) => p.pem));
  const found = pemCertificates(bundle).map((c) => c.fingerprint256);
  if (found.join() !== expected.join())
    throw new Error(`${to}: the bundle of ${parts.map((p) => p.name).join(' + ')} reads back as ${found.length} certificate(s) instead of their ${expected.length}; not installed`);
  return bundle;
}
