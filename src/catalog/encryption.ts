import type { Cluster } from '../model/cluster.js';
import { ENCRYPTION_CONFIG, type EncryptionInstance } from '../model/encryption.js';
import { SHARED_DIR } from '../model/instances.js';

// Where the EncryptionConfiguration lives (docs/encryption.md). It holds the key that encrypts every
// Secret in etcd: it goes to the control planes only (kube-apiserver reads it), 0600, and is never
// printed. The hard way: encryption-config.yaml beside the certificates, as both guides place it.
// kubeadm: pki/encryption-config.yaml in each control plane's tree, i.e. /etc/kubernetes/pki, the
// folder kubeadm's kube-apiserver static pod already mounts (no extra volume needed).

export const ENCRYPTION_FILE = 'encryption-config.yaml';
const TREE_FILE = `pki/${ENCRYPTION_FILE}`;

/** The flag that names it. */
export const ENCRYPTION_FLAG = { component: 'kube-apiserver', flag: '--encryption-provider-config' } as const;

/** The file as a node sees it, relative to the node's PKI folder (flags). */
export const encryptionNodePath = (cluster: Pick<Cluster, 'profile'>): string => (cluster.profile === 'kubeadm' ? TREE_FILE : ENCRYPTION_FILE);

/** The cluster's encryption configuration and its copies; undefined when `encryption` is off. */
export function encryptionInstance(cluster: Cluster, trees: boolean): EncryptionInstance | undefined {
  if (!cluster.encryption) return undefined;
  const nodes = cluster.nodes.filter((n) => n.role === 'controlplane').map((n) => n.name);
  return {
    name: ENCRYPTION_CONFIG,
    provider: cluster.encryption.provider,
    path: trees ? `${SHARED_DIR}/${ENCRYPTION_FILE}` : ENCRYPTION_FILE,
    copies: trees ? nodes.map((node) => ({ node, path: `${node}/${TREE_FILE}` })) : [],
    nodes,
  };
}
