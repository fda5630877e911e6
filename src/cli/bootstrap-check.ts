import { bootstrapWorkers } from '../catalog/bootstrap.js';
import { listTokens, type TokenSummary } from '../bootstrap/token-command.js';
import type { BootstrapNodeRemote } from '../distribute/kubelet-certs.js';
import type { RemoteOptions } from '../distribute/prepare.js';
import type { Cluster } from '../model/cluster.js';

// check's section on bootstrap workers (docs/bootstrap.md): who joins by TLS bootstrap, with which
// token, and with --remote what each kubelet obtained from the cluster.

export interface BootstrapWorkerRow {
  node: string;
  address: string;
  /** The token of bootstrap-kubeconfig, what the worker joins with (id and expiry only). */
  token: Pick<TokenSummary, 'id' | 'expiration' | 'expired'> | null;
  remote?: BootstrapNodeRemote;
}

export async function bootstrapRows(cluster: Cluster, out: string, remote: RemoteOptions | null): Promise<BootstrapWorkerRow[]> {
  const workers = bootstrapWorkers(cluster);
  if (!workers.length) return [];
  const current = (await listTokens(out)).find((t) => t.inBootstrapKubeconfig);
  const token = current ? { id: current.id, expiration: current.expiration, expired: current.expired } : null;
  let obtained: BootstrapNodeRemote[] = [];
  if (remote) {
    const { kubeletCertsRemote } = await import('../distribute/kubelet-certs.js');
    obtained = await kubeletCertsRemote(cluster, remote);
  }
  return workers.map((n) => {
    const r = obtained.find((o) => o.node === n.name);
    return { node: n.name, address: n.address, token, ...(r ? { remote: r } : {}) };
  });
}

export function bootstrapText(rows: BootstrapWorkerRow[]): string {
  if (!rows.length) return '';
  const token = rows[0]!.token;
  const lines = [
    '',
    `Bootstrap workers (no key or certificate made here; the cluster signs their kubelet's): ${rows.map((r) => r.node).join(', ')}`,
    token
      ? `  bootstrap-kubeconfig carries token ${token.id}, valid until ${token.expiration}`
      : '  no valid bootstrap token: a new worker cannot join (kube-pki token create)',
  ];
  for (const r of rows.filter((x) => x.remote)) {
    for (const [what, c] of [['client', r.remote!.clientCertificate], ['serving', r.remote!.servingCertificate]] as const) {
      lines.push(
        c.error
          ? `  ${r.node} ${what} certificate ${c.path}: ${c.error}`
          : `  ${r.node} ${what} certificate: ${c.subject}, issuer ${c.issuer}${c.signedByClusterCa === false ? ' (NOT signed by the cluster CA)' : ''}, expires ${c.notAfter}`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}
