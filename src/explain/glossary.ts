import type { Cluster } from '../model/cluster.js';
import { kubernetesServiceNames } from '../catalog/sans.js';

// What Kubernetes makes of the values in a certificate: general knowledge shared by both profiles.
// What one certificate is for lives next to it in the catalog (`explain`).

/** Well-known subject values: what the apiserver (or kubelet) does with them. */
export function subjectMeaning(field: 'CN' | 'O', value: string): string | null {
  if (field === 'O' && value === 'system:masters')
    return 'group bound to the cluster-admin ClusterRole by the built-in binding "cluster-admin": every request is allowed, and RBAC cannot take it away';
  if (field === 'O' && value === 'kubeadm:cluster-admins')
    return 'group bound to the cluster-admin ClusterRole by the ClusterRoleBinding kubeadm:cluster-admins (kube-pki manifests prints it): deleting that binding takes the rights away';
  if (field === 'O' && value === 'system:nodes') return 'the group of kubelets: the Node authorizer only handles requests from this group';
  if (field === 'CN' && value.startsWith('system:node:'))
    return `the Node authorizer and NodeRestriction admission recognise node "${value.slice('system:node:'.length)}": it may only read and change its own node, pods and what they mount`;
  const roles: Record<string, string> = {
    'system:kube-controller-manager': 'user bound to the ClusterRole system:kube-controller-manager by the built-in binding of the same name',
    'system:kube-scheduler': 'user bound to the ClusterRole system:kube-scheduler by the built-in binding of the same name',
    'system:kube-proxy': 'user bound to the ClusterRole system:node-proxier by the built-in binding system:node-proxier',
  };
  if (field === 'CN' && roles[value]) return roles[value];
  return null;
}

export const USAGE_MEANING: Record<string, string> = {
  digitalSignature: 'signs the TLS handshake (needed by every TLS certificate)',
  keyEncipherment: 'RSA key transport in the TLS key exchange (RSA keys only)',
  keyCertSign: 'signs certificates',
  cRLSign: 'signs certificate revocation lists',
  serverAuth: 'may serve TLS: clients accept it as a server identity',
  clientAuth: 'may log in as a TLS client (mutual TLS): servers accept it as a user',
};

/** Why a SAN value is there, worked out from the cluster description. */
export function sanReason(cluster: Cluster, value: string): string {
  const reasons: string[] = [];
  if (['127.0.0.1', '::1', 'localhost'].includes(value)) reasons.push('loopback: clients and peers on the same machine');
  if (value === cluster.serviceIP) reasons.push(`first address of serviceCIDR ${cluster.serviceCIDR}: the ClusterIP of the "kubernetes" service`);
  if (kubernetesServiceNames(cluster, true).includes(value)) reasons.push('in-cluster DNS name of the "kubernetes" service: how pods reach the apiserver');
  if (value === cluster.apiServer.endpoint) reasons.push('apiServer.endpoint: the address in the kubeconfigs, where clients reach the apiserver');
  for (const node of cluster.nodes) {
    if (node.address === value) reasons.push(`address of ${node.name} (${node.role})`);
    if (node.name === value) reasons.push(`name of ${node.name} (${node.role})`);
  }
  if (cluster.apiServer.extraSANs.includes(value)) reasons.push('listed in apiServer.extraSANs');
  return reasons.length ? reasons.join('; ') : 'from the catalog entry';
}
