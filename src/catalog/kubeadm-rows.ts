import type { Cluster, ClusterNode } from '../model/cluster.js';
import type { CertSpec, KeyPairSpec, KubeconfigSpec, KubeconfigUse } from '../model/catalog.js';
import { addressesOf, https, kubernetesServiceNames, nodeNameAndAddress } from './sans.js';

// The rows both kubeadm layouts share (kubeadm.ts puts a layout's tables together), and the helpers
// the layouts' own rows are made with. Every `file` is a path inside a node's /etc/kubernetes; the
// catalog's layout puts each node's files under OUT/<node>/ and the shared sources under OUT/_cluster/.

export const fixed = (value: string) => () => value;
export const CONTROL = ['controlplane'] as const;
export const ALL_NODES = ['controlplane', 'worker'] as const;
export const node = (n: ClusterNode | undefined): ClusterNode => {
  if (!n) throw new Error('catalog: a per-node entry was resolved without its node');
  return n;
};

/**
 * etcd's server and peer certificates: where clients and peers reach this member, as kubeadm's
 * pkiutil getAltNames (node name, localhost; the node's address, 127.0.0.1, ::1). kubeadm checks
 * existing etcd certificates for these in every release, so both layouts carry ::1.
 */
export const etcdSans = (_c: Cluster, n: ClusterNode | undefined) => [...nodeNameAndAddress(n), 'localhost', '127.0.0.1', '::1'];

export const ca = (id: string, file: string, cn: string, rest: Pick<CertSpec, 'uses' | 'explain' | 'crtTo'>): CertSpec => ({
  id,
  scope: 'cluster',
  file: fixed(file),
  cn: fixed(cn),
  kind: 'ca',
  keyTo: CONTROL,
  crtTo: CONTROL,
  ...rest,
});

/** A client certificate every control plane shares (generated once, copied into each tree). */
export const sharedClient = (spec: Omit<CertSpec, 'scope' | 'file' | 'kind' | 'cn' | 'crtTo' | 'keyTo'> & { file: string; cn: string }): CertSpec => ({
  ...spec,
  scope: 'cluster',
  file: fixed(spec.file),
  cn: fixed(spec.cn),
  kind: 'client',
  crtTo: CONTROL,
  keyTo: CONTROL,
});

/** A client certificate that only lives inside a kubeconfig: no node receives it as a file. */
export const kubeconfigClient = (id: string, cn: string, o: string[], explain: CertSpec['explain']): CertSpec => ({
  id,
  scope: 'cluster',
  file: fixed(`kubeconfig/${id}`),
  ca: 'ca',
  cn: fixed(cn),
  ...(o.length ? { o } : {}),
  kind: 'client',
  explain,
});

/** The same, one per control plane (`kubeconfig/<id>-<node>`), as kubeadm init and join make each node's own. */
export const perNodeKubeconfigClient = (id: string, cn: string, o: string[], explain: CertSpec['explain']): CertSpec => ({
  ...kubeconfigClient(id, cn, o, explain),
  scope: 'node',
  roles: CONTROL,
  file: (n) => `kubeconfig/${id}-${node(n).name}`,
});

/** The three CAs, as kubeadm's certlist.go makes them (CNs of the documentation page). */
export const caRows = (): CertSpec[] => [
  ca('ca', 'pki/ca', 'kubernetes-ca', {
    crtTo: ALL_NODES,
    uses: [
      { component: 'kube-apiserver', flag: '--client-ca-file', part: 'crt' },
      { component: 'kube-controller-manager', flag: '--client-ca-file', part: 'crt' },
      { component: 'kube-controller-manager', flag: '--root-ca-file', part: 'crt' },
      { component: 'kube-controller-manager', flag: '--cluster-signing-cert-file', part: 'crt' },
      { component: 'kube-controller-manager', flag: '--cluster-signing-key-file', part: 'key' },
      { component: 'kubelet', flag: '--client-ca-file', part: 'crt' },
    ],
    explain: {
      purpose:
        'The Kubernetes CA: it signs the apiserver\'s serving certificate and every client certificate of the ' +
        'cluster (admin, kubelets, controller manager, scheduler, the apiserver towards kubelets). The apiserver ' +
        'and kubelets trust client certificates it signed; the controller manager signs kubelet certificates ' +
        'with its key, so the key stays on the control plane and every node gets the certificate.',
      subject: 'CN=kubernetes-ca only names the CA; nothing authorizes on it.',
    },
  }),
  ca('etcd-ca', 'pki/etcd/ca', 'etcd-ca', {
    uses: [
      { component: 'kube-apiserver', flag: '--etcd-cafile', part: 'crt' },
      { component: 'etcd', flag: '--trusted-ca-file', part: 'crt' },
      { component: 'etcd', flag: '--peer-trusted-ca-file', part: 'crt' },
      { component: 'etcdctl', flag: '--cacert', part: 'crt' },
    ],
    explain: {
      purpose:
        'etcd\'s own CA: it signs etcd\'s serving and peer certificates and the clients allowed into etcd (the ' +
        'apiserver and the health check). A separate CA keeps a Kubernetes client certificate from opening etcd.',
      subject: 'CN=etcd-ca only names the CA.',
    },
  }),
  ca('front-proxy-ca', 'pki/front-proxy-ca', 'kubernetes-front-proxy-ca', {
    uses: [
      { component: 'kube-apiserver', flag: '--requestheader-client-ca-file', part: 'crt' },
      { component: 'kube-controller-manager', flag: '--requestheader-client-ca-file', part: 'crt' },
    ],
    explain: {
      purpose:
        'The CA of the aggregation layer: the apiserver proxies requests to extension apiservers with the ' +
        'front-proxy-client certificate, and they trust the user names in its request headers because this CA signed it.',
      subject: 'CN=kubernetes-front-proxy-ca only names the CA.',
    },
  }),
];

