import { createHash, createPublicKey, type KeyObject, X509Certificate } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { HELD_KEYS_RECORD, OWN_PREFIXES } from '../model/files.js';
import type { CertInstance, Instances } from '../model/instances.js';
import { rotationFiles } from '../model/rotation.js';
import { readPkiFile } from '../files/read.js';
import { privateKey } from './x509.js';

// Is a CA certificate without its key an external CA (its key kept elsewhere from the start) or a CA
// whose key kube-pki made or held here and that is now gone? The folder itself says so, in this order:
// the CA is declared external (`externalCAs:`), else the record kube-pki keeps of the CA keys it saw
// here (HELD_KEYS_RECORD, written under the lock by every run), else evidence that survives without
// the record (a folder from before it, or copied without its dot files): a key of this certificate in
// a backup folder, among the rotation files, or in a kubeadm node tree. No such trace: a folder that
// never held the key, so an external CA.

/** SHA-256 of a public key's SPKI, base64: what the record holds (never a private key or its hash). */
export const spkiFingerprint = (key: KeyObject): string => createHash('sha256').update(key.export({ type: 'spki', format: 'der' })).digest('base64');

/** The fingerprints in the record (empty when there is none or it cannot be read: the evidence still counts). */
export async function recordedFingerprints(outDir: string): Promise<Set<string>> {
  const text = await readFile(join(outDir, HELD_KEYS_RECORD), 'utf8').catch(() => null);
  if (text === null) return new Set();
  try {
    const keys = (JSON.parse(text) as { caKeys?: unknown }).caKeys;
    return new Set(Array.isArray(keys) ? keys.filter((k): k is string => typeof k === 'string') : []);
  } catch {
    return new Set();
  }
}

/** Files that would hold this CA's key if kube-pki ever had it here: backups, rotation files, node-tree copies. */
async function keyTraces(outDir: string, instances: Instances, ca: CertInstance): Promise<string[]> {
  const { newKey, oldKey } = rotationFiles(ca.certPath, ca.keyPath);
  const copies = instances.copies.filter((c) => c.source === ca.name).flatMap((c) => c.files.filter((f) => f.part === 'key').map((f) => f.to));
  const backupPrefix = OWN_PREFIXES.find((p) => p.startsWith('backup'))!;
  const backups = (await readdir(outDir).catch(() => [] as string[])).filter((e) => e.startsWith(backupPrefix));
  return [newKey, oldKey, ...copies, ...backups.flatMap((b) => [join(b, ca.keyPath), join(b, newKey), join(b, oldKey)])];
}

const publicOf = async (path: string): Promise<string | null> => {
  const pem = await readPkiFile(path).catch(() => null);
  const key = pem ? privateKey(pem) : null;
  return key ? spkiFingerprint(createPublicKey(key)) : null;
};

/**
 * Where the folder shows it held the key of this CA certificate (for the message), or null: never held
 * here (an external CA). Asked only for a CA whose certificate is here and whose key is not.
 */
export async function heldKeyEvidence(outDir: string, instances: Instances, ca: CertInstance, certPem: Buffer): Promise<string | null> {
  let wanted: string;
  try {
    wanted = spkiFingerprint(new X509Certificate(certPem).publicKey);
  } catch {
    return null; // an unreadable certificate is reported as such
  }
  if ((await recordedFingerprints(outDir)).has(wanted)) return `${HELD_KEYS_RECORD} records that this folder held it`;
  for (const path of await keyTraces(outDir, instances, ca)) if ((await publicOf(join(outDir, path))) === wanted) return `${path} holds the same key`;
  return null;
}
