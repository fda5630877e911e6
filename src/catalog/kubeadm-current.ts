import type { BindingSpec, CertSpec, KubeconfigSpec } from '../model/catalog.js';
import {
  CONTROL,
  apiserverEtcdClient,
  apiserverKubeletClient,
  apiserverRow,
  caRows,
  etcdHealthcheckClient,
  etcdPeer,
  etcdServer,
  frontProxyClient,
  kubeconfig,
  kubeconfigClient,
  kubeconfigFlags,
  kubeletClient,
  kubeletKubeconfig,
  node,
  perNodeKubeconfigClient,
  viaOwnApiserver,
} from './kubeadm-rows.js';

// `kubeadmLayout: current` (the default): what kubeadm v1.29 and later make, read from v1.37's
// cmd/kubeadm (phases/certs/certlist.go, phases/kubeconfig/kubeconfig.go, constants.go).

/** constants.ClusterAdminsGroupAndClusterRoleBinding: admin.conf's group and the binding's name. */
export const CLUSTER_ADMINS = 'kubeadm:cluster-admins';
const MANIFESTS = '`kube-pki manifests`';
const ADMIN_CAUTION = `admin.conf is cluster-admin only once the ClusterRoleBinding ${CLUSTER_ADMINS} exists: apply ${MANIFESTS} once, with super-admin.conf (kubeadm init does the same).`;
const SUPER_ADMIN_CAUTION =
  'super-admin.conf bypasses RBAC and cannot be revoked: once the bindings are applied, move it off the node and lock it away ' +
  '(kubeadm init leaves it on the first control plane only; kubeadm join makes none).';

export const currentCerts: CertSpec[] = [
  ...caRows(),
  apiserverRow,
  apiserverKubeletClient(
    [],
    'No group, as kubeadm makes it: the ClusterRoleBinding kubeadm:apiserver-kubelet-client gives the user kube-apiserver-kubelet-client ' +
      'the ClusterRole system:kubelet-api-admin, which kubelets ask the apiserver about (webhook authorization) before logs, exec or port-forward.',
  ),
  apiserverEtcdClient,
  frontProxyClient,
  etcdServer((n) => node(n).name, 'CN=<node name>, as kubeadm sets it (certlist.go setCommonNameToNodeName); informational, clients check the SANs.'),
  etcdPeer((n) => node(n).name, 'CN=<node name>, as kubeadm sets it (certlist.go setCommonNameToNodeName); informational.'),
  etcdHealthcheckClient,
  perNodeKubeconfigClient('admin', 'kubernetes-admin', [CLUSTER_ADMINS], {
    purpose: 'This control plane\'s administrator certificate, embedded in its admin.conf for kubectl (kubeadm init and join make one per control plane).',
    subject:
      `O=${CLUSTER_ADMINS} is an ordinary group that the ClusterRoleBinding ${CLUSTER_ADMINS} binds to cluster-admin: unlike system:masters, ` +
      'RBAC can take it away (delete the binding), so a leaked admin.conf can be cut off. CN=kubernetes-admin is the user name.',
    caution: ADMIN_CAUTION,
  }),
  kubeconfigClient('super-admin', 'kubernetes-super-admin', ['system:masters'], {
    purpose:
      'The break-glass administrator of kubeadm init, embedded in super-admin.conf on the first control plane only: it applies the ' +
      `binding admin.conf needs (${MANIFESTS}) and gets in when RBAC itself is broken.`,
    subject: 'O=system:masters bypasses RBAC and every authorizer: no binding grants it and none can take it away; only its expiry ends it.',
    caution: SUPER_ADMIN_CAUTION,
  }),
  perNodeKubeconfigClient('controller-manager', 'system:kube-controller-manager', [], {
    purpose: 'This control plane\'s controller manager identity towards its own apiserver, embedded in its controller-manager.conf.',
    subject: 'CN=system:kube-controller-manager is the user the built-in RBAC role system:kube-controller-manager is bound to.',
  }),
  perNodeKubeconfigClient('scheduler', 'system:kube-scheduler', [], {
    purpose: 'This control plane\'s scheduler identity towards its own apiserver, embedded in its scheduler.conf.',
    subject: 'CN=system:kube-scheduler is the user the built-in RBAC role system:kube-scheduler is bound to.',
  }),
  kubeletClient,
];

/** A kubeconfig of each control plane's own, with its own client certificate (kubeadm join makes them so). */
const perControlPlane = (spec: KubeconfigSpec, server?: KubeconfigSpec['server'], caution?: string): KubeconfigSpec => ({
  ...spec,
  ...(caution ? { explain: { ...spec.explain, caution } } : {}),
  scope: 'node',
  roles: CONTROL,
  to: 'self',
  ...(server ? { server } : {}),
});

export const currentKubeconfigs: KubeconfigSpec[] = [
  perControlPlane(kubeconfig('admin', 'admin', 'default-admin', [{ component: 'kubectl', flag: '--kubeconfig' }], 'kubectl as cluster administrator, through the cluster-admins binding.'), undefined, ADMIN_CAUTION),
  {
    ...perControlPlane(kubeconfig('super-admin', 'super-admin', 'default-super-admin', [], 'The break-glass administrator (system:masters), on the first control plane only.'), undefined, SUPER_ADMIN_CAUTION),
    firstOnly: true,
  },
  // kubeadm's LocalAPIEndpoint: each node's components talk to their own apiserver, not the load balancer.
  perControlPlane(
    kubeconfig('controller-manager', 'controller-manager', 'default-controller-manager', kubeconfigFlags('kube-controller-manager'), 'The controller manager\'s connection to its own node\'s apiserver.'),
    viaOwnApiserver,
  ),
  perControlPlane(kubeconfig('scheduler', 'scheduler', 'default-scheduler', kubeconfigFlags('kube-scheduler'), 'The scheduler\'s connection to its own node\'s apiserver.'), viaOwnApiserver),
  // kubeadm init and join point a control plane's kubelet at its own apiserver (cmd/phases/init/kubeconfig.go
  // unsets the ControlPlaneEndpoint for kubelet.conf); a worker's goes through the load balancer.
  { ...kubeletKubeconfig, server: (c, n) => (node(n).role === 'controlplane' ? viaOwnApiserver(c, n) : kubeletKubeconfig.server(c, n)) },
];

/** What kubeadm init creates in the cluster for these certificates (kubeconfig.go, bootstraptoken/node/tlsbootstrap.go). */
export const currentBindings: BindingSpec[] = [
  {
    name: CLUSTER_ADMINS,
    clusterRole: 'cluster-admin',
    subject: { kind: 'Group', name: CLUSTER_ADMINS },
    why: `admin.conf (O=${CLUSTER_ADMINS}) is cluster-admin through this binding; apply it with super-admin.conf.`,
  },
  {
    name: 'kubeadm:apiserver-kubelet-client',
    clusterRole: 'system:kubelet-api-admin',
    subject: { kind: 'User', name: 'kube-apiserver-kubelet-client' },
    why: 'apiserver-kubelet-client has no group: kubelets allow the apiserver logs, exec and port-forward through this binding.',
  },
];
