import type { Catalog, CertSpec, KubeconfigSpec } from '../model/catalog.js';
import { addressesOf, https, kubernetesServiceNames, nodeNameAndAddress } from './sans.js';

// The "Kubernetes the hard way" Vagrant lab: one CA, flat files (cert-matrix.md, profile "hardway").

const fixed = (value: string) => () => value;
const CONTROL = ['controlplane'] as const;
const WORKERS = ['worker'] as const;

const certs: CertSpec[] = [
  {
    id: 'ca',
    scope: 'cluster',
    file: fixed('ca'),
    cn: fixed('KUBERNETES-CA'),
    kind: 'ca',
    crtTo: ['controlplane', 'worker'],
    keyTo: CONTROL,
    uses: [
      { component: 'kube-apiserver', flag: '--client-ca-file', part: 'crt' },
      { component: 'kube-apiserver', flag: '--etcd-cafile', part: 'crt' },
      // The hard way's kubelets serve certificates this CA signed: the apiserver verifies them.
      { component: 'kube-apiserver', flag: '--kubelet-certificate-authority', part: 'crt' },
      { component: 'kube-controller-manager', flag: '--cluster-signing-cert-file', part: 'crt' },
      { component: 'kube-controller-manager', flag: '--cluster-signing-key-file', part: 'key' },
      { component: 'kube-controller-manager', flag: '--root-ca-file', part: 'crt' },
      { component: 'etcd', flag: '--trusted-ca-file', part: 'crt' },
      { component: 'etcd', flag: '--peer-trusted-ca-file', part: 'crt' },
      { component: 'etcdctl', flag: '--cacert', part: 'crt' },
      { component: 'kubelet', flag: '--client-ca-file', part: 'crt' },
    ],
    explain: {
      purpose:
        'The cluster CA. Every other certificate of the lab is signed by it, and every component trusts it. ' +
        'Its key lets the controller manager sign kubelet certificates, so it stays on the control plane.',
      subject: 'CN=KUBERNETES-CA only names the CA; nothing authorizes on it.',
    },
  },
  {
    id: 'admin',
    scope: 'cluster',
    file: fixed('admin'),
    ca: 'ca',
    cn: fixed('admin'),
    o: ['system:masters'],
    kind: 'client',
    explain: {
      purpose: 'The administrator\'s client certificate, embedded in admin.kubeconfig for kubectl.',
      subject:
        'O=system:masters is the group bound to cluster-admin: the apiserver maps a client certificate\'s O to ' +
        'groups and its CN (admin) to the user name.',
    },
  },
  {
    id: 'kube-controller-manager',
    scope: 'cluster',
    file: fixed('kube-controller-manager'),
    ca: 'ca',
    cn: fixed('system:kube-controller-manager'),
    kind: 'client',
    explain: {
      purpose: 'The controller manager\'s identity towards the apiserver, embedded in kube-controller-manager.kubeconfig.',
      subject: 'CN=system:kube-controller-manager is the user the built-in RBAC role system:kube-controller-manager is bound to.',
    },
  },
  {
    id: 'kube-proxy',
    scope: 'cluster',
    file: fixed('kube-proxy'),
    ca: 'ca',
    cn: fixed('system:kube-proxy'),
    kind: 'client',
    explain: {
      purpose: 'kube-proxy\'s identity towards the apiserver on every worker, embedded in kube-proxy.kubeconfig.',
      subject: 'CN=system:kube-proxy is the user the built-in role binding system:node-proxier names.',
    },
  },
  {
    id: 'kube-scheduler',
    scope: 'cluster',
    file: fixed('kube-scheduler'),
    ca: 'ca',
    cn: fixed('system:kube-scheduler'),
    kind: 'client',
    explain: {
      purpose: 'The scheduler\'s identity towards the apiserver, embedded in kube-scheduler.kubeconfig.',
      subject: 'CN=system:kube-scheduler is the user the built-in RBAC role system:kube-scheduler is bound to.',
    },
  },
  {
    id: 'kube-apiserver',
    scope: 'cluster',
    file: fixed('kube-apiserver'),
    ca: 'ca',
    cn: fixed('kube-apiserver'),
    kind: 'server',
    sans: (c) => [
      ...kubernetesServiceNames(c, false),
      c.serviceIP,
      ...addressesOf(c, 'controlplane', 'loadbalancer'),
      c.apiServer.endpoint,
      '127.0.0.1',
      ...c.apiServer.extraSANs,
    ],
    crtTo: CONTROL,
    keyTo: CONTROL,
    uses: [
      { component: 'kube-apiserver', flag: '--tls-cert-file', part: 'crt' },
      { component: 'kube-apiserver', flag: '--tls-private-key-file', part: 'key' },
    ],
    explain: {
      purpose: 'The apiserver\'s serving certificate: every client (kubectl, kubelets, pods) checks it.',
      subject: 'The CN is informational; clients check the SANs, not the CN.',
      sans:
        'kubernetes… and the first service IP are how pods reach it through the "kubernetes" service; the ' +
        'masters\' and the load balancer\'s addresses are how nodes and users reach it; 127.0.0.1 serves the ' +
        'controller manager and scheduler on the same machine.',
    },
  },
  {
    id: 'apiserver-kubelet-client',
    scope: 'cluster',
    file: fixed('apiserver-kubelet-client'),
    ca: 'ca',
    cn: fixed('kube-apiserver-kubelet-client'),
    o: ['system:masters'],
    kind: 'client',
    crtTo: CONTROL,
    keyTo: CONTROL,
    uses: [
      { component: 'kube-apiserver', flag: '--kubelet-client-certificate', part: 'crt' },
      { component: 'kube-apiserver', flag: '--kubelet-client-key', part: 'key' },
    ],
    explain: {
      purpose: 'The apiserver\'s client certificate towards kubelets (logs, exec, port-forward).',
      subject: 'O=system:masters lets the kubelet authorize the apiserver\'s calls through the cluster-admin group.',
    },
  },
  {
    id: 'etcd-server',
    scope: 'cluster',
    file: fixed('etcd-server'),
    ca: 'ca',
    cn: fixed('etcd-server'),
    kind: 'server-client',
    sans: (c) => [...addressesOf(c, 'controlplane'), '127.0.0.1'],
    crtTo: CONTROL,
    keyTo: CONTROL,
    uses: [
      { component: 'etcd', flag: '--cert-file', part: 'crt' },
      { component: 'etcd', flag: '--key-file', part: 'key' },
      { component: 'etcd', flag: '--peer-cert-file', part: 'crt' },
      { component: 'etcd', flag: '--peer-key-file', part: 'key' },
      { component: 'kube-apiserver', flag: '--etcd-certfile', part: 'crt' },
      { component: 'kube-apiserver', flag: '--etcd-keyfile', part: 'key' },
      { component: 'etcdctl', flag: '--cert', part: 'crt' },
      { component: 'etcdctl', flag: '--key', part: 'key' },
    ],
    explain: {
      purpose:
        'etcd\'s serving and peer certificate on every master; the apiserver also uses it as its etcd client ' +
        'certificate, hence both serverAuth and clientAuth.',
      subject: 'The CN is informational; etcd checks SANs and the CA.',
      sans:
        'The masters\' addresses are where clients and peers connect; 127.0.0.1 serves local clients and is where ' +
        'peer connections on one host come from (etcd checks a peer\'s IP SAN).',
    },
  },
  {
    id: 'service-account',
    scope: 'cluster',
    file: fixed('service-account'),
    ca: 'ca',
    cn: fixed('service-accounts'),
    kind: 'client',
    crtTo: CONTROL,
    keyTo: CONTROL,
    uses: [
      { component: 'kube-apiserver', flag: '--service-account-key-file', part: 'crt' },
      { component: 'kube-apiserver', flag: '--service-account-signing-key-file', part: 'key' },
      { component: 'kube-controller-manager', flag: '--service-account-private-key-file', part: 'key' },
    ],
    explain: {
      purpose:
        'A key pair to sign and verify service-account tokens; the certificate only carries the public key.',
      subject: 'CN=service-accounts is informational: nothing authenticates with this certificate.',
    },
  },
  {
    id: 'kubelet',
    scope: 'node',
    roles: WORKERS,
    file: (n) => n!.name,
    ca: 'ca',
    cn: (n) => `system:node:${n!.name}`,
    o: ['system:nodes'],
    kind: 'server-client',
    sans: (_c, n) => nodeNameAndAddress(n),
    crtTo: 'self',
    keyTo: 'self',
    uses: [
      { component: 'kubelet', flag: '--tls-cert-file', part: 'crt' },
      { component: 'kubelet', flag: '--tls-private-key-file', part: 'key' },
    ],
    explain: {
      purpose: 'The kubelet\'s certificate on its worker: its client identity in <worker>.kubeconfig and its serving certificate.',
      subject:
        'CN=system:node:<name> and O=system:nodes are what the Node authorizer and NodeRestriction admission ' +
        'require: a kubelet may only touch its own node and pods.',
      sans: 'The worker\'s name and address: how the apiserver reaches the kubelet.',
    },
  },
];

