import { X509Certificate, createHash, createPrivateKey } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { parse } from 'yaml';

// Shared by the rotate-ca tests: what a folder holds, read with node:crypto (independent of src/).

/** Every file of a PKI folder (not backups, not the lock or temp folder) with its SHA-256. */
export async function hashes(root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (dir: string): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      if (e.name.startsWith('backup-') || e.name.startsWith('.')) continue;
      const p = join(dir, e.name);
      if (e.isDirectory()) await walk(p);
      else out.set(relative(root, p), createHash('sha256').update(await readFile(p)).digest('hex'));
    }
  };
  await walk(root);
  return out;
}

/** Files whose content differs between two hash maps (added, removed or changed). */
export function changedFiles(a: Map<string, string>, b: Map<string, string>): string[] {
  return [...new Set([...a.keys(), ...b.keys()])].filter((f) => a.get(f) !== b.get(f)).sort();
}

/**
 * Every NAME.key beside a NAME.crt must be that certificate's key: the pairs that do not match. An
 * encrypted key (the root CA's) is opened with `passphrase`.
 */
export async function mismatchedPairs(root: string, passphrase?: string): Promise<string[]> {
  const bad: string[] = [];
  for (const file of (await hashes(root)).keys()) {
    if (!file.endsWith('.crt')) continue;
    const keyFile = file.replace(/\.crt$/, '.key');
    const [crt, key] = await Promise.all([readFile(join(root, file)), readFile(join(root, keyFile)).catch(() => null)]);
    if (!key) continue;
    if (!new X509Certificate(crt).checkPrivateKey(createPrivateKey(passphrase ? { key, passphrase } : key))) bad.push(file);
  }
  return bad;
}

/** The certificates of a PEM file, in order. */
export function pemCerts(pem: Buffer | string): X509Certificate[] {
  return (pem.toString().match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map((b) => new X509Certificate(b));
}

export const cert = async (path: string) => new X509Certificate(await readFile(path));

/** Signed by this CA: names and signature. */
export const issued = (leaf: X509Certificate, ca: X509Certificate) => leaf.checkIssued(ca) && leaf.verify(ca.publicKey);

/** The CA certificates and the client certificate a kubeconfig embeds. */
export async function kubeconfigParts(path: string): Promise<{ cas: X509Certificate[]; client: X509Certificate }> {
  const doc = parse(await readFile(path, 'utf8')) as { clusters: { cluster: Record<string, string> }[]; users: { user: Record<string, string> }[] };
  const b64 = (v: string) => Buffer.from(v, 'base64');
  return { cas: pemCerts(b64(doc.clusters[0]!.cluster['certificate-authority-data']!)), client: new X509Certificate(b64(doc.users[0]!.user['client-certificate-data']!)) };
}

/** A small kubeadm cluster (two control planes, a worker) for the rotate-ca tests; ECDSA keys are quick to make. */
export const KUBEADM_YAML = `profile: kubeadm
key: { algorithm: ecdsa, curve: P-256 }
apiServer: { endpoint: 192.168.5.30, port: 6443 }
nodes:
  - { name: cp-1, address: 192.168.5.11, role: controlplane }
  - { name: cp-2, address: 192.168.5.12, role: controlplane }
  - { name: worker-1, address: 192.168.5.21, role: worker }
`;

/** A small hard-way cluster under a root CA (rootCA, its key encrypted): root-ca and rotate-ca-root tests. */
export const ROOT_HARDWAY_YAML = `profile: hardway
rootCA: { commonName: Lab Root CA, validityDays: 2000 }
apiServer: { endpoint: 192.168.15.30 }
nodes:
  - { name: master-1, address: 192.168.15.11, role: controlplane }
  - { name: worker-1, address: 192.168.15.21, role: worker }
`;