/** This control plane's apiserver serving certificate (kubeadm's GetAPIServerAltNames). */
export const apiserverRow: CertSpec = {
  id: 'apiserver',
  scope: 'node',
  roles: CONTROL,
  file: fixed('pki/apiserver'),
  ca: 'ca',
  cn: fixed('kube-apiserver'),
  kind: 'server',
  sans: (c, n) => [
    ...nodeNameAndAddress(node(n)),
    'localhost',
    '127.0.0.1',
    c.apiServer.endpoint,
    ...addressesOf(c, 'loadbalancer'),
    c.serviceIP,
    ...kubernetesServiceNames(c, true),
    ...c.apiServer.extraSANs,
  ],
  crtTo: 'self',
  keyTo: 'self',
  uses: [
    { component: 'kube-apiserver', flag: '--tls-cert-file', part: 'crt' },
    { component: 'kube-apiserver', flag: '--tls-private-key-file', part: 'key' },
  ],
  explain: {
    purpose: 'This control plane\'s apiserver serving certificate: kubectl, kubelets, pods and the other components check it.',
    subject: 'CN=kube-apiserver is informational; clients check the SANs.',
    sans:
      'The node\'s name and address (and localhost, 127.0.0.1) for clients on or near the node; the load ' +
      'balancer endpoint for everyone else; the first service IP and kubernetes, kubernetes.default, … ' +
      'kubernetes.default.svc.<clusterDomain> for pods using the "kubernetes" service; apiServer.extraSANs for any other name.',
  },
};

/** The apiserver towards kubelets; its groups (and so what kubelets let it do) differ between the layouts. */
export const apiserverKubeletClient = (o: string[], subject: string): CertSpec =>
  sharedClient({
  id: 'apiserver-kubelet-client',
  file: 'pki/apiserver-kubelet-client',
  ca: 'ca',
  cn: 'kube-apiserver-kubelet-client',
  ...(o.length ? { o } : {}),
  uses: [
    { component: 'kube-apiserver', flag: '--kubelet-client-certificate', part: 'crt' },
    { component: 'kube-apiserver', flag: '--kubelet-client-key', part: 'key' },
  ],
  explain: {
    purpose: 'The apiserver\'s client certificate towards kubelets (logs, exec, port-forward, metrics).',
    subject,
  },
});

export const apiserverEtcdClient: CertSpec = sharedClient({
  id: 'apiserver-etcd-client',
  file: 'pki/apiserver-etcd-client',
  ca: 'etcd-ca',
  cn: 'kube-apiserver-etcd-client',
  o: ['system:masters'],
  uses: [
    { component: 'kube-apiserver', flag: '--etcd-certfile', part: 'crt' },
    { component: 'kube-apiserver', flag: '--etcd-keyfile', part: 'key' },
  ],
  explain: {
    purpose: 'The apiserver\'s client certificate towards etcd (signed by etcd-ca, which etcd trusts for clients).',
    subject: 'etcd does not authorize on the name when its auth is off; O=system:masters is what the documentation sets.',
  },
});

export const frontProxyClient: CertSpec = sharedClient({
  id: 'front-proxy-client',
  file: 'pki/front-proxy-client',
  ca: 'front-proxy-ca',
  cn: 'front-proxy-client',
  uses: [
    { component: 'kube-apiserver', flag: '--proxy-client-cert-file', part: 'crt' },
    { component: 'kube-apiserver', flag: '--proxy-client-key-file', part: 'key' },
  ],
  explain: {
    purpose: 'The apiserver\'s client certificate when it proxies requests to extension apiservers (aggregation layer).',
    subject: 'CN=front-proxy-client: extension apiservers may restrict the allowed names (--requestheader-allowed-names).',
  },
});

/** An etcd member's serving certificate; `cn`: the documentation's kube-etcd or kubeadm's node name. */
export const etcdServer = (cn: CertSpec['cn'], subject: string): CertSpec => ({
  id: 'etcd-server',
  scope: 'node',
  roles: CONTROL,
  file: fixed('pki/etcd/server'),
  ca: 'etcd-ca',
  cn,
  kind: 'server-client',
  sans: etcdSans,
  crtTo: 'self',
  keyTo: 'self',
  uses: [
    { component: 'etcd', flag: '--cert-file', part: 'crt' },
    { component: 'etcd', flag: '--key-file', part: 'key' },
  ],
  explain: {
    purpose: 'This member\'s etcd serving certificate for clients (the apiserver, etcdctl).',
    subject,
    sans: 'The node\'s name and address, localhost, 127.0.0.1 and ::1: where clients connect to this member.',
  },
});

