import type { Profile } from '../cluster/load.js';
import { UserError } from '../errors.js';
import { hardwayCatalog } from './hardway.js';
import type { Catalog } from './types.js';

export function catalogFor(profile: Profile): Catalog {
  if (profile === 'hardway') return hardwayCatalog;
  throw new UserError(`profile ${JSON.stringify(profile)} is not available yet`);
}

export type { Catalog, CertSpec, CertKind, KubeconfigSpec, KeyPairSpec } from './types.js';
