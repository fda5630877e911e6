import { certUses, kubeconfigUses, restartsFor, rollingOrder, type ComponentUse, type NodeRestart } from '../catalog/restart.js';
import type { Cluster } from '../model/cluster.js';
import type { Instances } from '../model/instances.js';
import { isSigningFlag, type RotationPhase } from '../model/rotation.js';

export type { NodeRestart } from '../catalog/restart.js';

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
  return rollingOrder(cluster, restartsFor(uses).restart);
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
  return rollingOrder(cluster, restartsFor(uses).restart);
}
