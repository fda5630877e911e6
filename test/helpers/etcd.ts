import { execa, type ResultPromise } from 'execa';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Processes, waitFor } from './processes.js';

export interface EtcdMember {
  name: string;
  /** A loopback address, e.g. 127.0.2.11. */
  ip: string;
  certFile: string;
  keyFile: string;
  peerCertFile: string;
  peerKeyFile: string;
}

export interface EtcdClientAuth {
  cacert: string;
  cert: string;
  key: string;
}

const clientUrl = (m: { ip: string }) => `https://${m.ip}:2379`;
const peerUrl = (m: { ip: string }) => `https://${m.ip}:2380`;

/**
 * Starts a real etcd cluster (Debian's etcd 3.4) with TLS for clients and peers and client
 * certificate authentication on both, one member per loopback address.
 */
export async function startEtcdCluster(members: EtcdMember[], caFile: string, processes: Processes): Promise<void> {
  const base = await mkdtemp(join(tmpdir(), 'kube-pki-etcd-'));
  const initialCluster = members.map((m) => `${m.name}=${peerUrl(m)}`).join(',');
  for (const m of members) {
    processes.start('etcd', [
      '--name', m.name,
      '--data-dir', join(base, m.name),
      '--listen-client-urls', clientUrl(m),
      '--advertise-client-urls', clientUrl(m),
      '--listen-peer-urls', peerUrl(m),
      '--initial-advertise-peer-urls', peerUrl(m),
      '--initial-cluster', initialCluster,
      '--initial-cluster-state', 'new',
      '--initial-cluster-token', 'kube-pki-test',
      '--cert-file', m.certFile,
      '--key-file', m.keyFile,
      '--trusted-ca-file', caFile,
      '--client-cert-auth',
      '--peer-cert-file', m.peerCertFile,
      '--peer-key-file', m.peerKeyFile,
      '--peer-trusted-ca-file', caFile,
      '--peer-client-cert-auth',
      '--log-level', 'warn',
    ]);
  }
}

/** A node of a cluster whose members take their TLS files from `kube-pki flags etcd`. */
export interface EtcdNode {
  name: string;
  /** A loopback address, e.g. 127.0.14.11. */
  ip: string;
}

/**
 * Starts `node`'s member of a cluster of `nodes` with the TLS flags `kube-pki flags etcd --json` names
 * (flag, path, flag, path…), client certificate authentication for clients and peers; output kept.
 */
export function spawnEtcdMember(node: EtcdNode, nodes: readonly EtcdNode[], dataDir: string, clusterToken: string, tlsFlags: string[]): ResultPromise {
  return execa(
    'etcd',
    [
      '--name', node.name,
      '--data-dir', join(dataDir, node.name),
      '--listen-client-urls', clientUrl(node),
      '--advertise-client-urls', clientUrl(node),
      '--listen-peer-urls', peerUrl(node),
      '--initial-advertise-peer-urls', peerUrl(node),
      '--initial-cluster', nodes.map((n) => `${n.name}=${peerUrl(n)}`).join(','),
      '--initial-cluster-state', 'new',
      '--initial-cluster-token', clusterToken,
      ...tlsFlags,
      '--client-cert-auth',
      '--peer-client-cert-auth',
      '--log-level', 'warn',
    ],
    { reject: false, stdin: 'ignore', all: true, buffer: true },
  );
}

/** Stops a member started by spawnEtcdMember, if it runs, and forgets it. */
export async function stopEtcdMember(members: Map<string, ResultPromise>, name: string): Promise<void> {
  const child = members.get(name);
  if (!child) return;
  child.kill('SIGTERM');
  await child.catch(() => undefined);
  members.delete(name);
}

/** `etcdctl endpoint <what>` against the given members; returns exit code and output. */
export async function etcdctl(members: readonly { ip: string }[], auth: EtcdClientAuth, args: string[]): Promise<{ exitCode: number; output: string }> {
  const r = await execa(
    'etcdctl',
    ['--endpoints', members.map(clientUrl).join(','), '--cacert', auth.cacert, '--cert', auth.cert, '--key', auth.key, '--dial-timeout', '3s', '--command-timeout', '5s', ...args],
    { reject: false, stdin: 'ignore', all: true, env: { ETCDCTL_API: '3' } },
  );
  return { exitCode: r.exitCode ?? -1, output: r.all ?? '' };
}

/** Waits until every member reports healthy (a two- or three-member cluster needs its quorum first). */
export async function waitHealthy(members: EtcdMember[], auth: EtcdClientAuth, timeoutMs = 40_000): Promise<void> {
  await waitFor(async () => (await etcdctl(members, auth, ['endpoint', 'health'])).exitCode === 0, 'etcd cluster health', timeoutMs);
}