/** An etcd member's peer certificate; `cn` as for etcdServer. */
export const etcdPeer = (cn: CertSpec['cn'], subject: string): CertSpec => ({
  id: 'etcd-peer',
  scope: 'node',
  roles: CONTROL,
  file: fixed('pki/etcd/peer'),
  ca: 'etcd-ca',
  cn,
  kind: 'server-client',
  sans: etcdSans,
  crtTo: 'self',
  keyTo: 'self',
  uses: [
    { component: 'etcd', flag: '--peer-cert-file', part: 'crt' },
    { component: 'etcd', flag: '--peer-key-file', part: 'key' },
  ],
  explain: {
    purpose: 'This member\'s certificate towards the other etcd members: it serves peer connections and opens them (server and client).',
    subject,
    sans:
      'The node\'s name and address, localhost, 127.0.0.1 and ::1: with --peer-client-cert-auth, etcd checks that a ' +
      'peer\'s certificate names the address the peer connects from.',
  },
});

export const etcdHealthcheckClient: CertSpec = sharedClient({
  id: 'etcd-healthcheck-client',
  file: 'pki/etcd/healthcheck-client',
  ca: 'etcd-ca',
  cn: 'kube-etcd-healthcheck-client',
  uses: [
    { component: 'etcdctl', flag: '--cert', part: 'crt' },
    { component: 'etcdctl', flag: '--key', part: 'key' },
  ],
  explain: {
    purpose: 'The client certificate of etcd\'s liveness probe and of etcdctl on a control plane.',
    subject: 'CN=kube-etcd-healthcheck-client is informational.',
  },
});

export const kubeletClient: CertSpec = {
  id: 'kubelet',
  scope: 'node',
  roles: ALL_NODES,
  file: (n) => `kubeconfig/kubelet-${node(n).name}`,
  ca: 'ca',
  cn: (n) => `system:node:${node(n).name}`,
  o: ['system:nodes'],
  kind: 'client',
  explain: {
    purpose: 'The kubelet\'s client certificate on one node, embedded in that node\'s kubelet.conf.',
    subject:
      'CN=system:node:<nodeName> and O=system:nodes are what the Node authorizer and NodeRestriction admission ' +
      'require: a kubelet may only touch its own node and pods.',
  },
};

/** kubeadm's ControlPlaneEndpoint: the load balancer (apiServer.endpoint). */
export const viaEndpoint = (c: Cluster) => https(c.apiServer.endpoint, c.apiServer.port);
/** kubeadm's LocalAPIEndpoint: the apiserver on the node the kubeconfig lands on. */
export const viaOwnApiserver = (c: Cluster, n: ClusterNode | undefined) => https(node(n).address, c.apiServer.port);

/** A kubeconfig on every control plane, to the load balancer; the layouts change scope and server. */
export const kubeconfig = (
  id: string,
  cert: string,
  userName: string,
  uses: readonly KubeconfigUse[],
  purpose: string,
): KubeconfigSpec => ({
  id,
  scope: 'cluster',
  file: fixed(`${id}.conf`),
  cert,
  server: viaEndpoint,
  clusterName: 'default-cluster',
  userName: fixed(userName),
  contextName: 'default-system',
  to: CONTROL,
  uses,
  explain: { purpose, subject: `Embeds the CA (pki/ca.crt) and the ${cert} client certificate and key, under the user ${userName}.` },
});

/** The flags that read a component's kubeconfig (kubeadm sets all three on the controller manager and scheduler). */
export const kubeconfigFlags = (component: string): KubeconfigUse[] =>
  ['--kubeconfig', '--authentication-kubeconfig', '--authorization-kubeconfig'].map((flag) => ({ component, flag }));

export const kubeletKubeconfig: KubeconfigSpec = {
  ...kubeconfig('kubelet', 'kubelet', 'default-auth', [{ component: 'kubelet', flag: '--kubeconfig' }], 'The kubelet of one node (every node runs one, control planes too).'),
  scope: 'node',
  roles: ALL_NODES,
  to: 'self',
};

export const saKeyPair: KeyPairSpec = {
  id: 'sa',
  file: 'pki/sa',
  keyTo: CONTROL,
  pubTo: CONTROL,
  uses: [
    { component: 'kube-apiserver', flag: '--service-account-key-file', part: 'pub' },
    { component: 'kube-apiserver', flag: '--service-account-signing-key-file', part: 'key' },
    { component: 'kube-controller-manager', flag: '--service-account-private-key-file', part: 'key' },
  ],
  explain: {
    purpose:
      'The service-account key pair: the apiserver signs service-account tokens with sa.key and verifies them ' +
      'with sa.pub (the controller manager also signs with sa.key). A bare key pair, not a certificate.',
    subject: 'No subject: tokens name their issuer (--service-account-issuer) themselves.',
  },
};

