import { createHash, X509Certificate, type KeyObject } from 'node:crypto';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { CertInstance, Instances } from '../model/instances.js';
import { readIfExists } from './disk.js';
import { isEncryptedKey, privateKey, publicKeyDer } from './x509.js';

// Is this file a CA's private key? Decided by content (the public key), never by the file's name:
// used by distribute (refuse to send it) and check (report it on a worker).

const spki = (key: KeyObject) => publicKeyDer(key).toString('base64');

/** The private keys a file holds: a PEM key, or the client-key-data of a kubeconfig. */
export function privateKeysIn(data: Buffer): KeyObject[] {
  const key = privateKey(data);
  if (key) return [key];
  if (!data.includes('client-key')) return [];
  try {
    const doc = parse(data.toString('utf8')) as { users?: { user?: Record<string, unknown> }[] } | null;
    return (doc?.users ?? []).flatMap((u) => {
      const b64 = u?.user?.['client-key-data'];
      const k = typeof b64 === 'string' ? privateKey(Buffer.from(b64, 'base64')) : null;
      return k ? [k] : [];
    });
  } catch {
    return [];
  }
}

/**
 * The CAs of the catalog by public key (SPKI, base64), from their certificates and their keys in
 * the folder: a private key whose public half is in here is that CA's key, whatever its file name.
 */
export async function caPublicKeys(instances: Instances, outDir: string): Promise<Map<string, CertInstance>> {
  const found = new Map<string, CertInstance>();
  // The first CA to claim a key keeps it: the root first, so that its key copied over a CA's key file
  // is still known as the root's.
  const claim = (id: string, ca: CertInstance) => {
    if (!found.has(id)) found.set(id, ca);
  };
  // The root CA too: its key is encrypted at rest, so a copy of it is known by its bytes.
  for (const ca of [...(instances.root ? [instances.root] : []), ...instances.certs.filter((c) => !c.caName)]) {
    const [crt, key] = await Promise.all([readIfExists(join(outDir, ca.certPath)), readIfExists(join(outDir, ca.keyPath))]);
    try {
      if (crt) claim(spki(new X509Certificate(crt).publicKey), ca);
    } catch {
      /* not a certificate: its key may still tell */
    }
    const k = key ? privateKey(key) : null;
    if (k) claim(spki(k), ca);
    else if (key && isEncryptedKey(key)) claim(bytesId(key), ca);
  }
  return found;
}

const bytesId = (data: Buffer) => `sha256:${createHash('sha256').update(data).digest('hex')}`;

/** The catalog CA whose private key the file holds, if any. */
export async function caKeyIn(outDir: string, local: string, cas: Map<string, CertInstance>): Promise<CertInstance | null> {
  if (!cas.size) return null;
  const data = await readIfExists(join(outDir, local)).catch(() => null);
  if (!data) return null;
  const copy = cas.get(bytesId(data));
  if (copy) return copy;
  for (const key of privateKeysIn(data)) {
    const ca = cas.get(spki(key));
    if (ca) return ca;
  }
  return null;
}

