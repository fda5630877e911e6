import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { startFakeApiserver, type FakeApiserver } from './apiserver.js';
import { kubePki, tempDir } from './cli.js';

// The Kubernetes page "PKI certificates and requirements" (docs/kubeadm.md) written out as test data, independently of
// src/catalog/kubeadm.ts: the tests compare what kube-pki writes with this.

/**
 * The description the matrix tests generate: 3 control planes (one on IPv6) and 2 workers (one on IPv6),
 * a custom cluster domain and a DNS endpoint.
 */
export const MATRIX_DESCRIPTION = `profile: kubeadm
clusterDomain: k8s.corp.example
serviceCIDR: 10.32.0.0/24
apiServer: { endpoint: k8s-api.corp.example, port: 6443, extraSANs: [api.k8s.corp.example, "FD00:0:0::99"] }
nodes:
  - { name: cp-1, address: 127.0.3.131, role: controlplane }
  - { name: cp-2, address: 127.0.3.132, role: controlplane }
  - { name: cp-3, address: "fd00:0:0::133", role: controlplane }
  - { name: worker-1, address: 127.0.3.141, role: worker }
  - { name: worker-2, address: "fd00::142", role: worker }
  - { name: lb, address: 127.0.3.130, role: loadbalancer }
`;

export type Kind = 'ca' | 'server' | 'client' | 'server-client';

export interface MatrixNode {
  name: string;
  address: string;
}

export interface MatrixCluster {
  /** The load balancer's IP and DNS name (the apiServer endpoint and the loadbalancer node's address). */
  loadBalancer: string[];
  serviceIP: string;
  domain: string;
  extraSANs: string[];
}

export interface MatrixCert {
  /** Path inside a control plane's /etc/kubernetes, without .crt/.key. */
  path: string;
  /** The CN, or on a given control plane (kubeadm puts the node name in etcd's). */
  cn: string | ((node: MatrixNode) => string);
  o: string[];
  /** The issuing CA's path, or null for a CA. */
  ca: string | null;
  kind: Kind;
  /** Expected SANs on a given control plane; none when absent. */
  sans?: (node: MatrixNode, cluster: MatrixCluster) => string[];
}

/** The CN a matrix row has on a control plane. */
export const cnOn = (spec: MatrixCert, node: MatrixNode): string => (typeof spec.cn === 'string' ? spec.cn : spec.cn(node));

const hostSans = (n: MatrixNode) => [n.name, n.address, 'localhost', '127.0.0.1'];
/** kubeadm's etcd SANs (pkiutil getAltNames): ::1 too, in both layouts. */
const etcdSans = (n: MatrixNode) => [...hostSans(n), '::1'];

/** `kubeadmLayout: current`, read from kubeadm v1.37's certlist.go and kubeconfig.go. */
export const MATRIX_CERTS: MatrixCert[] = [
  { path: 'pki/ca', cn: 'kubernetes-ca', o: [], ca: null, kind: 'ca' },
  { path: 'pki/etcd/ca', cn: 'etcd-ca', o: [], ca: null, kind: 'ca' },
  { path: 'pki/front-proxy-ca', cn: 'kubernetes-front-proxy-ca', o: [], ca: null, kind: 'ca' },
  { path: 'pki/etcd/server', cn: (n) => n.name, o: [], ca: 'pki/etcd/ca', kind: 'server-client', sans: etcdSans },
  { path: 'pki/etcd/peer', cn: (n) => n.name, o: [], ca: 'pki/etcd/ca', kind: 'server-client', sans: etcdSans },
  { path: 'pki/etcd/healthcheck-client', cn: 'kube-etcd-healthcheck-client', o: [], ca: 'pki/etcd/ca', kind: 'client' },
  { path: 'pki/apiserver-etcd-client', cn: 'kube-apiserver-etcd-client', o: ['system:masters'], ca: 'pki/etcd/ca', kind: 'client' },
  {
    path: 'pki/apiserver',
    cn: 'kube-apiserver',
    o: [],
    ca: 'pki/ca',
    kind: 'server',
    sans: (n, c) => {
      const labels = c.domain.split('.');
      return [
        ...hostSans(n),
        ...c.loadBalancer,
        c.serviceIP,
        'kubernetes',
        'kubernetes.default',
        'kubernetes.default.svc',
        `kubernetes.default.svc.${labels.slice(0, -1).join('.')}`,
        `kubernetes.default.svc.${c.domain}`,
        ...c.extraSANs,
      ];
    },
  },
  { path: 'pki/apiserver-kubelet-client', cn: 'kube-apiserver-kubelet-client', o: [], ca: 'pki/ca', kind: 'client' },
  { path: 'pki/front-proxy-client', cn: 'front-proxy-client', o: [], ca: 'pki/front-proxy-ca', kind: 'client' },
];

