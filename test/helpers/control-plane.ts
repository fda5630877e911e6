import { request } from 'node:https';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { expect } from 'vitest';
import { parse } from 'yaml';
import { kubePki } from './cli.js';
import type { K8sBins } from './k8s-bins.js';
import { waitFor } from './processes.js';
import { ProcSet } from './procs.js';

// The real control plane judging kube-pki's files (docs/e2e.md): etcd, kube-apiserver,
// kube-controller-manager and kube-scheduler per control-plane node on its loopback address, haproxy in
// front as the lab's load balancer. Every certificate flag comes from `kube-pki flags COMPONENT --dir
// <the node's folder> --json`; the harness adds only what is not about certificates.

export interface CpNode {
  name: string;
  /** A loopback address, e.g. 127.0.21.11: the node's address in the description. */
  ip: string;
  /** The folder holding the node's files as the node received them. */
  dir: string;
}

export interface ControlPlaneOptions {
  bins: K8sBins;
  /** The description (cluster.yaml). */
  config: string;
  nodes: CpNode[];
  /** The load balancer: the description's apiServer.endpoint and port. */
  lb: { ip: string; port: number };
  serviceCIDR: string;
  /** Logs, data folders, haproxy's configuration. */
  work: string;
  /** Extra kube-apiserver flags of the test (e.g. the request-header names). */
  apiserverFlags?: string[];
  /**
   * The PKI folder (kube-pki flags --out): a service-account key rotation's phase is recorded there,
   * not in the nodes' folders (rotate-sa promote changes the flags, not the files).
   */
  pki?: string;
}

/** Short leader-election timings, so that a restarted node's controller manager or scheduler takes over quickly. */
const LEADER_ELECTION = ['--leader-elect=true', '--leader-elect-lease-duration=6s', '--leader-elect-renew-deadline=4s', '--leader-elect-retry-period=1s'];

export type Component = 'etcd' | 'kube-apiserver' | 'kube-controller-manager' | 'kube-scheduler';
export const COMPONENTS: readonly Component[] = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler'];

interface Tls {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  headers?: Record<string, string>;
}

function call(method: string, url: string, body: string | undefined, tls: Tls): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const req = request(
      url,
      { method, ca: tls.ca, cert: tls.cert, key: tls.key, headers: tls.headers, rejectUnauthorized: tls.ca !== undefined, timeout: 5_000 },
      (res) => {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', () => resolve({ status: 0, body: '' }));
    req.on('timeout', () => req.destroy());
    req.end(body);
  });
}

/** An entry of `kube-pki flags --json`: a file flag (path), a setting (value), or a KubeletConfiguration field. */
export interface FlagEntry {
  flag?: string;
  path?: string;
  value?: string;
  configField?: string;
  node?: string;
}

/** The entries that are command-line flags, as argv (`--flag=path` or `--flag=value`). */
export const flagArgs = (entries: FlagEntry[]): string[] => entries.filter((e) => e.flag).map((e) => `${e.flag}=${e.path ?? e.value}`);

export class ControlPlane {
  readonly procs = new ProcSet();
  private readonly haproxyCfg: string;
  private readonly haproxySock: string;

  constructor(readonly o: ControlPlaneOptions) {
    this.haproxyCfg = join(o.work, 'haproxy.cfg');
    this.haproxySock = join(o.work, 'haproxy.sock');
  }

  node(name: string): CpNode {
    const n = this.o.nodes.find((x) => x.name === name);
    if (!n) throw new Error(`no control-plane node ${name}`);
    return n;
  }

