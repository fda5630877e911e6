import { catalogFor } from './catalog/index.js';
import type { Cluster } from './model/cluster.js';
import { inspectDisk } from './inspect/disk.js';
import { resolveInstances } from './plan/instances.js';
import type { Instances } from './model/instances.js';
import { planPki, type PlanOptions } from './plan/plan.js';
import type { Plan } from './model/steps.js';

/** The instances of a cluster's catalog: every certificate, key pair and kubeconfig it needs. */
export function instancesFor(cluster: Cluster): Instances {
  return resolveInstances(catalogFor(cluster), cluster);
}

/** The plan for an output folder as it is now (reads the folder, writes nothing). */
export async function planFor(
  cluster: Cluster,
  outDir: string,
  options: PlanOptions = {},
  instances: Instances = instancesFor(cluster),
): Promise<{ plan: Plan; instances: Instances }> {
  const disk = await inspectDisk(outDir, instances);
  return { plan: planPki(cluster.profile, instances, disk, options), instances };
}

/** The plan for an empty folder: what `script` prints. */
export function freshPlan(cluster: Cluster): Plan {
  return planPki(cluster.profile, instancesFor(cluster), undefined, { certifyTokenRoot: true });
}

/** Every file the PKI of these instances holds, relative to its folder: what marks a folder as kube-pki's. */
export function ownPaths(instances: Instances): string[] {
  return [
    ...(instances.root ? [instances.root.certPath, instances.root.keyPath] : []),
    ...instances.certs.flatMap((c) => [c.certPath, c.keyPath]),
    ...instances.keyPairs.flatMap((k) => [k.keyPath, k.pubPath]),
    ...instances.kubeconfigs.map((k) => k.path),
    ...instances.copies.flatMap((c) => c.files.map((f) => f.to)),
    ...(instances.encryption ? [instances.encryption.path, ...instances.encryption.copies.map((c) => c.path)] : []),
  ];
}
