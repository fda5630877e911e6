import type { Cluster } from '../model/cluster.js';
import { UserError } from '../errors.js';
import { hardwayCatalog } from './hardway.js';
import { kubeadmCatalog } from './kubeadm.js';
import type { Catalog } from '../model/catalog.js';

/** The tables of the cluster's profile (and, for kubeadm, of its `kubeadmLayout`). */
export function catalogFor(cluster: Pick<Cluster, 'profile' | 'kubeadmLayout'>): Catalog {
  if (cluster.profile === 'hardway') return hardwayCatalog;
  if (cluster.profile === 'kubeadm') return kubeadmCatalog(cluster.kubeadmLayout);
  throw new UserError(`profile ${JSON.stringify(cluster.profile)} is not available yet`);
}
