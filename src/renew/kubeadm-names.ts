import type { CertInstance, Instances } from '../model/instances.js';

/**
 * The names `kubeadm certs renew` takes (cmd/kubeadm/app/cmd/phases/certs renew: the certificates of
 * certlist.go and the kubeconfig files), for profile kubeadm. A certificate name means every control
 * plane's (`master-1/apiserver` names one, as before); a `.conf` name means the client certificate
 * each such kubeconfig embeds (`master-1/admin.conf` names one node's), so its kubeconfig follows.
 */
export const KUBEADM_RENEW_NAMES = [
  'admin.conf',
  'super-admin.conf',
  'controller-manager.conf',
  'scheduler.conf',
  'apiserver',
  'apiserver-etcd-client',
  'apiserver-kubelet-client',
  'front-proxy-client',
  'etcd-healthcheck-client',
  'etcd-peer',
  'etcd-server',
] as const;

/** kubeadm's `all`: the same as --all. */
export const KUBEADM_ALL = 'all';

/** The certificates a kubeadm name stands for; null when it is not one of kubeadm's (or names nothing in this layout). */
export function kubeadmNameCerts(instances: Instances, name: string): CertInstance[] | null {
  if (!(KUBEADM_RENEW_NAMES as readonly string[]).includes(name)) return null;
  const conf = /^(.+)\.conf$/.exec(name)?.[1];
  const certNames = conf ? new Set(instances.kubeconfigs.filter((k) => k.spec.id === conf).map((k) => k.certName)) : null;
  const found = instances.certs.filter((c) => (certNames ? certNames.has(c.name) : c.spec.id === name));
  return found.length ? found : null;
}
