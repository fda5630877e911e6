import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'vitest';
import { kubePki } from './cli.js';
import type { K8sBins } from './k8s-bins.js';
import { ProcSet } from './procs.js';
import { waitFor } from './processes.js';
import { existsSync } from 'node:fs';
import { flagArgs, type FlagEntry } from './control-plane.js';

// A real kubelet for one worker, on the worker's loopback address, against Debian's containerd (the
// kubelet will not start without a container runtime). Its certificate flags come from `kube-pki flags
// kubelet --dir <the worker's folder> --json`; the harness adds only what is not about certificates.

export interface KubeletSpec {
  bins: K8sBins;
  config: string;
  node: { name: string; ip: string; dir: string };
  work: string;
  procs: ProcSet;
}

/**
 * The worker's entries of `kube-pki flags kubelet --json`: its flags, and the KubeletConfiguration fields a
 * bootstrap worker needs (rotateCertificates, serverTLSBootstrap). What the kubelet writes itself lives
 * under /var/lib/kubelet, its default --root-dir: here the test's root folder for it.
 */
async function kubeletCertFlags(spec: KubeletSpec, root: string): Promise<{ args: string[]; config: string[] }> {
  const r = await kubePki(['flags', 'kubelet', '--config', spec.config, '--dir', spec.node.dir, '--json']);
  expect(r.exitCode, r.stderr).toBe(0);
  const entries = ((JSON.parse(r.stdout) as Record<string, FlagEntry[]>).kubelet ?? []).filter((e) => !e.node || e.node === spec.node.name);
  const relocated = entries.map((e) => (e.value?.startsWith('/var/lib/kubelet') ? { ...e, value: root + e.value.slice('/var/lib/kubelet'.length) } : e));
  return { args: flagArgs(relocated), config: entries.filter((e) => e.configField).map((e) => `${e.configField}: ${e.value}`) };
}

/** containerd with its own root, state and socket (the machine's own configuration is left alone). */
async function startContainerd(spec: KubeletSpec): Promise<string> {
  const base = join(spec.work, `${spec.node.name}-containerd`);
  await mkdir(join(base, 'root'), { recursive: true });
  const socket = join(base, 'containerd.sock');
  await writeFile(
    join(base, 'config.toml'),
    [
      'version = 2',
      `root = "${join(base, 'root')}"`,
      `state = "${join(base, 'state')}"`,
      '[grpc]',
      `  address = "${socket}"`,
      '[plugins."io.containerd.grpc.v1.cri".containerd]',
      '  snapshotter = "native"',
      '[plugins."io.containerd.grpc.v1.cri".cni]',
      `  bin_dir = "${join(base, 'cni-bin')}"`,
      `  conf_dir = "${join(base, 'cni-conf')}"`,
      '',
    ].join('\n'),
  );
  spec.procs.start(`${spec.node.name}/containerd`, 'containerd', ['-c', join(base, 'config.toml')], `${base}.log`);
  await waitFor(async () => existsSync(socket), 'containerd socket', 20_000);
  return socket;
}

/** Starts containerd and the kubelet; resolves once the kubelet process runs (not yet registered). */
export async function startKubelet(spec: KubeletSpec): Promise<void> {
  const socket = await startContainerd(spec);
  const root = join(spec.work, `${spec.node.name}-kubelet`);
  await mkdir(root, { recursive: true });
  const configFile = join(root, 'config.yaml');
  const own = await kubeletCertFlags(spec, root);
  await writeFile(
    configFile,
    [
      'apiVersion: kubelet.config.k8s.io/v1beta1',
      'kind: KubeletConfiguration',
      'authentication:',
      '  anonymous: { enabled: false }',
      '  webhook: { enabled: true }',
      'authorization:',
      '  mode: Webhook',
      `address: ${spec.node.ip}`,
      'port: 10250',
      'readOnlyPort: 0',
      `healthzBindAddress: ${spec.node.ip}`,
      'healthzPort: 10248',
      `containerRuntimeEndpoint: unix://${socket}`,
      'cgroupDriver: cgroupfs',
      // This machine is a VM with cgroup v1 and swap rules of its own: the test kubelet tolerates both.
      'failCgroupV1: false',
      'failSwapOn: false',
      'cgroupsPerQOS: false',
      'enforceNodeAllocatable: []',
      'registerNode: true',
      'resolvConf: ""',
      'evictionHard: { memory.available: "1Mi", nodefs.available: "1%", imagefs.available: "1%" }',
      ...own.config,
      '',
    ].join('\n'),
  );
  spec.procs.start(
    `${spec.node.name}/kubelet`,
    spec.bins.kubelet,
    [
      `--config=${configFile}`,
      `--root-dir=${root}`,
      `--hostname-override=${spec.node.name}`,
      // The kubelet refuses a loopback --node-ip; with an external cloud provider it registers without an
      // address and the test, as the cloud controller would, sets it (setNodeAddress).
      '--cloud-provider=external',
      '--v=2',
      ...own.args,
    ],
    join(spec.work, `${spec.node.name}-kubelet.log`),
  );
}
