import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { kubectl } from '../helpers/apiserver.js';
import { kubePki, tempDir } from '../helpers/cli.js';
import { etcdctl, startEtcdCluster, waitHealthy, type EtcdClientAuth, type EtcdMember } from '../helpers/etcd.js';
import { Processes, waitFor } from '../helpers/processes.js';

// Real consumers of a PKI under a root CA (rootCA): etcd and etcdctl (Go) and kubectl (Go) on the
// files `kube-pki flags` names, against intermediate-signed certificates. Each trust file holds its
// intermediate only (README "A root CA": why not the root). Loopback only: 127.0.15.x is this file's.
//
// The mTLS endpoint for kubectl is a real Go TLS server too: an etcd member serving with the files of
// `flags kube-apiserver` (--tls-cert-file, --tls-private-key-file, --client-ca-file as its trusted CA,
// client certificates required). Go trusts every certificate of a CA file as an anchor, as
// kube-apiserver does; OpenSSL-based servers (Node's https) want a chain to a self-signed root.

const PASSPHRASE = 'root of trust 15';

/**
 * A Go mTLS server on the apiserver's files: etcd answers GET /version to a client whose certificate
 * chains to --client-ca-file. Ready once `ready` (a kubeconfig that must get in) gets an answer.
 */
async function startGoEndpoint(files: Record<string, string>, host: string, port: number, ready: string, processes: Processes, ca = files['--client-ca-file']!): Promise<void> {
  const data = await mkdtemp(join(tmpdir(), 'kube-pki-go-endpoint-'));
  const peer = `http://${host}:${port + 1}`;
  processes.start('etcd', [
    '--name', 'endpoint', '--data-dir', data,
    '--listen-client-urls', `https://${host}:${port}`, '--advertise-client-urls', `https://${host}:${port}`,
    '--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer, '--initial-cluster', `endpoint=${peer}`,
    '--cert-file', files['--tls-cert-file']!, '--key-file', files['--tls-private-key-file']!,
    '--trusted-ca-file', ca, '--client-cert-auth', '--log-level', 'error',
  ]);
  await waitFor(async () => (await kubectl(ready, ['get', '--raw', '/version'])).exitCode === 0, `the Go endpoint on ${host}:${port}`, 30_000);
}

/** What a Go server on the apiserver's files answers to kubectl with this kubeconfig. */
async function version(kubeconfig: string): Promise<{ exitCode: number; stderr: string; server?: string }> {
  const r = await kubectl(kubeconfig, ['get', '--raw', '/version']);
  return { exitCode: r.exitCode, stderr: r.stderr, ...(r.exitCode === 0 ? { server: (JSON.parse(r.stdout) as { etcdserver: string }).etcdserver } : {}) };
}

/** The files `kube-pki flags COMPONENT --dir TREE --json` names, by flag. */
async function flagFiles(config: string, component: string, dir: string): Promise<Record<string, string>> {
  const r = await kubePki(['flags', component, '--config', config, '--dir', dir, '--json']);
  expect(r.exitCode, r.stderr).toBe(0);
  const entries = (JSON.parse(r.stdout) as Record<string, { flag: string; path: string }[]>)[component]!;
  return Object.fromEntries(entries.map((e) => [e.flag, e.path]));
}

let dir: string;
let cleanup: () => Promise<void>;
let passFile: string;

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('kube-pki-root-e2e-'));
  passFile = join(dir, 'root.pass');
  await writeFile(passFile, `${PASSPHRASE}\n`, { mode: 0o600 });
});
afterAll(async () => cleanup());

async function generate(name: string, yaml: string): Promise<{ out: string; config: string }> {
  const out = join(dir, name);
  const config = join(dir, `${name}.yaml`);
  await writeFile(config, yaml);
  const r = await kubePki(['gen', '--config', config, '--out', out, '--ca-passphrase-file', passFile]);
  expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
  return { out, config };
}

