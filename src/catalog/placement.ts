import type { Placement } from '../model/catalog.js';
import type { Cluster, ClusterNode } from '../model/cluster.js';
import type { Instances, KubeconfigInstance } from '../model/instances.js';

/** One file of the PKI folder as one node receives it. */
export interface Landing {
  node: string;
  /** The file sent, relative to the PKI folder (node trees: the copy in that node's tree). */
  file: string;
  /** Where it lands, relative to the node's folder (node trees: without the "<node>/" prefix). */
  remote: string;
}

/** True if a placement by roles sends the file to this node ('self' is decided by the file's owner, not here). */
export const placedOn = (placement: Placement | undefined, node: ClusterNode): boolean =>
  placement !== undefined && placement !== 'self' && placement.includes(node.role);

/** The nodes a placement sends a file to; `owner`: the node a per-node file belongs to. */
export function placedNodes(cluster: Cluster, placement: Placement | undefined, owner: ClusterNode | undefined): ClusterNode[] {
  if (placement === 'self') return owner ? [owner] : [];
  return cluster.nodes.filter((n) => placedOn(placement, n));
}

/** Names of the nodes a placement sends a file to. */
export function placementNodes(cluster: Cluster, placement: Placement | undefined, owner: ClusterNode | undefined): string[] {
  return placedNodes(cluster, placement, owner).map((n) => n.name);
}

/** A kubeconfig bound to a node (node trees: every one; flat: per-node ones) goes to that node only. */
export function kubeconfigNodes(cluster: Cluster, kc: KubeconfigInstance): string[] {
  return kc.node ? [kc.node.name] : placementNodes(cluster, kc.spec.to, undefined);
}

/**
 * Where a file of the PKI folder goes, node by node (`nodes`: its placement). In node trees a shared
 * file's source in _cluster/ is never sent: each tree's copy of it is (Instances.copies).
 */
export function landings(instances: Instances, file: string, nodes: readonly string[]): Landing[] {
  const copies = instances.copies.flatMap((c) => c.files.filter((f) => f.from === file).map((f) => ({ node: c.node.name, file: f.to })));
  const sent = copies.length ? copies : nodes.map((node) => ({ node, file }));
  return sent.map((s) => ({ ...s, remote: s.file.startsWith(`${s.node}/`) ? s.file.slice(s.node.length + 1) : s.file }));
}