  /** `kube-pki flags COMPONENT --dir <node folder> --json` as argv (`--flag=path`), the node's own entries only. */
  async certFlags(component: string, node: CpNode): Promise<string[]> {
    const r = await kubePki(['flags', component, '--config', this.o.config, '--dir', node.dir, ...(this.o.pki ? ['--out', this.o.pki] : []), '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    const entries = (JSON.parse(r.stdout) as Record<string, FlagEntry[]>)[component] ?? [];
    return flagArgs(entries.filter((e) => !e.node || e.node === node.name));
  }

  /** The path one certificate flag of a component names on a node. */
  async flagPath(component: string, node: CpNode, flag: string): Promise<string> {
    const hit = (await this.certFlags(component, node)).find((f) => f.startsWith(`${flag}=`));
    if (!hit) throw new Error(`kube-pki flags ${component} prints no ${flag}`);
    return hit.slice(flag.length + 1);
  }

  private log(node: CpNode, component: string): string {
    return join(this.o.work, `${node.name}-${component}.log`);
  }

  private etcdServers(): string {
    return this.o.nodes.map((n) => `https://${n.ip}:2379`).join(',');
  }

  private async args(component: Component, node: CpNode): Promise<{ file: string; args: string[] }> {
    const b = this.o.bins;
    const own = `https://${node.ip}:${this.o.lb.port}`;
    switch (component) {
      case 'etcd':
        return {
          file: b.etcd,
          args: [
            `--name=${node.name}`,
            `--data-dir=${join(this.o.work, `${node.name}-etcd-data`)}`,
            `--listen-client-urls=https://${node.ip}:2379`,
            `--advertise-client-urls=https://${node.ip}:2379`,
            `--listen-peer-urls=https://${node.ip}:2380`,
            `--initial-advertise-peer-urls=https://${node.ip}:2380`,
            `--initial-cluster=${this.o.nodes.map((n) => `${n.name}=https://${n.ip}:2380`).join(',')}`,
            '--initial-cluster-state=new',
            '--initial-cluster-token=kube-pki-e2e',
            '--client-cert-auth',
            '--peer-client-cert-auth',
            `--listen-metrics-urls=http://${node.ip}:2381`,
            '--log-level=warn',
            ...(await this.certFlags('etcd', node)),
          ],
        };
      case 'kube-apiserver':
        return {
          file: b.kubeApiserver,
          args: [
            `--advertise-address=${node.ip}`,
            `--bind-address=${node.ip}`,
            `--secure-port=${this.o.lb.port}`,
            `--etcd-servers=${this.etcdServers()}`,
            `--service-cluster-ip-range=${this.o.serviceCIDR}`,
            '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
            '--authorization-mode=Node,RBAC',
            '--enable-admission-plugins=NodeRestriction',
            '--kubelet-preferred-address-types=InternalIP',
            // The reconciler of the "kubernetes" Service refuses loopback endpoints, and every node is on loopback here.
            '--endpoint-reconciler-type=none',
            // Keeps serving while /readyz fails, so that haproxy takes it out before it stops.
            '--shutdown-delay-duration=3s',
            '--profiling=false',
            `--cert-dir=${join(this.o.work, `${node.name}-apiserver-certs`)}`,
            ...(this.o.apiserverFlags ?? []),
            ...(await this.certFlags('kube-apiserver', node)),
          ],
        };
      case 'kube-controller-manager': {
        const flags = await this.certFlags('kube-controller-manager', node);
        return {
          file: b.kubeControllerManager,
          args: [
            `--bind-address=${node.ip}`,
            // The kubeconfig may name 127.0.0.1 (the hard way): on one machine each node has its own address.
            `--master=${own}`,
            ...LEADER_ELECTION,
            `--service-cluster-ip-range=${this.o.serviceCIDR}`,
            '--use-service-account-credentials=true',
            // kube-pki flags names the controllers itself when a worker bootstraps (a repeated --controllers would add up).
            ...(flags.some((f) => f.startsWith('--controllers=')) ? [] : ['--controllers=*,bootstrapsigner,tokencleaner']),
            `--cert-dir=${join(this.o.work, `${node.name}-kcm-certs`)}`,
            ...flags,
          ],
        };
      }
      case 'kube-scheduler':
        return {
          file: b.kubeScheduler,
          args: [
            `--bind-address=${node.ip}`,
            `--master=${own}`,
            ...LEADER_ELECTION,
            `--cert-dir=${join(this.o.work, `${node.name}-scheduler-certs`)}`,
            ...(await this.certFlags('kube-scheduler', node)),
          ],
        };
    }
  }

  async start(component: Component, node: CpNode): Promise<void> {
    const { file, args } = await this.args(component, node);
    await mkdir(this.o.work, { recursive: true });
    await writeFile(`${this.log(node, component)}.args`, `${args.join('\n')}\n`);
    this.procs.start(`${node.name}/${component}`, file, args, this.log(node, component));
  }

  async stop(component: Component, node: CpNode): Promise<void> {
    await this.procs.stop(`${node.name}/${component}`);
  }

  /** GET an https URL: the status code (0 when no answer) and body. Without a CA, the server is not verified. */
  static get(url: string, tls: Tls = {}): Promise<{ status: number; body: string }> {
    return call('GET', url, undefined, tls);
  }

  static post(url: string, body: string, tls: Tls = {}): Promise<{ status: number; body: string }> {
    return call('POST', url, body, tls);
  }

  /** The component answers its health endpoint (etcd: a read through etcdctl-equivalent /health). */
  async healthy(component: Component, node: CpNode): Promise<boolean> {
    switch (component) {
      case 'etcd': {
        const ca = await readFile(await this.flagPath('etcd', node, '--trusted-ca-file'));
        const cert = await readFile(await this.flagPath('etcd', node, '--cert-file'));
        const key = await readFile(await this.flagPath('etcd', node, '--key-file'));
        const r = await ControlPlane.get(`https://${node.ip}:2379/health`, { ca, cert, key });
        return r.status === 200 && /"health":\s*"true"/.test(r.body);
      }
      case 'kube-apiserver': {
        const ca = await readFile(await this.flagPath('kube-apiserver', node, '--client-ca-file'));
        return (await ControlPlane.get(`https://${node.ip}:${this.o.lb.port}/readyz`, { ca })).status === 200;
      }
      // Their serving certificates are their own, self-signed (kube-pki makes none): no verification here.
      case 'kube-controller-manager':
        return (await ControlPlane.get(`https://${node.ip}:10257/healthz`)).status === 200;
      case 'kube-scheduler':
        return (await ControlPlane.get(`https://${node.ip}:10259/healthz`)).status === 200;
    }
  }

  /** Waits for the component's health endpoint; fails at once, with its log, if the process exited. */
  async waitHealthy(component: Component, node: CpNode, timeoutMs = 90_000): Promise<void> {
    const name = `${node.name}/${component}`;
    const proc = this.procs.get(name);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (await this.healthy(component, node).catch(() => false)) return;
      const exited = proc.child.exitCode !== null || proc.child.signalCode !== null;
      if (exited || Date.now() > deadline)
        throw new Error(`${component} on ${node.name} ${exited ? `exited (${proc.child.exitCode ?? proc.child.signalCode})` : 'is not healthy in time'}\n${await this.procs.tail(name)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  /** etcd on every node first (they need each other for quorum), then the rest node by node. */
  async startAll(): Promise<void> {
    for (const n of this.o.nodes) await this.start('etcd', n);
    for (const n of this.o.nodes) await this.waitHealthy('etcd', n);
    for (const n of this.o.nodes) await this.start('kube-apiserver', n);
    for (const n of this.o.nodes) await this.waitHealthy('kube-apiserver', n, 120_000);
    await this.startHaproxy();
    for (const n of this.o.nodes) for (const c of ['kube-controller-manager', 'kube-scheduler'] as const) await this.start(c, n);
    for (const n of this.o.nodes) for (const c of ['kube-controller-manager', 'kube-scheduler'] as const) await this.waitHealthy(c, n);
  }

  /**
   * Stops and starts the given components of one node in order, each healthy before the next. An
   * apiserver is drained from haproxy first (as an operator would before maintenance): its /readyz fails
   * from the moment it is told to stop, and a request haproxy sends it in that instant would see that.
   */
  async restart(node: CpNode, components: readonly string[]): Promise<void> {
    for (const c of components) {
      if (!(COMPONENTS as readonly string[]).includes(c)) continue;
      if (c === 'kube-apiserver') await this.drain(node);
      await this.stop(c as Component, node);
      await this.start(c as Component, node);
      await this.waitHealthy(c as Component, node);
      if (c === 'kube-apiserver') {
        await this.lbCommand(`set server control-plane/${node.name} state ready`);
        await this.waitLbUp(node);
      }
    }
  }

  async startHaproxy(): Promise<void> {
    const cfg = [
      'global',
      `  stats socket ${this.haproxySock} mode 600 level admin`,
      'defaults',
      '  mode tcp',
      '  timeout connect 2s',
      '  timeout client 60s',
      '  timeout server 60s',
      '  retries 3',
      '  option redispatch',
      'frontend kube-apiserver',
      `  bind ${this.o.lb.ip}:${this.o.lb.port}`,
      '  default_backend control-plane',
      'backend control-plane',
      '  option httpchk',
      '  http-check send meth GET uri /readyz',
      '  http-check expect status 200',
      // The lab's haproxy checks /readyz over TLS; it holds no CA of the cluster, hence verify none.
      '  default-server inter 500ms fall 2 rise 2 check check-ssl verify none',
      ...this.o.nodes.map((n) => `  server ${n.name} ${n.ip}:${this.o.lb.port}`),
      '',
    ].join('\n');
    await writeFile(this.haproxyCfg, cfg);
    this.procs.start('haproxy', 'haproxy', ['-f', this.haproxyCfg, '-db'], join(this.o.work, 'haproxy.log'));
    for (const n of this.o.nodes) await this.waitLbUp(n);
  }

  /** One command on haproxy's stats socket; its answer. */
  private lbCommand(command: string): Promise<string> {
    return new Promise<string>((resolve, reject) => {
      const s = connect(this.haproxySock);
      let out = '';
      s.on('connect', () => s.end(`${command}\n`));
      s.on('data', (d) => (out += d));
      s.on('end', () => resolve(out));
      s.on('error', reject);
    });
  }

  /** No new connection goes to the node's apiserver, and none is open any more. */
  private async drain(node: CpNode): Promise<void> {
    await this.lbCommand(`set server control-plane/${node.name} state drain`);
    const sessions = async () => {
      for (const line of (await this.lbCommand('show stat')).split('\n')) {
        const f = line.split(',');
        if (f[0] === 'control-plane' && f[1] === node.name) return Number(f[4]);
      }
      return 0;
    };
    await new Promise((r) => setTimeout(r, 500));
    await waitFor(async () => (await sessions()) === 0, `haproxy to drain ${node.name}`, 30_000);
  }

  /** haproxy's view of each server (`show stat`): name → UP, or DOWN for anything else (down, draining, checking). */
  async lbState(): Promise<Map<string, 'UP' | 'DOWN'>> {
    const state = new Map<string, 'UP' | 'DOWN'>();
    for (const line of (await this.lbCommand('show stat')).split('\n')) {
      const f = line.split(',');
      if (f[0] === 'control-plane' && f[1] && f[1] !== 'BACKEND') state.set(f[1], f[17] === 'UP' ? 'UP' : 'DOWN');
    }
    return state;
  }

  async waitLbUp(node: CpNode): Promise<void> {
    await waitFor(async () => (await this.lbState()).get(node.name) === 'UP', `haproxy to see ${node.name} up`, 30_000);
  }

  async stopAll(): Promise<void> {
    await this.procs.stopAll();
  }
}

/** A kubeconfig's parts: its server, the CA bundle and client certificate and key (PEM). */
export async function kubeconfigTls(path: string): Promise<{ server: string; ca: Buffer; cert: Buffer; key: Buffer }> {
  const doc = parse(await readFile(path, 'utf8')) as { clusters: { cluster: Record<string, string> }[]; users: { user: Record<string, string> }[] };
  const b64 = (v: string | undefined) => Buffer.from(v ?? '', 'base64');
  const cluster = doc.clusters[0]!.cluster;
  const user = doc.users[0]!.user;
  return { server: cluster.server!, ca: b64(cluster['certificate-authority-data']), cert: b64(user['client-certificate-data']), key: b64(user['client-key-data']) };
}