/** `kubeadmLayout: v1.27`: the documentation page's subjects (etcd's SANs gained ::1). */
export const MATRIX_CERTS_V127: MatrixCert[] = MATRIX_CERTS.map((c) => {
  if (c.path === 'pki/etcd/server') return { ...c, cn: 'kube-etcd' };
  if (c.path === 'pki/etcd/peer') return { ...c, cn: 'kube-etcd-peer' };
  if (c.path === 'pki/apiserver-kubelet-client') return { ...c, o: ['system:masters'] };
  return c;
});

/** Per-node leaves: every other file of a control plane is the same on all of them. */
export const PER_NODE = ['pki/apiserver', 'pki/etcd/server', 'pki/etcd/peer'];

export interface MatrixKubeconfig {
  file: string;
  user: string;
  cn: (node: string) => string;
  o: string[];
  /** The apiserver it names: the load balancer (apiServer.endpoint), the node's own, or the node's own on a control plane only. */
  server: 'endpoint' | 'own' | 'own-on-control-plane';
  /** Only on the first control plane of the description (super-admin.conf). */
  firstOnly?: boolean;
  /** Its client certificate in _cluster/kubeconfig/, without .crt (per node: on that node). */
  certFile: (node: string) => string;
}

/** `kubeadmLayout: current`: one client certificate per control plane, components to their own apiserver. */
export const MATRIX_KUBECONFIGS: MatrixKubeconfig[] = [
  { file: 'admin.conf', user: 'default-admin', cn: () => 'kubernetes-admin', o: ['kubeadm:cluster-admins'], server: 'endpoint', certFile: (n) => `admin-${n}` },
  { file: 'super-admin.conf', user: 'default-super-admin', cn: () => 'kubernetes-super-admin', o: ['system:masters'], server: 'endpoint', firstOnly: true, certFile: () => 'super-admin' },
  { file: 'kubelet.conf', user: 'default-auth', cn: (node: string) => `system:node:${node}`, o: ['system:nodes'], server: 'own-on-control-plane', certFile: (n) => `kubelet-${n}` },
  { file: 'controller-manager.conf', user: 'default-controller-manager', cn: () => 'system:kube-controller-manager', o: [], server: 'own', certFile: (n) => `controller-manager-${n}` },
  { file: 'scheduler.conf', user: 'default-scheduler', cn: () => 'system:kube-scheduler', o: [], server: 'own', certFile: (n) => `scheduler-${n}` },
];

/** `kubeadmLayout: v1.27`: shared client certificates, every kubeconfig to the load balancer. */
export const MATRIX_KUBECONFIGS_V127: MatrixKubeconfig[] = [
  { file: 'admin.conf', user: 'default-admin', cn: () => 'kubernetes-admin', o: ['system:masters'], server: 'endpoint', certFile: () => 'admin' },
  { file: 'kubelet.conf', user: 'default-auth', cn: (node: string) => `system:node:${node}`, o: ['system:nodes'], server: 'endpoint', certFile: (n) => `kubelet-${n}` },
  { file: 'controller-manager.conf', user: 'default-controller-manager', cn: () => 'system:kube-controller-manager', o: [], server: 'endpoint', certFile: () => 'controller-manager' },
  { file: 'scheduler.conf', user: 'default-scheduler', cn: () => 'system:kube-scheduler', o: [], server: 'endpoint', certFile: () => 'scheduler' },
];

/** Every file of a control plane's tree, relative to it (`first`: the description's first control plane). */
export function controlPlaneFiles(first: boolean, certs = MATRIX_CERTS, kubeconfigs = MATRIX_KUBECONFIGS): string[] {
  return [
    ...certs.flatMap((c) => [`${c.path}.crt`, `${c.path}.key`]),
    'pki/sa.key',
    'pki/sa.pub',
    ...kubeconfigs.filter((k) => first || !k.firstOnly).map((k) => k.file),
  ].sort();
}

/** The tree of every control plane but the first (which also holds super-admin.conf). */
export const CONTROL_PLANE_FILES = controlPlaneFiles(false);

export const WORKER_FILES = ['kubelet.conf', 'pki/ca.crt'];

/** openssl writes IPv6 SANs uncompressed and in capitals: the URL parser gives the canonical form. */
const canonicalIp = (ip: string) => (ip.includes(':') ? new URL(`http://[${ip}]/`).hostname.slice(1, -1) : ip);

/** X.509 facts as openssl prints them: an oracle independent of kube-pki's own parser. */
export interface OpensslFacts {
  basicConstraints: string;
  keyUsage: string[];
  extendedKeyUsage: string[];
  sans: string[];
  hasSki: boolean;
  hasAki: boolean;
  text: string;
}

