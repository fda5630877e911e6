import type { Cluster } from '../model/cluster.js';
import type { CertInstance, Instances, KubeconfigInstance } from '../model/instances.js';
import { kubeconfigNodes, landings, placementNodes } from './placement.js';

/**
 * Components that run on control planes only (etcdctl with them: its client pair is there): a file
 * they read that also lands on a worker (ca.crt) is read there by the others, never by them.
 */
export const CONTROL_PLANE_COMPONENTS: ReadonlySet<string> = new Set(['etcd', 'etcdctl', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler']);

/** Command-line clients read their files on every run: nothing to restart for them. */
export const CLIENT_TOOLS: ReadonlySet<string> = new Set(['kubectl', 'etcdctl']);

export interface ComponentUse {
  component: string;
  flag: string;
  /** The file it reads, relative to the PKI folder. */
  file: string;
  /** Nodes where the component reads the file: that hold it and run it (empty: the catalog does not place it). */
  nodes: string[];
}

export interface Restart {
  component: string;
  nodes: string[];
  /** The changed files it reads. */
  files: string[];
}

/**
 * Who reads a certificate's files, directly (catalog `uses`): one entry per file a node reads (node
 * trees: each tree's copy of a shared file, not its source in _cluster/).
 */
export function certUses(cluster: Cluster, instances: Instances, cert: CertInstance): ComponentUse[] {
  return (cert.spec.uses ?? []).flatMap(({ component, flag, part }) => {
    const [file, placement] = part === 'key' ? [cert.keyPath, cert.spec.keyTo] : [cert.certPath, cert.spec.crtTo];
    const landed = landings(instances, file, placementNodes(cluster, placement, cert.node));
    if (!landed.length) return [{ component, flag, file, nodes: [] }];
    const controlPlane = new Set(cluster.nodes.filter((n) => n.role === 'controlplane').map((n) => n.name));
    const sent = CONTROL_PLANE_COMPONENTS.has(component) ? landed.filter((l) => controlPlane.has(l.node)) : landed;
    return [...new Set(sent.map((l) => l.file))].map((f) => ({ component, flag, file: f, nodes: sent.filter((l) => l.file === f).map((l) => l.node) }));
  });
}

/** Who reads a kubeconfig (catalog `uses`), on the node that holds this one. */
export function kubeconfigUses(cluster: Cluster, kc: KubeconfigInstance): ComponentUse[] {
  return (kc.spec.uses ?? []).map((u) => ({ ...u, file: kc.path, nodes: kubeconfigNodes(cluster, kc) }));
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
