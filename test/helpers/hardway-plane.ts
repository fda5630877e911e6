import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'vitest';
import { stringify } from 'yaml';
import { kubePki, kubePkiAt } from './cli.js';
import { ControlPlane, type CpNode } from './control-plane.js';
import { unmountBelow } from './procs.js';
import { k8sBins } from './k8s-bins.js';
import { startLab, type SshLab } from './sshd.js';

// A hard-way cluster on loopback addresses (one per node, as in the lab's Vagrantfile), its files made by
// `kube-pki gen` and put on each node by `kube-pki distribute` over a real sshd: each node's folder is
// what that node received. The control plane then starts from those folders.

export interface HardwayPlane {
  config: string;
  out: string;
  knownHosts: string;
  lab: SshLab;
  cp: ControlPlane;
  /** The folder a node received its files in. */
  dirOf(node: string): string;
  distribute(args?: string[]): Promise<void>;
  stop(): Promise<void>;
}

export interface HardwayPlaneSpec {
  /** Third octet of 127.0.X.y: every test file its own. */
  net: number;
  masters: number;
  workers: string[];
  dir: string;
  apiserverFlags?: string[];
  /** Workers (of `workers`) that join by kubelet TLS bootstrap: `bootstrap: true`, and a token made before distribute. */
  bootstrap?: string[];
  /** More fields of the description (validityDays, restart…). */
  description?: Record<string, unknown>;
  /** gen at another time (faketime's offset, e.g. '-1 day'): a PKI made earlier, for tests of what comes later. */
  genAt?: string;
}

export async function startHardwayPlane(spec: HardwayPlaneSpec): Promise<HardwayPlane> {
  const ip = (host: number) => `127.0.${spec.net}.${host}`;
  const masters = Array.from({ length: spec.masters }, (_, i) => ({ name: `master-${i + 1}`, address: ip(11 + i), role: 'controlplane' }));
  const workers = spec.workers.map((name, i) => ({ name, address: ip(21 + i), role: 'worker', ...(spec.bootstrap?.includes(name) ? { bootstrap: true, kubeletDir: join(spec.dir, 'work', `${name}-kubelet`) } : {}) }));
  const sshNodes = [...masters, ...workers];
  // A bootstrap worker's kubelet keeps its certificates root-only: check --remote reads them with sudo.
  const lab = await startLab(sshNodes.map((n) => ({ name: n.name, address: n.address })), spec.bootstrap?.length ? { sudo: spec.bootstrap } : {});
  const config = join(spec.dir, 'cluster.yaml');
  const out = join(spec.dir, 'pki');
  const knownHosts = join(spec.dir, 'known_hosts');
  const serviceCIDR = '10.96.0.0/24';
  await writeFile(
    config,
    stringify({
      profile: 'hardway',
      serviceCIDR,
      apiServer: { endpoint: ip(30), port: 6443 },
      ssh: { port: 2222, identityFile: lab.clientKey, remoteDir: 'pki' },
      nodes: [
        ...sshNodes.map((n) => ({ ...n, ssh: { user: lab.node(n.name).user, hostKey: lab.node(n.name).fingerprint, ...(spec.bootstrap?.includes(n.name) ? { sudo: true } : {}) } })),
        { name: 'loadbalancer', address: ip(30), role: 'loadbalancer' },
      ],
      ...spec.description,
    }),
  );
  const gen = spec.genAt ? await kubePkiAt(spec.genAt, ['gen', '--config', config, '--out', out]) : await kubePki(['gen', '--config', config, '--out', out]);
  expect(gen.exitCode, gen.stderr).toBe(0);
  const dirOf = (node: string) => join(lab.node(node).home, 'pki');
  const distribute = async (args: string[] = []) => {
    const r = await kubePki(['distribute', '--config', config, '--out', out, '--known-hosts', knownHosts, ...args], { env: { SSH_AUTH_SOCK: '' } });
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
  };
  if (spec.bootstrap?.length) {
    const token = await kubePki(['token', 'create', '--config', config, '--out', out, '--description', 'e2e bootstrap workers']);
    expect(token.exitCode, token.stderr).toBe(0);
  }
  await distribute();
  const work = join(spec.dir, 'work');
  await mkdir(work, { recursive: true });
  const nodes: CpNode[] = masters.map((m) => ({ name: m.name, ip: m.address, dir: dirOf(m.name) }));
  const cp = new ControlPlane({
    bins: await k8sBins(),
    config,
    nodes,
    lb: { ip: ip(30), port: 6443 },
    serviceCIDR,
    work,
    pki: out,
    ...(spec.apiserverFlags ? { apiserverFlags: spec.apiserverFlags } : {}),
  });
  return {
    config,
    out,
    knownHosts,
    lab,
    cp,
    dirOf,
    distribute,
    async stop() {
      await cp.stopAll();
      await unmountBelow(spec.dir);
      await lab.cleanup();
    },
  };
}
