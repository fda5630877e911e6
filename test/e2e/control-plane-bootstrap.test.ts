import { X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectl } from '../helpers/apiserver.js';
import { CLI, kubePki, tempDir } from '../helpers/cli.js';
import { startHardwayPlane, type HardwayPlane } from '../helpers/hardway-plane.js';
import { whoami } from '../helpers/identity.js';
import { bootstrapSimBin } from '../helpers/k8s-bins.js';
import { startKubelet } from '../helpers/kubelet.js';
import { waitFor } from '../helpers/processes.js';

// Issue 25: kubelet TLS bootstrap on the real control plane (one control-plane node, the hard way, net
// 127.0.35). worker-1 and worker-2 are bootstrap workers: gen makes nothing for them, distribute sends
// ca.crt and bootstrap-kubeconfig. A real kubelet joins as worker-1: the controller manager approves and
// signs its client certificate with our CA key, approve-csrs approves its serving certificate, and the
// apiserver then reaches it with verification. Other CSRs are denied or left alone, with the reason.

interface Csr {
  metadata: { name: string };
  spec: { signerName: string; username: string; usages: string[] };
  status?: { conditions?: { type: string; reason?: string; message?: string }[]; certificate?: string };
}

describe('kubelet TLS bootstrap and the serving-CSR approver, on a real control plane', () => {
  let plane: HardwayPlane;
  let dir: string;
  let cleanup: () => Promise<void>;
  const admin = () => join(plane.dirOf('master-1'), 'admin.kubeconfig');
  const csrs = async (): Promise<Csr[]> => {
    const r = await kubectl(admin(), ['get', 'csr', '-o', 'json']);
    expect(r.exitCode, r.stderr).toBe(0);
    return (JSON.parse(r.stdout) as { items: Csr[] }).items;
  };
  const approve = async () => {
    const r = await kubePki(['approve-csrs', '--config', plane.config, '--out', plane.out, '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    return (JSON.parse(r.stdout) as { decisions: { csr: string; action: string; reason: string }[] }).decisions;
  };
  const applyManifests = async () => {
    const m = await kubePki(['manifests', '--config', plane.config, '--out', plane.out]);
    expect(m.exitCode, m.stderr).toBe(0);
    const r = await execa('kubectl', ['--kubeconfig', admin(), 'apply', '-f', '-'], { input: m.stdout, reject: false, timeout: 60_000 });
    expect(r.exitCode, r.stderr).toBe(0);
    return r.stdout;
  };

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('kube-pki-cp-bootstrap-'));
    plane = await startHardwayPlane({ net: 35, masters: 1, workers: ['worker-1', 'worker-2'], bootstrap: ['worker-1', 'worker-2'], dir });
    await plane.cp.startAll();
    await applyManifests();
  }, 300_000);
  afterAll(async () => {
    await plane?.stop();
    await cleanup?.();
  });

  it('makes nothing for a bootstrap worker centrally: it receives ca.crt and bootstrap-kubeconfig (0600) only', async () => {
    const out = await readdir(plane.out);
    expect(out.filter((f) => f.startsWith('worker-'))).toEqual([]);
    expect((await readdir(plane.dirOf('worker-1'))).sort()).toEqual(['bootstrap-kubeconfig', 'ca.crt']);
    expect((await stat(join(plane.dirOf('worker-1'), 'bootstrap-kubeconfig'))).mode & 0o777).toBe(0o600);
    // list shows the token's id, never its secret.
    const carried = /token: (\S+)/.exec(await readFile(join(plane.out, 'bootstrap-kubeconfig'), 'utf8'))![1]!;
    const list = await kubePki(['token', 'list', '--out', plane.out, '--json']);
    expect(list.exitCode, list.stderr).toBe(0);
    expect(list.stdout).not.toContain(carried.split('.')[1]);
    expect(JSON.parse(list.stdout)).toEqual([expect.objectContaining({ id: carried.split('.')[0], expired: false, inBootstrapKubeconfig: true, description: 'e2e bootstrap workers' })]);
    // Without bootstrap workers there is nothing to apply, and the pipeline still works (a ConfigMap stands in).
    const plain = join(dir, 'no-bootstrap.yaml');
    await writeFile(plain, (await readFile(plane.config, 'utf8')).replace(/\n\s*bootstrap: true/g, '').replace(/\n\s*kubeletDir: \S+/g, ''));
    const none = await kubePki(['manifests', '--config', plain, '--out', plane.out]);
    expect(none.stdout).toMatch(/^# Nothing to apply/m);
    const applied = await execa('kubectl', ['--kubeconfig', admin(), 'apply', '-f', '-'], { input: none.stdout, reject: false });
    expect(applied.exitCode, applied.stderr).toBe(0);
    expect(applied.stdout).toMatch(/configmap\/kube-pki (created|unchanged|configured)/);
    // The token authenticates as a bootstrapper in kube-pki's group, which the applied bindings name.
    expect(await whoami(join(plane.dirOf('worker-1'), 'bootstrap-kubeconfig'))).toEqual({
      username: `system:bootstrap:${carried.split('.')[0]}`,
      groups: ['system:authenticated', 'system:bootstrappers', 'system:bootstrappers:kube-pki:default-node-token'],
    });
  });

  it('joins a real kubelet: client CSR approved and signed by the controller manager with our CA, Node registered, serving CSR approved by approve-csrs, apiserver reaches it verified', async () => {
    const worker = { name: 'worker-1', ip: '127.0.35.21', dir: plane.dirOf('worker-1') };
    await startKubelet({ bins: plane.cp.o.bins, config: plane.config, node: worker, work: plane.cp.o.work, procs: plane.cp.procs });
    const root = join(plane.cp.o.work, 'worker-1-kubelet');
    try {
      await waitFor(async () => (await kubectl(admin(), ['get', 'node', 'worker-1'])).exitCode === 0, 'worker-1 to register', 120_000);
    } catch (e) {
      throw new Error(`${(e as Error).message}\n${await plane.cp.procs.tail('worker-1/kubelet', 60)}`);
    }
    const ca = new X509Certificate(await readFile(join(plane.out, 'ca.crt')));
    const client = (await csrs()).find((c) => c.spec.signerName === 'kubernetes.io/kube-apiserver-client-kubelet')!;
    expect(client.spec.username).toMatch(/^system:bootstrap:[a-z0-9]{6}$/);
    expect(client.status?.conditions?.map((c) => [c.type, c.reason])).toEqual([['Approved', 'AutoApproved']]);
    const clientCert = new X509Certificate(await readFile(join(root, 'pki', 'kubelet-client-current.pem')));
    expect(clientCert.subject).toBe('O=system:nodes\nCN=system:node:worker-1');
    expect(clientCert.verify(ca.publicKey)).toBe(true);
    expect(await whoami(join(root, 'kubeconfig'))).toEqual({ username: 'system:node:worker-1', groups: ['system:authenticated', 'system:nodes'] });

    // The addresses a cloud controller would set (the kubelet refuses a loopback --node-ip); the serving CSR names them.
    const patch = JSON.stringify({ status: { addresses: [{ type: 'InternalIP', address: worker.ip }, { type: 'Hostname', address: 'worker-1' }] } });
    expect((await kubectl(admin(), ['patch', 'node', 'worker-1', '--subresource=status', '--type=merge', '-p', patch])).exitCode).toBe(0);
    const serving = async () => (await csrs()).find((c) => c.spec.signerName === 'kubernetes.io/kubelet-serving' && c.spec.username === 'system:node:worker-1');
    await waitFor(async () => (await serving()) !== undefined, 'the kubelet\'s serving CSR', 180_000);
    const decisions = await approve();
    expect(decisions).toEqual([expect.objectContaining({ csr: (await serving())!.metadata.name, action: 'approved' })]);
    await waitFor(async () => existsSync(join(root, 'pki', 'kubelet-server-current.pem')), 'the signed serving certificate', 120_000);
    const servingCert = new X509Certificate(await readFile(join(root, 'pki', 'kubelet-server-current.pem')));
    expect(servingCert.verify(ca.publicKey)).toBe(true);
    expect(servingCert.subjectAltName).toBe('DNS:worker-1, IP Address:127.0.35.21');
    expect((await serving())!.status?.conditions?.[0]).toMatchObject({ type: 'Approved', reason: 'KubePkiApproved' });

    // The apiserver verifies the kubelet's serving certificate (--kubelet-certificate-authority=ca.crt) to ask for a log.
    const pod = join(plane.cp.o.work, 'pod.yaml');
    await writeFile(pod, 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: probe\n  namespace: default\nspec:\n  nodeName: worker-1\n  containers:\n  - name: c\n    image: registry.k8s.io/pause:3.10\n');
    expect((await kubectl(admin(), ['create', '-f', pod])).exitCode).toBe(0);
    await waitFor(async () => /is waiting to start/.test((await kubectl(admin(), ['logs', 'probe', '-c', 'c'])).stderr), 'the kubelet to answer for a log', 60_000);

    // check --remote reads what the kubelet obtained on the node.
    const check = await kubePki(['check', '--remote', '--config', plane.config, '--out', plane.out, '--known-hosts', plane.knownHosts, '--json'], { env: { SSH_AUTH_SOCK: '' } });
    expect(check.stderr).not.toMatch(/unexpected error/);
    type Obtained = { subject?: string; issuer?: string; notAfter?: string; signedByClusterCa?: boolean; error?: string };
    const bootstrap = (JSON.parse(check.stdout) as { bootstrapWorkers: { node: string; remote?: { clientCertificate: Obtained; servingCertificate: Obtained } }[] }).bootstrapWorkers;
    expect(bootstrap.map((b) => b.node)).toEqual(['worker-1', 'worker-2']);
    expect(bootstrap[0]!.remote!.clientCertificate).toMatchObject({ subject: 'O=system:nodes, CN=system:node:worker-1', issuer: 'CN=KUBERNETES-CA', signedByClusterCa: true, notAfter: new Date(clientCert.validTo).toISOString() });
    expect(bootstrap[0]!.remote!.servingCertificate).toMatchObject({ subject: 'O=system:nodes, CN=system:node:worker-1', signedByClusterCa: true });
    expect(bootstrap[1]!.remote!.clientCertificate.error).toMatch(/not there/);
  });

  it('denies serving CSRs that name another address or node, or come from a node not in the description; leaves other signers alone', async () => {
    const work = await mkdtemp(join(dir, 'csrs-'));
    const create = async (name: string, subject: string, san: string, as: string[], signer = 'kubernetes.io/kubelet-serving', usages = ['digital signature', 'server auth']) => {
      const key = join(work, `${name}.key`);
      const csr = join(work, `${name}.csr`);
      const made = await execa('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-subj', subject, '-addext', `subjectAltName=${san}`, '-out', csr], { reject: false });
      expect(made.exitCode, made.stderr).toBe(0);
      const request = (await readFile(csr)).toString('base64');
      const object = { apiVersion: 'certificates.k8s.io/v1', kind: 'CertificateSigningRequest', metadata: { name }, spec: { request, signerName: signer, usages } };
      const r = await execa('kubectl', ['--kubeconfig', admin(), ...as, 'create', '-f', '-'], { input: JSON.stringify(object), reject: false });
      expect(r.exitCode, r.stderr).toBe(0);
    };
    const asNode = (n: string) => ['--as', `system:node:${n}`, '--as-group', 'system:nodes', '--as-group', 'system:authenticated'];
    await create('other-address', '/O=system:nodes/CN=system:node:worker-1', 'DNS:worker-1,IP:127.0.35.99', asNode('worker-1'));
    await create('other-node', '/O=system:nodes/CN=system:node:worker-1', 'DNS:worker-1,DNS:worker-2,IP:127.0.35.21', asNode('worker-1'));
    await create('unknown-node', '/O=system:nodes/CN=system:node:ghost-1', 'DNS:ghost-1,IP:127.0.35.77', asNode('ghost-1'));
    await create('client-usage', '/O=system:nodes/CN=system:node:worker-2', 'DNS:worker-2,IP:127.0.35.22', asNode('worker-2'), 'kubernetes.io/kubelet-serving', ['digital signature', 'server auth', 'client auth']);
    await create('other-signer', '/CN=jane', 'DNS:jane.example', [], 'kubernetes.io/kube-apiserver-client', ['digital signature', 'client auth']);

    const decisions = await approve();
    const byName = new Map(decisions.map((d) => [d.csr, d]));
    expect(byName.get('other-address')).toMatchObject({ action: 'denied', reason: expect.stringContaining('127.0.35.99') });
    expect(byName.get('other-node')).toMatchObject({ action: 'denied', reason: expect.stringMatching(/names worker-2,/) });
    expect(byName.get('unknown-node')).toMatchObject({ action: 'denied', reason: expect.stringContaining('ghost-1 is not a worker of') });
    expect(byName.get('client-usage')).toMatchObject({ action: 'denied', reason: expect.stringContaining('client auth') });
    expect(byName.has('other-signer')).toBe(false);
    const now = new Map((await csrs()).map((c) => [c.metadata.name, c]));
    for (const name of ['other-address', 'other-node', 'unknown-node', 'client-usage']) {
      const condition = now.get(name)!.status!.conditions![0]!;
      expect(condition).toMatchObject({ type: 'Denied', reason: 'KubePkiDenied', message: `kube-pki approve-csrs: ${byName.get(name)!.reason}` });
      expect(now.get(name)!.status?.certificate).toBeUndefined();
    }
    expect(now.get('other-signer')!.status?.conditions ?? []).toEqual([]);
    // A second pass finds nothing left to judge.
    expect(await approve()).toEqual([]);

    // --watch judges what arrives, one JSON line per decision, until SIGTERM (exit 0).
    const watch = execa('node', [CLI, 'approve-csrs', '--watch', '--interval', '1', '--json', '--config', plane.config, '--out', plane.out], { reject: false, stdin: 'ignore' });
    let seen = '';
    watch.stdout!.on('data', (d: Buffer) => (seen += d.toString()));
    await create('worker-2-serving', '/O=system:nodes/CN=system:node:worker-2', 'DNS:worker-2,IP:127.0.35.22', asNode('worker-2'));
    await waitFor(async () => seen.includes('"worker-2-serving"'), 'approve-csrs --watch to judge the new CSR', 60_000);
    watch.kill('SIGTERM');
    const ended = await watch;
    expect(ended.exitCode, ended.stderr).toBe(0);
    expect(JSON.parse(seen.trim().split('\n')[0]!)).toMatchObject({ csr: 'worker-2-serving', action: 'approved', requester: 'system:node:worker-2' });
    await waitFor(async () => (await csrs()).find((c) => c.metadata.name === 'worker-2-serving')?.status?.certificate !== undefined, 'the controller manager to sign it', 60_000);
  });

  it('joins 10 simulated kubelets (client-go, the kubelet\'s own bootstrap code) with the bootstrap kubeconfig', async () => {
    const sim = await bootstrapSimBin();
    const r = await execa(sim, ['--bootstrap-kubeconfig', join(plane.dirOf('worker-2'), 'bootstrap-kubeconfig'), '--dir', await mkdtemp(join(dir, 'sim-')), '--nodes', '10'], { reject: false, timeout: 600_000 });
    expect(r.exitCode, `${r.stdout}\n${r.stderr.slice(-3000)}`).toBe(0);
    const result = JSON.parse(r.stdout) as { joined: number; failed: number };
    expect(result).toMatchObject({ joined: 10, failed: 0 });
    const nodes = await kubectl(admin(), ['get', 'nodes', '-l', 'kube-pki.test/simulated=true', '-o', 'name']);
    expect(nodes.stdout.trim().split('\n').sort()).toEqual(Array.from({ length: 10 }, (_, i) => `node/sim-${i + 1}`).sort());
  });

  it('refuses a deleted or expired token: 401 from the apiserver', async () => {
    const kubeconfig = join(plane.dirOf('worker-1'), 'bootstrap-kubeconfig');
    const id = /token: ([a-z0-9]{6})\./.exec(await readFile(kubeconfig, 'utf8'))![1]!;
    // Expired: a token of 3 seconds, applied while valid, refused once it has run out.
    const short = await kubePki(['token', 'create', '--config', plane.config, '--out', plane.out, '--ttl', '3s', '--description', 'short']);
    expect(short.exitCode, short.stderr).toBe(0);
    await applyManifests();
    const shortKc = join(dir, 'short.kubeconfig');
    const text = await readFile(kubeconfig, 'utf8');
    await writeFile(shortKc, text.replace(/token: \S+/, `token: ${short.stdout.trim()}`), { mode: 0o600 });
    await new Promise((r) => setTimeout(r, 4_000));
    const expired = await kubectl(shortKc, ['auth', 'whoami']);
    expect(expired.exitCode).not.toBe(0);
    expect(expired.stderr).toMatch(/Unauthorized/);

    // Deleted: gone from the folder and, with the command token delete prints, from the cluster.
    const del = await kubePki(['token', 'delete', id, '--config', plane.config, '--out', plane.out]);
    expect(del.exitCode, del.stderr).toBe(0);
    const command = /kubectl (-n kube-system delete secret bootstrap-token-[a-z0-9]{6})/.exec(del.stderr)![1]!.split(' ');
    expect((await kubectl(admin(), command)).exitCode).toBe(0);
    // The apiserver reads tokens from its Secret informer: refused once the deletion reaches it.
    await waitFor(async () => /Unauthorized/.test((await kubectl(kubeconfig, ['auth', 'whoami'])).stderr), 'the deleted token to be refused', 30_000);
    const deleted = await kubectl(kubeconfig, ['auth', 'whoami']);
    expect(deleted.exitCode).not.toBe(0);
    expect(deleted.stderr).toMatch(/Unauthorized/);
    // No valid token is left: distribute refuses to send a bootstrap kubeconfig that cannot join.
    expect(existsSync(join(plane.out, 'bootstrap-kubeconfig'))).toBe(false);
    const dist = await kubePki(['distribute', '--config', plane.config, '--out', plane.out, '--known-hosts', plane.knownHosts], { env: { SSH_AUTH_SOCK: '' } });
    expect(dist.exitCode).toBe(2);
    expect(dist.stderr).toMatch(/kube-pki token create/);
  });
});
