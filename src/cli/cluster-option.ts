import { existsSync } from 'node:fs';
import { defaultCluster, loadClusterFile } from '../cluster/load.js';
import type { Cluster } from '../model/cluster.js';

export const DEFAULT_CONFIG_FILE = 'cluster.yaml';

/**
 * --config FILE, else ./cluster.yaml when there is one (what `kube-pki init` wrote), else the
 * built-in lab.
 */
export async function loadClusterOption(config: string | undefined): Promise<Cluster> {
  if (config) return loadClusterFile(config);
  if (existsSync(DEFAULT_CONFIG_FILE)) return loadClusterFile(DEFAULT_CONFIG_FILE);
  return defaultCluster();
}
