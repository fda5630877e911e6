import type { Profile } from '../cluster/load.js';
import { UserError } from '../errors.js';
import { hardwayCatalog } from './hardway.js';
import { kubeadmCatalog } from './kubeadm.js';
import type { Catalog } from './types.js';

export function catalogFor(profile: Profile): Catalog {
  if (profile === 'hardway') return hardwayCatalog;
  if (profile === 'kubeadm') return kubeadmCatalog;
  throw new UserError(`profile ${JSON.stringify(profile)} is not available yet`);
}

export type { Catalog, CertSpec, CertKind, KubeconfigSpec, KeyPairSpec, Layout } from './types.js';
