import type { Placement } from '../catalog/types.js';
import type { Cluster, ClusterNode } from '../cluster/load.js';
import type { CertInstance, KubeconfigInstance } from '../plan/instances.js';

/** Command-line clients read their files on every run: nothing to restart for them. */
export const CLIENT_TOOLS: ReadonlySet<string> = new Set(['kubectl', 'etcdctl']);

export interface ComponentUse {
  component: string;
  flag: string;
  /** The file it reads, relative to the PKI folder. */
  file: string;
  /** Nodes that hold the file (empty: the catalog does not place it). */
  nodes: string[];
}

export interface Restart {
  component: string;
  nodes: string[];
  /** The changed files it reads. */
  files: string[];
}

/** Names of the nodes a placement sends a file to. */
export function placementNodes(cluster: Cluster, placement: Placement | undefined, owner: ClusterNode | undefined): string[] {
  if (!placement) return [];
  if (placement === 'self') return owner ? [owner.name] : [];
  return cluster.nodes.filter((n) => placement.includes(n.role)).map((n) => n.name);
}

/** Who reads a certificate's files, directly (catalog `uses`). */
export function certUses(cluster: Cluster, cert: CertInstance): ComponentUse[] {
  return (cert.spec.uses ?? []).map((u) => {
    const [file, placement] = u.part === 'key' ? [cert.keyPath, cert.spec.keyTo] : [cert.certPath, cert.spec.crtTo];
    return { component: u.component, flag: u.flag, file, nodes: placementNodes(cluster, placement, cert.node) };
  });
}

/** Who reads a kubeconfig (catalog `uses`). */
export function kubeconfigUses(cluster: Cluster, kc: KubeconfigInstance): ComponentUse[] {
  return (kc.spec.uses ?? []).map((u) => ({ ...u, file: kc.path, nodes: placementNodes(cluster, kc.spec.to, kc.node) }));
}

/** The running components that must restart to load changed files, one entry per component. */
export function restartsFor(uses: readonly ComponentUse[]): { restart: Restart[]; clients: Restart[] } {
  const merged = new Map<string, Restart>();
  for (const u of uses) {
    const r = merged.get(u.component) ?? { component: u.component, nodes: [], files: [] };
    for (const n of u.nodes) if (!r.nodes.includes(n)) r.nodes.push(n);
    if (!r.files.includes(u.file)) r.files.push(u.file);
    merged.set(u.component, r);
  }
  const all = [...merged.values()];
  return { restart: all.filter((r) => !CLIENT_TOOLS.has(r.component)), clients: all.filter((r) => CLIENT_TOOLS.has(r.component)) };
}