describe('kubeadm PKI under a root CA with real etcd, etcdctl and kubectl', () => {
  const ip = (n: number) => `127.0.15.${n}`;
  const cps = [1, 2, 3].map((n) => ({ name: `cp-${n}`, ip: ip(10 + n) }));
  const ENDPOINT = ip(30);
  const PORT = 16515;
  const YAML = `profile: kubeadm
key: { algorithm: ecdsa, curve: P-256 }
rootCA: { commonName: Corp Kubernetes Root }
apiServer: { endpoint: ${ENDPOINT}, port: ${PORT} }
nodes:
${cps.map((c) => `  - { name: ${c.name}, address: ${c.ip}, role: controlplane }`).join('\n')}
  - { name: worker-1, address: ${ip(21)}, role: worker }
`;
  const processes = new Processes();
  let out: string;
  let config: string;
  const at = (...parts: string[]) => join(out, ...parts);

  beforeAll(async () => {
    ({ out, config } = await generate('kubeadm', YAML));
  });
  afterAll(async () => processes.stopAll());

  it('runs a three-member etcd cluster and etcdctl on the files `flags etcd` / `flags etcdctl` name', async () => {
    const members: EtcdMember[] = [];
    let trusted = '';
    for (const c of cps) {
      const f = await flagFiles(config, 'etcd', at(c.name));
      trusted = f['--trusted-ca-file']!;
      expect(f['--peer-trusted-ca-file']).toBe(trusted);
      members.push({ name: c.name, ip: c.ip, certFile: f['--cert-file']!, keyFile: f['--key-file']!, peerCertFile: f['--peer-cert-file']!, peerKeyFile: f['--peer-key-file']! });
    }
    await startEtcdCluster(members, trusted, processes);
    const ctl = await flagFiles(config, 'etcdctl', at('cp-2'));
    const auth: EtcdClientAuth = { cacert: ctl['--cacert']!, cert: ctl['--cert']!, key: ctl['--key']! };
    await waitHealthy(members, auth);
    const status = await etcdctl(members, auth, ['endpoint', 'status', '-w', 'json']);
    expect(status.exitCode, status.output).toBe(0);
    expect((JSON.parse(status.output) as unknown[]).length).toBe(3);
    const put = await etcdctl([members[0]!], auth, ['put', 'kube-pki', 'root-ca']);
    expect(put.exitCode, put.output).toBe(0);

    // A client of the Kubernetes intermediate, even presented with that intermediate as its chain
    // (which leads to the same root), is no way into etcd: etcd trusts etcd-ca only.
    const chain = join(dir, 'kubelet-client-chain.crt');
    await writeFile(chain, Buffer.concat([await readFile(at('cp-1/pki/apiserver-kubelet-client.crt')), await readFile(at('cp-1/pki/ca.crt'))]));
    const other = await etcdctl([members[0]!], { ...auth, cert: chain, key: at('cp-1/pki/apiserver-kubelet-client.key') }, ['endpoint', 'status']);
    expect(other.exitCode).not.toBe(0);
  });

  it('lets kubectl authenticate with admin.conf and kubelet.conf against a Go mTLS server on the files `flags kube-apiserver` names', async () => {
    const f = await flagFiles(config, 'kube-apiserver', at('cp-1'));
    const endpoint = new Processes();
    try {
      await startGoEndpoint(f, ENDPOINT, PORT, at('cp-1/admin.conf'), endpoint);
      for (const kubeconfig of ['cp-1/admin.conf', 'cp-1/super-admin.conf', 'worker-1/kubelet.conf']) {
        const r = await version(at(kubeconfig));
        expect(r.exitCode, `${kubeconfig}: ${r.stderr}`).toBe(0);
        expect(r.server).toMatch(/^3\./);
      }
      // The controller manager and scheduler talk to their own node's apiserver (kubeadm's LocalAPIEndpoint):
      // the same files served on cp-1's address.
      await startGoEndpoint(f, cps[0]!.ip, PORT, at('cp-1/controller-manager.conf'), endpoint);
      for (const kubeconfig of ['cp-1/controller-manager.conf', 'cp-1/scheduler.conf']) {
        const r = await version(at(kubeconfig));
        expect(r.exitCode, `${kubeconfig}: ${r.stderr}`).toBe(0);
        expect(r.server).toMatch(/^3\./);
      }
      // A client certificate of another CA under the same root is refused.
      const other = join(dir, 'front-proxy.conf');
      await writeFile(other, await kubeconfigWith('cp-1/admin.conf', ['cp-1/pki/front-proxy-client.crt'], 'cp-1/pki/front-proxy-client.key'), { mode: 0o600 });
      expect((await version(other)).exitCode).not.toBe(0);
    } finally {
      await endpoint.stopAll();
    }
  });

  it('keeps the CAs apart: with ca.crt alone an etcd client certificate (O=system:masters) chained to the root is refused; with the root in it, accepted', async () => {
    // The kubeconfig of someone holding apiserver-etcd-client's key, who sends etcd-ca along as the
    // chain: both are signed under the same root.
    const kubeconfig = join(dir, 'etcd-client.conf');
    await writeFile(kubeconfig, await kubeconfigWith('cp-1/admin.conf', ['cp-1/pki/apiserver-etcd-client.crt', 'cp-1/pki/etcd/ca.crt'], 'cp-1/pki/apiserver-etcd-client.key'), { mode: 0o600 });
    const f = await flagFiles(config, 'kube-apiserver', at('cp-1'));
    const asIs = new Processes();
    try {
      await startGoEndpoint(f, ENDPOINT, PORT, at('cp-1/admin.conf'), asIs);
      const r = await version(kubeconfig);
      expect(r.exitCode).not.toBe(0);
      expect(r.stderr).toMatch(/certificate|tls|EOF|reset|broken pipe/i); // the server ends the handshake: any of these, by timing
    } finally {
      await asIs.stopAll();
    }
    // What a root in the CA file would do: the same client gets in (as system:masters, to an apiserver).
    const bundle = join(dir, 'ca-and-root.crt');
    await writeFile(bundle, Buffer.concat([await readFile(f['--client-ca-file']!), await readFile(at('root-ca.crt'))]));
    const withRoot = new Processes();
    try {
      await startGoEndpoint(f, ENDPOINT, PORT, at('cp-1/admin.conf'), withRoot, bundle);
      const r = await version(kubeconfig);
      expect(r.exitCode, r.stderr).toBe(0);
    } finally {
      await withRoot.stopAll();
    }
  });

  /** admin.conf with another client certificate (and chain) and key embedded. */
  async function kubeconfigWith(base: string, certs: string[], key: string): Promise<string> {
    const b64 = async (...files: string[]) => Buffer.concat(await Promise.all(files.map((p) => readFile(at(p))))).toString('base64');
    const [cert, k] = [await b64(...certs), await b64(key)];
    return (await readFile(at(base), 'utf8'))
      .split('\n')
      .map((l) => l.replace(/client-certificate-data: .*/, `client-certificate-data: ${cert}`).replace(/client-key-data: .*/, `client-key-data: ${k}`))
      .join('\n');
  }
});

