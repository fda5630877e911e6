import type { BindingSpec } from '../model/catalog.js';
import type { Cluster, ClusterNode } from '../model/cluster.js';

// Kubelet TLS bootstrap (docs/bootstrap.md): the workers that join with a bootstrap token and have the
// cluster sign their certificates, and the names, groups and bindings that takes. Data only.

/** The workers that join by TLS bootstrap (resolved per node from `bootstrap` / `kubeletBootstrap`). */
export const bootstrapWorkers = (cluster: Cluster): ClusterNode[] => cluster.nodes.filter((n) => n.bootstrap === true);

export const isBootstrapNode = (node: ClusterNode | undefined): boolean => node?.bootstrap === true;

export const usesBootstrap = (cluster: Cluster): boolean => bootstrapWorkers(cluster).length > 0;

/** The bootstrap kubeconfig in the PKI folder (one for every bootstrap worker: the newest token's). */
export const BOOTSTRAP_KUBECONFIG = 'bootstrap-kubeconfig';

/** Its name on a node: the hard way's (mmumshad's chapter) or kubeadm's, in the node's folder. */
export const bootstrapKubeconfigOnNode = (cluster: Cluster): string => (cluster.profile === 'kubeadm' ? 'bootstrap-kubelet.conf' : 'bootstrap-kubeconfig');

/**
 * Where a node's kubelet writes what it obtains: its kubeconfig and its certificates, below its root
 * folder (`kubeletDir`, default /var/lib/kubelet), in both profiles: kubeadm's /etc/kubernetes/kubelet.conf
 * would sit in the folder distribute fills, where `check --remote` reports files it did not send.
 */
export const kubeletOwnFiles = (node: ClusterNode) => {
  const root = node.kubeletDir ?? '/var/lib/kubelet';
  return {
    kubeconfig: `${root}/kubeconfig`,
    certDir: `${root}/pki`,
    clientCert: `${root}/pki/kubelet-client-current.pem`,
    servingCert: `${root}/pki/kubelet-server-current.pem`,
  };
};

/**
 * The group every kube-pki token authenticates in besides system:bootstrappers (auth-extra-groups):
 * the bindings below name it, so a bootstrap token made by another tool gets none of them.
 */
export const TOKEN_GROUP = 'system:bootstrappers:kube-pki:default-node-token';

/** The ClusterRoleBindings kubeadm init makes for TLS bootstrap (phases/bootstraptoken/node), under kube-pki's names. */
export const BOOTSTRAP_BINDINGS: readonly BindingSpec[] = [
  {
    name: 'kube-pki:kubelet-bootstrap',
    clusterRole: 'system:node-bootstrapper',
    subject: { kind: 'Group', name: TOKEN_GROUP },
    why: 'A kubelet with a bootstrap token may create and read its CertificateSigningRequest (kubeadm:kubelet-bootstrap).',
  },
  {
    name: 'kube-pki:node-autoapprove-bootstrap',
    clusterRole: 'system:certificates.k8s.io:certificatesigningrequests:nodeclient',
    subject: { kind: 'Group', name: TOKEN_GROUP },
    why: "The controller manager approves a bootstrapping kubelet's client CSR (kubeadm:node-autoapprove-bootstrap).",
  },
  {
    name: 'kube-pki:node-autoapprove-certificate-rotation',
    clusterRole: 'system:certificates.k8s.io:certificatesigningrequests:selfnodeclient',
    subject: { kind: 'Group', name: 'system:nodes' },
    why: "The controller manager approves a node's renewal of its own client certificate (kubeadm:node-autoapprove-certificate-rotation).",
  },
];

/** Settings (not files) a component needs for TLS bootstrap; `node`: one worker's kubelet. */
export interface ComponentSetting {
  flag?: string;
  /** A KubeletConfiguration field instead of a flag. */
  configField?: string;
  value: string;
  node?: string;
}

/**
 * What the components need beyond the certificate files: the signing duration always (the controller
 * manager signs kubelet certificates as long as gen's leaves last), the bootstrap switches when a worker
 * bootstraps.
 */
export function componentSettings(cluster: Cluster): Map<string, ComponentSetting[]> {
  const settings = new Map<string, ComponentSetting[]>([
    ['kube-controller-manager', [{ flag: '--cluster-signing-duration', value: `${cluster.validityDays.leaf * 24}h0m0s` }]],
  ]);
  const workers = bootstrapWorkers(cluster);
  if (!workers.length) return settings;
  settings.set('kube-apiserver', [{ flag: '--enable-bootstrap-token-auth', value: 'true' }]);
  // bootstrapsigner signs the cluster-info ConfigMap with tokens; tokencleaner removes expired token Secrets.
  settings.get('kube-controller-manager')!.push({ flag: '--controllers', value: '*,bootstrapsigner,tokencleaner' });
  settings.set(
    'kubelet',
    workers.flatMap((n) => [
      { flag: '--kubeconfig', value: kubeletOwnFiles(n).kubeconfig, node: n.name },
      { flag: '--cert-dir', value: kubeletOwnFiles(n).certDir, node: n.name },
      { configField: 'rotateCertificates', value: 'true', node: n.name },
      { configField: 'serverTLSBootstrap', value: 'true', node: n.name },
    ]),
  );
  return settings;
}
