import type { Placement } from '../model/catalog.js';
import type { Cluster, ClusterNode } from '../model/cluster.js';
import type { CertInstance, Instances, KubeconfigInstance } from '../model/instances.js';
import { kubeconfigNodes, landings, placementNodes } from './placement.js';

/**
 * The nodes each component runs on: those that hold its own credentials, a private key or a kubeconfig
 * it reads (kube-apiserver's key is on the control planes, a kubelet's kubeconfig on its node). A file
 * it trusts that also lands elsewhere (ca.crt on a worker) is read there by others, never by it.
 */
const RUNS_ON = new WeakMap<Instances, Map<string, Set<string>>>();

export function componentNodes(cluster: Cluster, instances: Instances): Map<string, Set<string>> {
  const cached = RUNS_ON.get(instances);
  if (cached) return cached;
  const runs = new Map<string, Set<string>>();
  const add = (component: string, nodes: readonly string[]) => {
    const set = runs.get(component) ?? new Set<string>();
    for (const n of nodes) set.add(n);
    runs.set(component, set);
  };
  const keyNodes = (file: string, placement: Placement | undefined, owner: ClusterNode | undefined) =>
    landings(instances, file, placementNodes(cluster, placement, owner)).map((l) => l.node);
  for (const cert of instances.certs)
    for (const u of cert.spec.uses ?? []) if (u.part === 'key') add(u.component, keyNodes(cert.keyPath, cert.spec.keyTo, cert.node));
  for (const kp of instances.keyPairs) for (const u of kp.spec.uses ?? []) if (u.part === 'key') add(u.component, keyNodes(kp.keyPath, kp.spec.keyTo, undefined));
  for (const kc of instances.kubeconfigs) for (const u of kc.spec.uses ?? []) add(u.component, kubeconfigNodes(cluster, kc));
  RUNS_ON.set(instances, runs);
  return runs;
}

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
    const runs = componentNodes(cluster, instances).get(component);
    const sent = runs ? landed.filter((l) => runs.has(l.node)) : landed;
    if (!sent.length) return [];
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
