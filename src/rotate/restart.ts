import { certUses, kubeconfigUses, restartsFor, type ComponentUse } from '../catalog/restart.js';
import type { Cluster } from '../model/cluster.js';
import type { Instances } from '../model/instances.js';
import { isSigningFlag, type RotationPhase } from '../model/rotation.js';

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
 * Who must restart after a phase, node by node: control planes one at a time (so etcd members and
 * apiservers go down one at a time and quorum holds), then the workers. From the catalog's `uses`,
 * as renew: start and finish change what the trust flags name (bundle ↔ ca.crt) and the kubeconfigs;
 * reissue changes the signing pair, every leaf of the CA and the kubeconfigs.
 */
export function rollingRestart(cluster: Cluster, instances: Instances, caNames: readonly string[], phase: RotationPhase): NodeRestart[] {
  const uses: ComponentUse[] = [];
  for (const name of caNames) {
    const ca = instances.certs.find((c) => c.name === name)!;
    // start/finish: the trust flags name another file (the bundle, then ca.crt again); reissue: the signing pair changes.
    uses.push(...certUses(cluster, instances, ca).filter((u) => (phase === 'reissue') === isSigningFlag(u.flag)));
    if (phase === 'reissue') for (const leaf of instances.certs.filter((c) => c.caName === name)) uses.push(...certUses(cluster, instances, leaf));
    for (const kc of instances.kubeconfigs.filter((k) => k.caName === name)) uses.push(...kubeconfigUses(cluster, kc));
  }
  return byNode(cluster, uses);
}

/**
 * renew-ca: the CA's certificate changes in every place that holds it (trust and signing flags alike)
 * and in the kubeconfigs that embed it; its leaves do not. The one place the list is made, for the
 * printed restarts and for whatever restarts them (a later --restart).
 */
export function renewCaRestart(cluster: Cluster, instances: Instances, caNames: readonly string[]): NodeRestart[] {
  const uses: ComponentUse[] = [];
  for (const name of caNames) {
    const ca = instances.certs.find((c) => c.name === name);
    if (!ca) continue; // the root: on no node
    uses.push(...certUses(cluster, instances, ca));
    for (const kc of instances.kubeconfigs.filter((k) => k.caName === name)) uses.push(...kubeconfigUses(cluster, kc));
  }
  return byNode(cluster, uses);
}

/** The components of these uses, node by node: control planes first, one at a time, then the workers. */
function byNode(cluster: Cluster, uses: ComponentUse[]): NodeRestart[] {
  const { restart } = restartsFor(uses);
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

