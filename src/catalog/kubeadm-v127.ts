import type { CertSpec, KubeconfigSpec } from '../model/catalog.js';
import {
  apiserverEtcdClient,
  apiserverKubeletClient,
  apiserverRow,
  caRows,
  etcdHealthcheckClient,
  etcdPeer,
  etcdServer,
  fixed,
  frontProxyClient,
  kubeconfig,
  kubeconfigClient,
  kubeconfigFlags,
  kubeletClient,
  kubeletKubeconfig,
} from './kubeadm-rows.js';

// `kubeadmLayout: v1.27`: the layout of the Kubernetes "PKI certificates and requirements" page as of
// kubeadm v1.27 (cert-matrix.md, profile "kubeadm"), kept for clusters made with it: admin.conf in
// system:masters, one shared client certificate per kubeconfig, every kubeconfig to the load balancer.

export const v127Certs: CertSpec[] = [
  ...caRows(),
  apiserverRow,
  apiserverKubeletClient(['system:masters'], 'O=system:masters: kubelets authorize the apiserver\'s calls through the cluster-admin group.'),
  apiserverEtcdClient,
  frontProxyClient,
  etcdServer(fixed('kube-etcd'), 'CN=kube-etcd is informational; clients check the SANs.'),
  etcdPeer(fixed('kube-etcd-peer'), 'CN=kube-etcd-peer is informational.'),
  etcdHealthcheckClient,
  kubeconfigClient('admin', 'kubernetes-admin', ['system:masters'], {
    purpose: 'The administrator\'s client certificate, embedded in admin.conf for kubectl.',
    subject: 'O=system:masters is the group bound to cluster-admin; CN=kubernetes-admin is the user name.',
  }),
  kubeconfigClient('controller-manager', 'system:kube-controller-manager', [], {
    purpose: 'The controller manager\'s identity towards the apiserver, embedded in controller-manager.conf.',
    subject: 'CN=system:kube-controller-manager is the user the built-in RBAC role system:kube-controller-manager is bound to.',
  }),
  kubeconfigClient('scheduler', 'system:kube-scheduler', [], {
    purpose: 'The scheduler\'s identity towards the apiserver, embedded in scheduler.conf.',
    subject: 'CN=system:kube-scheduler is the user the built-in RBAC role system:kube-scheduler is bound to.',
  }),
  kubeletClient,
];

export const v127Kubeconfigs: KubeconfigSpec[] = [
  kubeconfig('admin', 'admin', 'default-admin', [{ component: 'kubectl', flag: '--kubeconfig' }], 'kubectl as cluster administrator.'),
  kubeconfig('controller-manager', 'controller-manager', 'default-controller-manager', kubeconfigFlags('kube-controller-manager'), 'The controller manager\'s connection to the apiserver.'),
  kubeconfig('scheduler', 'scheduler', 'default-scheduler', kubeconfigFlags('kube-scheduler'), 'The scheduler\'s connection to the apiserver.'),
  kubeletKubeconfig,
];