export async function opensslFacts(file: string): Promise<OpensslFacts> {
  const { stdout } = await execa('openssl', ['x509', '-in', file, '-noout', '-text'], { stdin: 'ignore' });
  const after = (title: string): string => {
    const lines = stdout.split('\n');
    const i = lines.findIndex((l) => l.trim().startsWith(`${title}:`));
    return i < 0 ? '' : (lines[i + 1] ?? '').trim();
  };
  const list = (s: string) => (s ? s.split(',').map((x) => x.trim()) : []);
  return {
    basicConstraints: after('X509v3 Basic Constraints'),
    keyUsage: list(after('X509v3 Key Usage')),
    extendedKeyUsage: list(after('X509v3 Extended Key Usage')),
    sans: list(after('X509v3 Subject Alternative Name')).map((s) => (s.startsWith('IP Address:') ? canonicalIp(s.slice(11)) : s.replace(/^DNS:/, ''))),
    hasSki: stdout.includes('X509v3 Subject Key Identifier'),
    hasAki: stdout.includes('X509v3 Authority Key Identifier'),
    text: stdout,
  };
}

/** The usages the matrix gives a kind ("Key usages by kind"); keyEncipherment only with RSA. */
export function expectedUsages(kind: Kind, rsa: boolean): { keyUsage: string[]; eku: string[] } {
  if (kind === 'ca') return { keyUsage: ['Digital Signature', 'Certificate Sign', 'CRL Sign'], eku: [] };
  const keyUsage = rsa ? ['Digital Signature', 'Key Encipherment'] : ['Digital Signature'];
  const eku = { server: ['TLS Web Server Authentication'], client: ['TLS Web Client Authentication'], 'server-client': ['TLS Web Server Authentication', 'TLS Web Client Authentication'] }[kind];
  return { keyUsage, eku };
}

/** CN and O of a node:crypto subject or issuer string. */
export function dn(text: string): { cn: string; o: string[] } {
  const pairs = text.split('\n').map((l) => l.split('='));
  return { cn: pairs.find(([k]) => k === 'CN')?.[1] ?? '', o: pairs.filter(([k]) => k === 'O').map(([, v]) => v ?? '') };
}

export async function loadPair(dir: string, base: string): Promise<{ cert: X509Certificate; keyMatches: boolean; pem: Buffer }> {
  const pem = await readFile(join(dir, `${base}.crt`));
  const cert = new X509Certificate(pem);
  const key = createPrivateKey(await readFile(join(dir, `${base}.key`)));
  return { cert, keyMatches: cert.checkPrivateKey(key), pem };
}

/** A kubeconfig as the real kubectl reads it. */
export interface KubectlView {
  clusters: { name: string; cluster: { server: string; 'certificate-authority-data': string } }[];
  contexts: { name: string; context: { cluster: string; user: string } }[];
  users: { name: string; user: { 'client-certificate-data': string; 'client-key-data': string } }[];
  'current-context': string;
}

export async function kubectlView(file: string): Promise<KubectlView> {
  const r = await execa('kubectl', ['config', 'view', '--raw', '-o', 'json', '--kubeconfig', file], { stdin: 'ignore', timeout: 60_000 });
  return JSON.parse(r.stdout) as KubectlView;
}

/** All files below a folder, relative to it, sorted. */
export async function listFiles(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath ?? (e as unknown as { path: string }).path, e.name).slice(root.length + 1))
    .sort();
}

/** Writes a description next to a fresh output folder and runs `gen` once (for a test file's beforeAll). */
export async function generated(yaml: string): Promise<{ dir: string; out: string; config: string; cleanup: () => Promise<void> }> {
  const { dir, cleanup } = await tempDir();
  const out = join(dir, 'pki');
  const config = join(dir, 'cluster.yaml');
  await writeFile(config, yaml);
  const r = await kubePki(['gen', '--config', config, '--out', out]);
  if (r.exitCode !== 0) {
    await cleanup();
    throw new Error(`kube-pki gen exited ${r.exitCode}:\n${r.stdout}\n${r.stderr}`);
  }
  return { dir, out, config, cleanup };
}

/** Runs `check` against a fake apiserver serving `cert`/`key` and trusting client certificates of `ca`. */
export async function withFakeApiserver(
  files: { cert: string; key: string; ca: string },
  host: string,
  port: number,
  check: (api: FakeApiserver) => Promise<void>,
): Promise<void> {
  const [cert, key, ca] = await Promise.all([files.cert, files.key, files.ca].map((f) => readFile(f)));
  const api = await startFakeApiserver({ cert: cert!, key: key!, ca: ca! }, host, port);
  try {
    await check(api);
  } finally {
    await api.close();
  }
}
