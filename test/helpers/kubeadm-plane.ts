import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { execa } from 'execa';
import { expect } from 'vitest';
import { kubePki } from './cli.js';
import { ControlPlane } from './control-plane.js';
import { k8sBins, type K8sBins } from './k8s-bins.js';

// A kubeadm-profile cluster on loopback addresses: `kube-pki gen` makes OUT/<node>, each control plane's
// /etc/kubernetes; the control plane starts from those trees. kubeadm itself is asked about them too.

export interface KubeadmPlane {
  config: string;
  out: string;
  cp: ControlPlane;
  bins: K8sBins;
  serviceCIDR: string;
  stop(): Promise<void>;
}

export const REQUEST_HEADER_FLAGS = [
  '--requestheader-username-headers=X-Remote-User',
  '--requestheader-group-headers=X-Remote-Group',
  '--requestheader-extra-headers-prefix=X-Remote-Extra-',
];

export async function startKubeadmPlane(spec: { net: number; masters: number; workers: string[]; dir: string; key?: string }): Promise<KubeadmPlane> {
  const ip = (host: number) => `127.0.${spec.net}.${host}`;
  const config = join(spec.dir, 'cluster.yaml');
  const out = join(spec.dir, 'pki');
  const serviceCIDR = SERVICE_CIDR;
  const masters = Array.from({ length: spec.masters }, (_, i) => ({ name: `cp-${i + 1}`, ip: ip(11 + i) }));
  await writeFile(config, kubeadmDescription({ ...spec, ip }));
  const gen = await kubePki(['gen', '--config', config, '--out', out]);
  expect(gen.exitCode, gen.stderr).toBe(0);
  const work = join(spec.dir, 'work');
  await mkdir(work, { recursive: true });
  const bins = await k8sBins();
  const cp = new ControlPlane({
    bins,
    config,
    nodes: masters.map((m) => ({ ...m, dir: join(out, m.name) })),
    lb: { ip: ip(30), port: 6443 },
    serviceCIDR,
    work,
    pki: out,
    apiserverFlags: REQUEST_HEADER_FLAGS,
  });
  return { config, out, cp, bins, serviceCIDR, stop: () => cp.stopAll() };
}

export const SERVICE_CIDR = '10.96.0.0/24';

/** The description of a kubeadm cluster whose node `i` has the address ip(11 + i) (workers ip(21 + i), the load balancer ip(30)). */
export function kubeadmDescription(spec: { masters: number; workers: string[]; key?: string; ip: (host: number) => string }): string {
  const { ip } = spec;
  return [
    'profile: kubeadm',
    `serviceCIDR: ${SERVICE_CIDR}`,
    `key: ${spec.key ?? '{ algorithm: ecdsa, curve: P-256 }'}`,
    `apiServer: { endpoint: ${ip(30)}, port: 6443 }`,
    'nodes:',
    ...Array.from({ length: spec.masters }, (_, i) => `  - { name: cp-${i + 1}, address: ${ip(11 + i)}, role: controlplane }`),
    ...spec.workers.map((w, i) => `  - { name: ${w}, address: ${ip(21 + i)}, role: worker }`),
    `  - { name: loadbalancer, address: ${ip(30)}, role: loadbalancer }`,
    '',
  ].join('\n');
}

/** Every file under a folder with its SHA-256. */
export async function treeHashes(root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (dir: string): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) await walk(p);
      else out.set(relative(root, p), createHash('sha256').update(await readFile(p)).digest('hex'));
    }
  };
  await walk(root);
  return out;
}

/**
 * kubeadm's InitConfiguration and ClusterConfiguration for one control plane of the description, its
 * files at /etc/kubernetes as on a node (kubeadm runs chrooted into a copy of the tree with --rootfs).
 */
export function kubeadmConfig(o: { node: string; ip: string; lb: string; serviceCIDR: string; ecdsa: boolean; version: string }): string {
  return [
    'apiVersion: kubeadm.k8s.io/v1beta4',
    'kind: InitConfiguration',
    'localAPIEndpoint:',
    `  advertiseAddress: ${o.ip}`,
    '  bindPort: 6443',
    'nodeRegistration:',
    `  name: ${o.node}`,
    '---',
    'apiVersion: kubeadm.k8s.io/v1beta4',
    'kind: ClusterConfiguration',
    `kubernetesVersion: ${o.version}`,
    `controlPlaneEndpoint: ${o.lb}:6443`,
    'certificatesDir: /etc/kubernetes/pki',
    ...(o.ecdsa ? ['encryptionAlgorithm: ECDSA-P256'] : []),
    'networking:',
    `  serviceSubnet: ${o.serviceCIDR}`,
    '  dnsDomain: cluster.local',
    '',
  ].join('\n');
}

/** Runs kubeadm with argument arrays; output and exit code. */
export async function kubeadm(bins: K8sBins, args: string[]): Promise<{ exitCode: number; output: string }> {
  const r = await execa(bins.kubeadm, args, { reject: false, stdin: 'ignore', all: true, timeout: 120_000 });
  return { exitCode: r.exitCode ?? -1, output: r.all ?? '' };
}
