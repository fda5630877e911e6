import { copyFile, mkdir, mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labCluster } from '../check-fixtures.js';
import { kubePki, tempDir } from '../helpers/cli.js';
import { waitFor } from '../helpers/processes.js';
import { cert, issued, pemCerts } from '../helpers/rotation.js';
import { makeToken, type TestToken } from '../helpers/softhsm.js';

// The etcd rotation of rotate-ca-etcd.test.ts under a root CA whose key is in a PKCS#11 token
// (SoftHSM2, rootCA.pkcs11): root init makes it there, gen and rotate-ca start sign the etcd
// intermediates through the token, and a real 3-member etcd cluster keeps quorum and its data through
// start, reissue and finish with a rolling restart of one member at a time.

const NODES = [
  { name: 'cp-1', ip: '127.0.36.11' },
  { name: 'cp-2', ip: '127.0.36.12' },
  { name: 'cp-3', ip: '127.0.36.13' },
];
const URI = 'pkcs11:token=kube-etcd-root;object=root-ca';
const YAML = `profile: kubeadm
key: { algorithm: ecdsa, curve: P-256 }
rootCA:
  pkcs11:
    uri: "${URI}"
apiServer: { endpoint: 127.0.36.11, port: 6443 }
nodes:
${NODES.map((n) => `  - { name: ${n.name}, address: ${n.ip}, role: controlplane }`).join('\n')}
`;
const clientUrl = (ip: string) => `https://${ip}:2379`;
const peerUrl = (ip: string) => `https://${ip}:2380`;

type Flags = Record<string, string>;
interface Client {
  cacert: string;
  cert: string;
  key: string;
}

