import type { Profile } from '../model/cluster.js';
import { UserError } from '../errors.js';
import { hardwayCatalog } from './hardway.js';
import { kubeadmCatalog } from './kubeadm.js';
import type { Catalog } from '../model/catalog.js';

export function catalogFor(profile: Profile): Catalog {
  if (profile === 'hardway') return hardwayCatalog;
  if (profile === 'kubeadm') return kubeadmCatalog;
  throw new UserError(`profile ${JSON.stringify(profile)} is not available yet`);
}
