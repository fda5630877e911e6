import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { EXIT, UserError } from '../errors.js';
import { bootstrapWorkers, BOOTSTRAP_KUBECONFIG } from '../catalog/bootstrap.js';
import { assertOwnFolder } from '../exec/own-folder.js';
import { lockOutDir } from '../exec/lock.js';
import type { Cluster } from '../model/cluster.js';
import { durationSeconds } from '../util/duration.js';
import { currentToken, deleteToken, readTokens, refreshBootstrapKubeconfig, writeToken, type StoredToken } from './store.js';
import { descriptionProblem, newToken, secretName, TOKEN, TOKEN_ID } from './tokens.js';

// `kube-pki token create | list | delete`: bootstrap tokens kept in the PKI folder, under its lock.

export interface TokenSummary {
  id: string;
  secretName: string;
  expiration: string;
  expired: boolean;
  description: string;
  /** The token OUT/bootstrap-kubeconfig carries (what distribute sends the bootstrap workers). */
  inBootstrapKubeconfig: boolean;
}

async function locked<T>(outDir: string, work: () => Promise<T>): Promise<T> {
  if (!existsSync(outDir)) throw new UserError(`${outDir}: no PKI folder; run kube-pki gen first`, EXIT.badInput);
  await assertOwnFolder(outDir);
  const unlock = await lockOutDir(outDir);
  try {
    return await work();
  } finally {
    await unlock();
  }
}

export function parseTtl(text: string): number {
  const seconds = durationSeconds(text);
  if (seconds === null) throw new UserError(`--ttl: ${JSON.stringify(text)}: is not a duration like 24h, 90m or 7d`, EXIT.badInput);
  return seconds;
}

const summary = (t: StoredToken, current: string | undefined, now: Date): TokenSummary => ({
  id: t.id,
  secretName: secretName(t.id),
  expiration: t.expiration.toISOString(),
  expired: t.expiration <= now,
  description: t.description,
  inBootstrapKubeconfig: t.id === current,
});

export interface Created {
  /** The token itself: printed once on request (text output), never in --json or a log. */
  token: string;
  summary: TokenSummary;
  bootstrapKubeconfig: string | null;
  notes: string[];
}

export async function createToken(cluster: Cluster, outDir: string, ttl: string, description: string, now = new Date()): Promise<Created> {
  const seconds = parseTtl(ttl);
  const problem = descriptionProblem(description);
  if (problem) throw new UserError(`--description: ${problem}`, EXIT.badInput);
  return locked(outDir, async () => {
    const token = newToken(seconds, description, now);
    await writeToken(outDir, token);
    const current = await refreshBootstrapKubeconfig(cluster, outDir, now);
    const notes = [`apply it to the cluster: kube-pki manifests --out ${outDir} | kubectl apply -f -`];
    if (!bootstrapWorkers(cluster).length) notes.push('no worker of the description bootstraps (kubeletBootstrap, bootstrap): no bootstrap kubeconfig is written');
    const kc = join(outDir, BOOTSTRAP_KUBECONFIG);
    return {
      token: `${token.id}.${token.secret}`,
      summary: summary({ ...token, file: '' }, current?.id, now),
      bootstrapKubeconfig: existsSync(kc) ? kc : null,
      notes,
    };
  });
}

export async function listTokens(outDir: string, now = new Date()): Promise<TokenSummary[]> {
  if (!existsSync(outDir)) return [];
  const tokens = await readTokens(outDir);
  const current = currentToken(tokens, now)?.id;
  return tokens.map((t) => summary(t, current, now));
}

/** Deletes a token by id (or the whole token: only its id is used, and never shown). */
export async function removeToken(cluster: Cluster, outDir: string, given: string, now = new Date()): Promise<{ id: string; notes: string[] }> {
  const id = TOKEN_ID.test(given) ? given : TOKEN.exec(given)?.[1];
  // The value may be a whole token: never echoed.
  if (!id) throw new UserError('token delete: give a token id ([a-z0-9]{6}) or a token ([a-z0-9]{6}.[a-z0-9]{16})', EXIT.badInput);
  return locked(outDir, async () => {
    if (!(await deleteToken(outDir, id))) throw new UserError(`token delete: no token ${id} in ${outDir} (kube-pki token list)`, EXIT.badInput);
    const current = await refreshBootstrapKubeconfig(cluster, outDir, now);
    return {
      id,
      notes: [
        `remove it from the cluster too: kubectl -n kube-system delete secret ${secretName(id)}`,
        current ? `${join(outDir, BOOTSTRAP_KUBECONFIG)} now carries token ${current.id}` : `no valid token is left: ${BOOTSTRAP_KUBECONFIG} is removed until kube-pki token create`,
      ],
    };
  });
}

export function formatTokens(list: TokenSummary[]): string {
  if (!list.length) return 'No bootstrap tokens (kube-pki token create).\n';
  const rows = [['ID', 'EXPIRES', 'STATE', 'IN BOOTSTRAP KUBECONFIG', 'DESCRIPTION'], ...list.map((t) => [t.id, t.expiration, t.expired ? 'expired' : 'valid', t.inBootstrapKubeconfig ? 'yes' : '', t.description])];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return `${rows.map((r) => r.map((c, i) => (i < r.length - 1 ? c.padEnd(widths[i]!) : c)).join('  ').trimEnd()).join('\n')}\n`;
}
