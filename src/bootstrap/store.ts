import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { BOOTSTRAP_KUBECONFIG, bootstrapWorkers } from '../catalog/bootstrap.js';
import { EXIT, UserError } from '../errors.js';
import { ensureDir, exists, removeFile, writeFileAtomic } from '../files/atomic.js';
import { https } from '../catalog/sans.js';
import type { Cluster } from '../model/cluster.js';
import { MODE } from '../model/files.js';
import { instancesFor } from '../pki.js';
import { fromSecret, secretName, tokenSecret, type BootstrapToken } from './tokens.js';

// The bootstrap tokens of a PKI folder: one Secret manifest each in OUT/.kube-pki-bootstrap-tokens/
// (0700, files 0600; the .kube-pki prefix keeps the folder out of the catalog's way), and
// OUT/bootstrap-kubeconfig, the kubeconfig every bootstrap worker receives, with the newest valid token.

export const TOKENS_DIR = '.kube-pki-bootstrap-tokens';

export interface StoredToken extends BootstrapToken {
  file: string;
}

export async function readTokens(outDir: string): Promise<StoredToken[]> {
  const dir = join(outDir, TOKENS_DIR);
  const names = await readdir(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [] as string[];
    throw err;
  });
  const tokens: StoredToken[] = [];
  for (const name of names.filter((n) => n.endsWith('.yaml')).sort()) {
    const file = join(dir, name);
    const token = fromSecret(parse(await readFile(file, 'utf8')));
    // Never the file's content in the message: it holds the secret.
    if (!token || `${secretName(token.id)}.yaml` !== name) throw new UserError(`${file}: is not a bootstrap token Secret kube-pki wrote; move it away`, EXIT.failed);
    tokens.push({ ...token, file });
  }
  return tokens.sort((a, b) => a.expiration.getTime() - b.expiration.getTime());
}

export async function writeToken(outDir: string, token: BootstrapToken): Promise<string> {
  const dir = join(outDir, TOKENS_DIR);
  await ensureDir(dir);
  const file = join(dir, `${secretName(token.id)}.yaml`);
  if (await exists(file)) throw new UserError(`token id ${token.id} exists already; create another`, EXIT.failed);
  await writeFileAtomic(file, stringify(tokenSecret(token)), MODE.secret);
  return file;
}

export async function deleteToken(outDir: string, id: string): Promise<boolean> {
  const file = join(outDir, TOKENS_DIR, `${secretName(id)}.yaml`);
  if (!(await exists(file))) return false;
  await removeFile(file);
  return true;
}

/** The token the bootstrap kubeconfig carries: the valid one that lasts longest. */
export const currentToken = (tokens: readonly BootstrapToken[], now = new Date()): BootstrapToken | undefined =>
  tokens.filter((t) => t.expiration > now).sort((a, b) => b.expiration.getTime() - a.expiration.getTime())[0];

/** The bootstrap kubeconfig: the cluster's CA and endpoint, user kubelet-bootstrap with the token. */
export function bootstrapKubeconfig(cluster: Cluster, ca: Buffer, token: BootstrapToken): string {
  const name = cluster.profile === 'kubeadm' ? 'kubernetes' : 'kubernetes-the-hard-way';
  return stringify(
    {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name, cluster: { 'certificate-authority-data': ca.toString('base64'), server: https(cluster.apiServer.endpoint, cluster.apiServer.port) } }],
      contexts: [{ name: 'tls-bootstrap-token-user@kubernetes', context: { cluster: name, user: 'tls-bootstrap-token-user' } }],
      'current-context': 'tls-bootstrap-token-user@kubernetes',
      preferences: {},
      users: [{ name: 'tls-bootstrap-token-user', user: { token: `${token.id}.${token.secret}` } }],
    },
    { lineWidth: 0 },
  );
}

/** The cluster CA's certificate in the folder (hardway ca.crt, kubeadm _cluster/pki/ca.crt). */
export function clusterCaPath(cluster: Cluster): string {
  const ca = instancesFor(cluster).certs.find((c) => c.spec.id === 'ca');
  if (!ca) throw new Error(`catalog: no cluster CA in the ${cluster.profile} profile`);
  return ca.certPath;
}

/**
 * Rewrites OUT/bootstrap-kubeconfig for the current token (0600, atomically), or removes it when no
 * token is valid: a worker must not receive a kubeconfig that cannot join. Returns the token it carries.
 */
export async function refreshBootstrapKubeconfig(cluster: Cluster, outDir: string, now = new Date()): Promise<BootstrapToken | undefined> {
  const path = join(outDir, BOOTSTRAP_KUBECONFIG);
  const token = currentToken(await readTokens(outDir), now);
  if (!token || !bootstrapWorkers(cluster).length) {
    if (await exists(path)) await removeFile(path);
    return token;
  }
  const caPath = join(outDir, clusterCaPath(cluster));
  const ca = await readFile(caPath).catch(() => {
    throw new UserError(`${caPath}: no cluster CA certificate; run kube-pki gen first (the bootstrap kubeconfig embeds it)`, EXIT.failed);
  });
  await writeFileAtomic(path, bootstrapKubeconfig(cluster, ca, token), MODE.secret);
  return token;
}

/** The token a bootstrap kubeconfig carries (its id and secret), or null. */
export function tokenOfKubeconfig(text: string): string | null {
  const doc = parse(text) as { users?: { user?: { token?: unknown } }[] } | null;
  const token = doc?.users?.[0]?.user?.token;
  return typeof token === 'string' ? token : null;
}