describe('rotate-ca --ca etcd-ca on a live 3-member etcd cluster, the root CA key in a PKCS#11 token', () => {
  let dir: string;
  let config: string;
  let out: string;
  let data: string;
  let cleanup: () => Promise<void>;
  let token: TestToken;
  const members = new Map<string, ResultPromise>();
  let written = 0;

  const flagsOf = async (component: 'etcd' | 'etcdctl', node: string): Promise<Flags> => {
    const r = await kubePki(['flags', component, '--config', config, '--dir', join(out, node), '--json'], { env: token.env });
    expect(r.exitCode, r.stderr).toBe(0);
    return Object.fromEntries((JSON.parse(r.stdout) as Record<string, { flag: string; path: string }[]>)[component]!.map((f) => [f.flag, f.path]));
  };
  const client = async (): Promise<Client> => {
    const f = await flagsOf('etcdctl', 'cp-1');
    return { cacert: f['--cacert']!, cert: f['--cert']!, key: f['--key']! };
  };
  const etcdctl = async (auth: Client, args: string[]) => {
    const r = await execa(
      'etcdctl',
      ['--endpoints', NODES.map((n) => clientUrl(n.ip)).join(','), '--cacert', auth.cacert, '--cert', auth.cert, '--key', auth.key, '--dial-timeout', '3s', '--command-timeout', '5s', ...args],
      { reject: false, stdin: 'ignore', all: true, env: { ETCDCTL_API: '3' } },
    );
    return { exitCode: r.exitCode ?? -1, output: r.all ?? '' };
  };
  const startMember = async (node: (typeof NODES)[number]) => {
    const f = await flagsOf('etcd', node.name);
    const child = execa('etcd', [
      '--name', node.name,
      '--data-dir', join(data, node.name),
      '--listen-client-urls', clientUrl(node.ip),
      '--advertise-client-urls', clientUrl(node.ip),
      '--listen-peer-urls', peerUrl(node.ip),
      '--initial-advertise-peer-urls', peerUrl(node.ip),
      '--initial-cluster', NODES.map((n) => `${n.name}=${peerUrl(n.ip)}`).join(','),
      '--initial-cluster-state', 'new',
      '--initial-cluster-token', 'kube-pki-rotate-ca',
      ...Object.entries(f).flatMap(([flag, path]) => [flag, path]),
      '--client-cert-auth',
      '--peer-client-cert-auth',
      '--log-level', 'warn',
    ], { reject: false, stdin: 'ignore', all: true, buffer: true });
    members.set(node.name, child);
    return f;
  };
  const stopMember = async (name: string) => {
    const child = members.get(name)!;
    child.kill('SIGTERM');
    await child.catch(() => undefined);
    members.delete(name);
  };
  /** Every member answers and the cluster writes and reads: quorum and data kept. */
  const healthyWithData = async () => {
    const auth = await client();
    await waitFor(async () => (await etcdctl(auth, ['endpoint', 'health'])).exitCode === 0, 'etcd health', 60_000);
    const put = await etcdctl(auth, ['put', `key-${++written}`, `value-${written}`]);
    expect(put.exitCode, put.output).toBe(0);
    const got = await etcdctl(auth, ['get', 'key-', '--prefix', '--print-value-only']);
    expect(got.exitCode, got.output).toBe(0);
    expect(got.output.trim().split('\n')).toEqual(Array.from({ length: written }, (_, i) => `value-${i + 1}`).sort());
  };
  const rotate = async (phase: string) => {
    const r = await kubePki(['rotate-ca', phase, '--ca', 'etcd-ca', '--config', config, '--out', out, '--json'], { env: { ...token.env, KUBE_PKI_CA_PIN_FILE: token.pinFile } });
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
    const report = JSON.parse(r.stdout) as { restart: { node: string; components: string[] }[] };
    // One control plane at a time, etcd first on each.
    expect(report.restart.map((s) => [s.node, s.components[0]])).toEqual(NODES.map((n) => [n.name, 'etcd']));
  };
  const rollingRestart = async () => {
    for (const node of NODES) {
      await stopMember(node.name);
      await startMember(node);
      await healthyWithData();
    }
  };

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    ({ config } = await labCluster(dir, YAML));
    token = await makeToken(dir, 'kube-etcd-root', '1618033');
    out = join(dir, 'pki');
    for (const args of [['root', 'init'], ['gen']]) {
      const r = await kubePki([...args, '--config', config, '--out', out, '--ca-pin-file', token.pinFile], { env: token.env });
      expect(r.exitCode, `${args.join(' ')}: ${r.stdout}\n${r.stderr}`).toBe(0);
    }
    data = await mkdtemp(join(tmpdir(), 'kube-pki-etcd-rotate-'));
    for (const node of NODES) await startMember(node);
    await healthyWithData();
  }, 120_000);
  afterAll(async () => {
    for (const name of [...members.keys()]) await stopMember(name);
    await cleanup();
  });

  it('keeps quorum and data through start, reissue and finish; an old client works during the overlap only', async () => {
    // An etcdctl client certificate from before the rotation.
    const old = join(dir, 'old-client');
    await mkdir(old);
    const before = await client();
    await copyFile(before.cert, join(old, 'client.crt'));
    await copyFile(before.key, join(old, 'client.key'));
    const oldClient = async (): Promise<Client> => ({ cacert: (await client()).cacert, cert: join(old, 'client.crt'), key: join(old, 'client.key') });

    await rotate('start');
    expect((await flagsOf('etcd', 'cp-1'))['--trusted-ca-file']).toBe(join(out, 'cp-1/pki/etcd/ca-bundle.crt'));
    await rollingRestart();
    expect((await etcdctl(await oldClient(), ['get', 'key-1'])).exitCode).toBe(0);

    await rotate('reissue');
    await rollingRestart();
    const overlap = await etcdctl(await oldClient(), ['get', 'key-1', '--print-value-only']);
    expect(overlap.exitCode, overlap.output).toBe(0);
    expect(overlap.output.trim()).toBe('value-1');

    await rotate('finish');
    await rollingRestart();
    const refused = await etcdctl(await oldClient(), ['get', 'key-1']);
    expect(refused.exitCode, refused.output).not.toBe(0);

    const newCa = await cert(join(out, '_cluster/pki/etcd/ca.crt'));
    for (const node of NODES) {
      const f = await flagsOf('etcd', node.name);
      const trust = pemCerts(await readFile(f['--trusted-ca-file']!));
      expect(trust.map((c) => c.fingerprint256)).toEqual([newCa.fingerprint256]);
      expect(f['--peer-trusted-ca-file']).toBe(f['--trusted-ca-file']);
      for (const file of [f['--cert-file']!, f['--peer-cert-file']!]) expect(issued(await cert(file), newCa), file).toBe(true);
    }
    for (const f of ['pki/etcd/healthcheck-client.crt', 'pki/apiserver-etcd-client.crt']) expect(issued(await cert(join(out, 'cp-1', f)), newCa)).toBe(true);
    // The new intermediate was signed by the token's key: it chains to root-ca.crt, as every leaf does.
    const root = await cert(join(out, 'root-ca.crt'));
    expect(issued(newCa, root)).toBe(true);
    for (const leaf of ['cp-1/pki/etcd/server.crt', 'cp-2/pki/etcd/peer.crt', 'cp-3/pki/apiserver-etcd-client.crt']) {
      const v = await execa('openssl', ['verify', '-CAfile', join(out, 'root-ca.crt'), '-untrusted', join(out, '_cluster/pki/etcd/ca.crt'), join(out, leaf)], { reject: false, stdin: 'ignore' });
      expect(v.exitCode, `${leaf}: ${v.stderr}`).toBe(0);
    }
  }, 300_000);
});
