import type { Catalog } from '../model/catalog.js';
import type { KubeadmLayout } from '../model/cluster.js';
import { currentBindings, currentCerts, currentKubeconfigs } from './kubeadm-current.js';
import { saKeyPair } from './kubeadm-rows.js';
import { v127Certs, v127Kubeconfigs } from './kubeadm-v127.js';

// Profile kubeadm: the tables of one of kubeadm's layouts (description field `kubeadmLayout`).

const catalog = (kubeadmLayout: KubeadmLayout, rest: Pick<Catalog, 'certs' | 'kubeconfigs' | 'bindings'>): Catalog => ({
  profile: 'kubeadm',
  kubeadmLayout,
  layout: 'node-trees',
  keyPairs: [saKeyPair],
  ...rest,
});

const CATALOGS: Record<KubeadmLayout, Catalog> = {
  current: catalog('current', { certs: currentCerts, kubeconfigs: currentKubeconfigs, bindings: currentBindings }),
  'v1.27': catalog('v1.27', { certs: v127Certs, kubeconfigs: v127Kubeconfigs, bindings: [] }),
};

export function kubeadmCatalog(layout: KubeadmLayout = 'current'): Catalog {
  return CATALOGS[layout];
}