describe('hardway PKI under a root CA with real kubectl', () => {
  const ENDPOINT = '127.0.15.50';
  const PORT = 16516;
  const YAML = stringify({
    profile: 'hardway',
    rootCA: {},
    apiServer: { endpoint: ENDPOINT, port: PORT },
    nodes: [
      { name: 'master-1', address: '127.0.15.41', role: 'controlplane' },
      { name: 'worker-1', address: '127.0.15.42', role: 'worker' },
      { name: 'loadbalancer', address: ENDPOINT, role: 'loadbalancer' },
    ],
  });

  it('authenticates with admin.kubeconfig, kube-proxy\'s and the worker\'s kubeconfig against a Go mTLS server on the files `flags kube-apiserver` names', async () => {
    const { out, config } = await generate('hardway', YAML);
    const f = await flagFiles(config, 'kube-apiserver', out);
    const processes = new Processes();
    try {
      await startGoEndpoint(f, ENDPOINT, PORT, join(out, 'admin.kubeconfig'), processes);
      // The kubeconfigs that go through the endpoint (the controller manager's and scheduler's use 127.0.0.1).
      for (const kubeconfig of ['admin.kubeconfig', 'kube-proxy.kubeconfig', 'worker-1.kubeconfig']) {
        const r = await version(join(out, kubeconfig));
        expect(r.exitCode, `${kubeconfig}: ${r.stderr}`).toBe(0);
        expect(r.server).toMatch(/^3\./);
      }
    } finally {
      await processes.stopAll();
    }
  });
});