const kubeconfig = (
  id: string,
  cert: string,
  server: KubeconfigSpec['server'],
  userName: string,
  to: KubeconfigSpec['to'],
  purpose: string,
  component: string,
): KubeconfigSpec => ({
  id,
  scope: 'cluster',
  file: fixed(`${id}.kubeconfig`),
  cert,
  server,
  clusterName: 'kubernetes-the-hard-way',
  userName: fixed(userName),
  contextName: 'default',
  to,
  uses: [{ component, flag: '--kubeconfig' }],
  explain: { purpose, subject: `Embeds the ${cert} client certificate and key and the CA.` },
});

const viaEndpoint = (c: Parameters<KubeconfigSpec['server']>[0]) => https(c.apiServer.endpoint, c.apiServer.port);
const viaLocalhost = (c: Parameters<KubeconfigSpec['server']>[0]) => https('127.0.0.1', c.apiServer.port);

const kubeconfigs: KubeconfigSpec[] = [
  kubeconfig('admin', 'admin', viaEndpoint, 'admin', CONTROL, 'kubectl as cluster administrator.', 'kubectl'),
  kubeconfig('kube-controller-manager', 'kube-controller-manager', viaLocalhost, 'system:kube-controller-manager', CONTROL, 'The controller manager, talking to the local apiserver.', 'kube-controller-manager'),
  kubeconfig('kube-scheduler', 'kube-scheduler', viaLocalhost, 'system:kube-scheduler', CONTROL, 'The scheduler, talking to the local apiserver.', 'kube-scheduler'),
  kubeconfig('kube-proxy', 'kube-proxy', viaEndpoint, 'system:kube-proxy', WORKERS, 'kube-proxy on every worker, through the load balancer.', 'kube-proxy'),
  {
    id: 'kubelet',
    scope: 'node',
    roles: WORKERS,
    file: (n) => `${n!.name}.kubeconfig`,
    cert: 'kubelet',
    server: viaEndpoint,
    clusterName: 'kubernetes-the-hard-way',
    userName: (n) => `system:node:${n!.name}`,
    contextName: 'default',
    to: 'self',
    uses: [{ component: 'kubelet', flag: '--kubeconfig' }],
    explain: { purpose: 'The kubelet of one worker, through the load balancer.', subject: 'Embeds that worker\'s certificate and key and the CA.' },
  },
];

export const hardwayCatalog: Catalog = { profile: 'hardway', certs, keyPairs: [], kubeconfigs };
