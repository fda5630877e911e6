import type { X509Certificate } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ResultPromise } from 'execa';
import { expect } from 'vitest';
import { kubePki } from './cli.js';
import { etcdctl, spawnEtcdMember, stopEtcdMember, type EtcdClientAuth, type EtcdNode } from './etcd.js';
import { waitFor } from './processes.js';
import { cert, issued, pemCerts } from './rotation.js';

// The live etcd cluster of the rotate-ca --ca etcd-ca tests (test/e2e/rotate-ca-etcd*.test.ts): a real
// 3-member cluster (kubeadm profile, mTLS for peers and clients) started from the files
// `kube-pki flags etcd --dir OUT/<node>` names for the current phase, restarted one member at a time.

type Flags = Record<string, string>;

export class EtcdRotationCluster {
  readonly members = new Map<string, ResultPromise>();
  private written = 0;
  private data = '';

  /** `env`: for every kube-pki run (a token's module); `rotateEnv`: for rotate-ca (a PIN file too). */
  constructor(
    readonly nodes: readonly EtcdNode[],
    readonly config: string,
    readonly out: string,
    private readonly env: Record<string, string> = {},
    private readonly rotateEnv: Record<string, string> = env,
  ) {}

  async flagsOf(component: 'etcd' | 'etcdctl', node: string): Promise<Flags> {
    const r = await kubePki(['flags', component, '--config', this.config, '--dir', join(this.out, node), '--json'], { env: this.env });
    expect(r.exitCode, r.stderr).toBe(0);
    return Object.fromEntries((JSON.parse(r.stdout) as Record<string, { flag: string; path: string }[]>)[component]!.map((f) => [f.flag, f.path]));
  }

  /** etcdctl's files on cp-1 for the current phase. */
  async client(): Promise<EtcdClientAuth> {
    const f = await this.flagsOf('etcdctl', 'cp-1');
    return { cacert: f['--cacert']!, cert: f['--cert']!, key: f['--key']! };
  }

  etcdctl(auth: EtcdClientAuth, args: string[]) {
    return etcdctl(this.nodes, auth, args);
  }

  async startMember(node: EtcdNode): Promise<void> {
    const f = await this.flagsOf('etcd', node.name);
    this.members.set(node.name, spawnEtcdMember(node, this.nodes, this.data, 'kube-pki-rotate-ca', Object.entries(f).flatMap(([flag, path]) => [flag, path])));
  }

  /** Every member, then the cluster is healthy and holds a first key. */
  async start(): Promise<void> {
    this.data = await mkdtemp(join(tmpdir(), 'kube-pki-etcd-rotate-'));
    for (const node of this.nodes) await this.startMember(node);
    await this.healthyWithData();
  }

  async stop(): Promise<void> {
    for (const name of [...this.members.keys()]) await stopEtcdMember(this.members, name);
  }

  /** Every member answers and the cluster writes and reads: quorum and data kept. */
  async healthyWithData(): Promise<void> {
    const auth = await this.client();
    await waitFor(async () => (await this.etcdctl(auth, ['endpoint', 'health'])).exitCode === 0, 'etcd health', 60_000);
    const put = await this.etcdctl(auth, ['put', `key-${++this.written}`, `value-${this.written}`]);
    expect(put.exitCode, put.output).toBe(0);
    const got = await this.etcdctl(auth, ['get', 'key-', '--prefix', '--print-value-only']);
    expect(got.exitCode, got.output).toBe(0);
    expect(got.output.trim().split('\n')).toEqual(Array.from({ length: this.written }, (_, i) => `value-${i + 1}`).sort());
  }

  async rotate(phase: string): Promise<void> {
    const r = await kubePki(['rotate-ca', phase, '--ca', 'etcd-ca', '--config', this.config, '--out', this.out, '--json'], { env: this.rotateEnv });
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
    const report = JSON.parse(r.stdout) as { restart: { node: string; components: string[] }[] };
    // One control plane at a time, etcd first on each.
    expect(report.restart.map((s) => [s.node, s.components[0]])).toEqual(this.nodes.map((n) => [n.name, 'etcd']));
  }

  async rollingRestart(): Promise<void> {
    for (const node of this.nodes) {
      await stopEtcdMember(this.members, node.name);
      await this.startMember(node);
      await this.healthyWithData();
    }
  }

  /** A copy of etcdctl's client certificate of now (in `dir`), used later with the CA file of that moment. */
  async keepClient(dir: string): Promise<() => Promise<EtcdClientAuth>> {
    await mkdir(dir);
    const now = await this.client();
    await copyFile(now.cert, join(dir, 'client.crt'));
    await copyFile(now.key, join(dir, 'client.key'));
    return async () => ({ cacert: (await this.client()).cacert, cert: join(dir, 'client.crt'), key: join(dir, 'client.key') });
  }

  /**
   * start, reissue and finish, each with a rolling restart: quorum and data kept, a client from before
   * works during the overlap only; at the end every member trusts and is signed by the new etcd CA. Returns it.
   */
  async rotateKeepingQuorum(dir: string): Promise<X509Certificate> {
    // An etcdctl client certificate from before the rotation.
    const oldClient = await this.keepClient(join(dir, 'old-client'));

    await this.rotate('start');
    expect((await this.flagsOf('etcd', 'cp-1'))['--trusted-ca-file']).toBe(join(this.out, 'cp-1/pki/etcd/ca-bundle.crt'));
    await this.rollingRestart();
    expect((await this.etcdctl(await oldClient(), ['get', 'key-1'])).exitCode).toBe(0);

    await this.rotate('reissue');
    await this.rollingRestart();
    const overlap = await this.etcdctl(await oldClient(), ['get', 'key-1', '--print-value-only']);
    expect(overlap.exitCode, overlap.output).toBe(0);
    expect(overlap.output.trim()).toBe('value-1');

    await this.rotate('finish');
    await this.rollingRestart();
    const refused = await this.etcdctl(await oldClient(), ['get', 'key-1']);
    expect(refused.exitCode, refused.output).not.toBe(0);

    const newCa = await cert(join(this.out, '_cluster/pki/etcd/ca.crt'));
    for (const node of this.nodes) {
      const f = await this.flagsOf('etcd', node.name);
      const trust = pemCerts(await readFile(f['--trusted-ca-file']!));
      expect(trust.map((c) => c.fingerprint256)).toEqual([newCa.fingerprint256]);
      expect(f['--peer-trusted-ca-file']).toBe(f['--trusted-ca-file']);
      for (const file of [f['--cert-file']!, f['--peer-cert-file']!]) expect(issued(await cert(file), newCa), file).toBe(true);
    }
    for (const f of ['pki/etcd/healthcheck-client.crt', 'pki/apiserver-etcd-client.crt']) expect(issued(await cert(join(this.out, 'cp-1', f)), newCa)).toBe(true);
    return newCa;
  }
}
