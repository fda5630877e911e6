import type { Placement } from '../model/catalog.js';
import type { Cluster, ClusterNode } from '../model/cluster.js';
import type { CertInstance, Instances, KeyPairInstance, KubeconfigInstance } from '../model/instances.js';
import { bundleOf } from '../model/rotation.js';
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

/** One step of a rolling restart: the components of one node, restarted in this order. */
export interface NodeRestart {
  node: string;
  components: string[];
}

/** Components that only run on control planes; everything else runs wherever its files are. */
const CONTROL_PLANE = new Set(['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler']);
/** etcd first (the apiserver reads it), then the apiserver, then its clients. */
const ORDER = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kubelet', 'kube-proxy'];

const rankOf = (component: string) => (ORDER.includes(component) ? ORDER.indexOf(component) : ORDER.length);

/**
 * A restart list node by node, in the order to carry it out: control planes one at a time (so etcd
 * members and apiservers go down one at a time and quorum holds), then the workers; on each node etcd
 * first, then the apiserver, then its clients. Shared by renew, rotate-ca and distribute's --restart.
 */
export function rollingOrder(cluster: Cluster, restart: readonly Restart[]): NodeRestart[] {
  const rank = (n: string) => ['controlplane', 'worker', 'loadbalancer'].indexOf(cluster.nodes.find((x) => x.name === n)?.role ?? 'loadbalancer');
  const nodes = cluster.nodes.map((n) => n.name).sort((a, b) => rank(a) - rank(b));
  const role = new Map(cluster.nodes.map((n) => [n.name, n.role]));
  return nodes
    .map((node) => ({
      node,
      components: restart
        .filter((r) => r.nodes.includes(node) && (!CONTROL_PLANE.has(r.component) || role.get(node) === 'controlplane'))
        .map((r) => r.component)
        .sort((a, b) => rankOf(a) - rankOf(b)),
    }))
    .filter((s) => s.components.length > 0);
}

/** Who reads a key pair's files (the service-account keys), where they land. */
export function keyPairUses(cluster: Cluster, instances: Instances, kp: KeyPairInstance): ComponentUse[] {
  return (kp.spec.uses ?? []).flatMap(({ component, flag, part }) => {
    const [file, placement] = part === 'key' ? [kp.keyPath, kp.spec.keyTo] : [kp.pubPath, kp.spec.pubTo];
    const landed = landings(instances, file, placementNodes(cluster, placement, undefined));
    return [...new Set(landed.map((l) => l.file))].map((f) => ({ component, flag, file: f, nodes: landed.filter((l) => l.file === f).map((l) => l.node) }));
  });
}

/**
 * The components that read the files sent to one node (paths in the PKI folder), restarted in the
 * rolling order: what `distribute --restart` restarts. A CA's trust bundle (rotate-ca) is read by
 * whoever trusts the CA.
 */
export function restartForSent(cluster: Cluster, instances: Instances, node: string, sentFiles: readonly string[]): NodeRestart[] {
  const sent = new Set(sentFiles);
  const uses = [
    ...instances.certs.flatMap((c) => certUses(cluster, instances, c)),
    ...instances.keyPairs.flatMap((k) => keyPairUses(cluster, instances, k)),
    ...instances.kubeconfigs.flatMap((k) => kubeconfigUses(cluster, k)),
  ];
  const read = uses
    .filter((u) => u.nodes.includes(node) && (sent.has(u.file) || (u.file.endsWith('.crt') && sent.has(bundleOf(u.file)))))
    .map((u) => ({ ...u, nodes: [node] }));
  return rollingOrder(cluster, restartsFor(read).restart);
}
