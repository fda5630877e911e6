import type { Cluster, ClusterNode, Role } from '../model/cluster.js';

export function addressesOf(cluster: Cluster, ...roles: Role[]): string[] {
  return cluster.nodes.filter((n) => roles.includes(n.role)).map((n) => n.address);
}

/** The names by which pods reach the apiserver through the "kubernetes" service. */
export function kubernetesServiceNames(cluster: Cluster, withShortDomain: boolean): string[] {
  const names = ['kubernetes', 'kubernetes.default', 'kubernetes.default.svc'];
  const labels = cluster.clusterDomain.split('.');
  // kubeadm also adds kubernetes.default.svc.<domain minus its last label> (…svc.cluster).
  if (withShortDomain && labels.length > 1) names.push(`kubernetes.default.svc.${labels.slice(0, -1).join('.')}`);
  names.push(`kubernetes.default.svc.${cluster.clusterDomain}`);
  return names;
}

export function https(host: string, port: number): string {
  return `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

export function nodeNameAndAddress(node: ClusterNode | undefined): string[] {
  return node ? [node.name, node.address] : [];
}
