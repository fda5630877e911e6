import { existsSync } from 'node:fs';
import { defaultCluster, loadClusterFile } from '../cluster/load.js';
import type { Cluster } from '../model/cluster.js';
import { instancesFor } from '../pki.js';

export const DEFAULT_CONFIG_FILE = 'cluster.yaml';

/**
 * --config FILE, else ./cluster.yaml when there is one (what `kube-pki init` wrote), else the
 * built-in lab.
 */
export async function loadClusterOption(config: string | undefined): Promise<Cluster> {
  const cluster = config ? await loadClusterFile(config) : existsSync(DEFAULT_CONFIG_FILE) ? await loadClusterFile(DEFAULT_CONFIG_FILE) : defaultCluster();
  // Node names against the files kube-pki keeps (plan/instances.ts): refused here, for every command alike.
  instancesFor(cluster);
  return cluster;
}
