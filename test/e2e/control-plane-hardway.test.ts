import { X509Certificate } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectl } from '../helpers/apiserver.js';
import { tempDir } from '../helpers/cli.js';
import { startHardwayPlane, type HardwayPlane } from '../helpers/hardway-plane.js';
import { canI, leaderLeasesRenewed, tokenVerifies, whoami } from '../helpers/identity.js';
import { waitFor } from '../helpers/processes.js';
import { startKubelet } from '../helpers/kubelet.js';
import { ControlPlane, kubeconfigTls } from '../helpers/control-plane.js';
import { connect } from 'node:tls';

// Issue 21, 1: the hard way's two control-plane nodes (etcd member, kube-apiserver,
// kube-controller-manager, kube-scheduler each) from the files `kube-pki distribute` put on them, haproxy in
// front. The real apiserver, its default RBAC bindings and the Node authorizer judge every identity.

describe('the hard way: a real control plane from kube-pki\'s files', () => {
  let plane: HardwayPlane;
  let cleanup: () => Promise<void>;
  const m1 = () => plane.cp.node('master-1');
  /** A kubeconfig as master-1 received it. */
  const kc = (file: string) => join(plane.dirOf('master-1'), file);
  /** The controller manager's and scheduler's kubeconfigs name 127.0.0.1 (their own node): here each node has its own address. */
  const own = () => ['--server', `https://${m1().ip}:6443`];

  beforeAll(async () => {
    let dir: string;
    ({ dir, cleanup } = await tempDir('kube-pki-cp-hardway-'));
    plane = await startHardwayPlane({ net: 21, masters: 2, workers: ['worker-1', 'worker-2'], dir });
    await plane.cp.startAll();
  }, 300_000);
  afterAll(async () => {
    await plane?.stop();
    await cleanup?.();
  });

  it('authenticates every kubeconfig as the user and groups the catalog promises', async () => {
    const worker = (n: string, f: string) => join(plane.dirOf(n), f);
    const seen = {
      admin: await whoami(kc('admin.kubeconfig')),
      controllerManager: await whoami(kc('kube-controller-manager.kubeconfig'), own()),
      scheduler: await whoami(kc('kube-scheduler.kubeconfig'), own()),
      proxy: await whoami(worker('worker-1', 'kube-proxy.kubeconfig')),
      worker1: await whoami(worker('worker-1', 'worker-1.kubeconfig')),
      worker2: await whoami(worker('worker-2', 'worker-2.kubeconfig')),
    };
    expect(seen).toEqual({
      admin: { username: 'admin', groups: ['system:authenticated', 'system:masters'] },
      controllerManager: { username: 'system:kube-controller-manager', groups: ['system:authenticated'] },
      scheduler: { username: 'system:kube-scheduler', groups: ['system:authenticated'] },
      proxy: { username: 'system:kube-proxy', groups: ['system:authenticated'] },
      worker1: { username: 'system:node:worker-1', groups: ['system:authenticated', 'system:nodes'] },
      worker2: { username: 'system:node:worker-2', groups: ['system:authenticated', 'system:nodes'] },
    });
  });

  it('grants each identity what the default bindings and the Node authorizer give it, and nothing broader', async () => {
    const admin = kc('admin.kubeconfig');
    const scheduler = kc('kube-scheduler.kubeconfig');
    const proxy = join(plane.dirOf('worker-1'), 'kube-proxy.kubeconfig');
    const node1 = join(plane.dirOf('worker-1'), 'worker-1.kubeconfig');
    expect(await canI(admin, ['*', '*'])).toBe(true);
    expect(await canI(scheduler, ['create', 'pods', '--subresource=binding'], own())).toBe(true);
    expect(await canI(scheduler, ['delete', 'nodes'], own())).toBe(false);
    expect(await canI(scheduler, ['*', '*'], own())).toBe(false);
    expect(await canI(proxy, ['list', 'endpointslices.discovery.k8s.io'])).toBe(true);
    expect(await canI(proxy, ['create', 'pods'])).toBe(false);
    expect(await canI(proxy, ['get', 'secrets', '-A'])).toBe(false);
    expect(await canI(node1, ['get', 'secrets', '-A'])).toBe(false);

    // A kubelet registers its own Node (Node authorizer + NodeRestriction) and no other.
    const nodeYaml = async (name: string) => {
      const file = join(plane.cp.o.work, `${name}-node.yaml`);
      await writeFile(file, `apiVersion: v1\nkind: Node\nmetadata:\n  name: ${name}\n`);
      return file;
    };
    const own1 = await kubectl(node1, ['create', '-f', await nodeYaml('worker-1')]);
    expect(own1.exitCode, own1.stderr).toBe(0);
    const other = await kubectl(node1, ['create', '-f', await nodeYaml('worker-2')]);
    expect(other.exitCode).not.toBe(0);
    expect(other.stderr).toMatch(/forbidden/i);
    expect(await canI(node1, ['get', 'node/worker-1'])).toBe(true);
    // Updating another node passes the Node authorizer; NodeRestriction admission refuses it.
    const patchOther = await kubectl(node1, ['label', 'node', 'worker-1', 'kube-pki/test=own']);
    expect(patchOther.exitCode, patchOther.stderr).toBe(0);
    await kubectl(admin, ['create', '-f', await nodeYaml('worker-2')]);
    const labelOther = await kubectl(node1, ['label', 'node', 'worker-2', 'kube-pki/test=other']);
    expect(labelOther.exitCode).not.toBe(0);
    expect(labelOther.stderr).toMatch(/forbidden/i);
  });

  it('lets the controller manager and the scheduler hold and renew their leader-election leases', async () => {
    await leaderLeasesRenewed(kc('admin.kubeconfig'));
  });

  it('issues service-account tokens that authenticate and verify with our public key outside the apiserver', async () => {
    const admin = kc('admin.kubeconfig');
    await waitFor(async () => (await kubectl(admin, ['get', 'serviceaccount', 'default'])).exitCode === 0, 'the default service account', 60_000);
    const r = await kubectl(admin, ['create', 'token', 'default']);
    expect(r.exitCode, r.stderr).toBe(0);
    const token = r.stdout.trim();
    // The token alone, no client certificate: a kubeconfig-less kubectl as a pod would call.
    const asPod = ['--server', `https://${plane.cp.o.lb.ip}:6443`, '--certificate-authority', join(plane.dirOf('worker-1'), 'ca.crt'), '--token', token];
    expect(await whoami('/dev/null', asPod)).toMatchObject({ username: 'system:serviceaccount:default:default' });
    const pub = new X509Certificate(await readFile(await plane.cp.flagPath('kube-apiserver', m1(), '--service-account-key-file'))).publicKey;
    expect(tokenVerifies(token, pub)).toBe(true);
    const other = new X509Certificate(await readFile(join(plane.out, 'ca.crt'))).publicKey;
    expect(tokenVerifies(token, other)).toBe(false);
  });

  it('runs the real kubelet of worker-1: it registers its Node with its certificate, serves ours, and the apiserver reaches it with its client certificate', async () => {
    const admin = kc('admin.kubeconfig');
    const worker = { name: 'worker-1', ip: '127.0.21.21', dir: plane.dirOf('worker-1') };
    await kubectl(admin, ['delete', 'node', 'worker-1', '--ignore-not-found']);
    await startKubelet({ bins: plane.cp.o.bins, config: plane.config, node: worker, work: plane.cp.o.work, procs: plane.cp.procs });
    const nodeInfo = async () => {
      const r = await kubectl(admin, ['get', 'node', 'worker-1', '-o', 'json']);
      return r.exitCode === 0 ? (JSON.parse(r.stdout) as { status: { nodeInfo?: { kubeletVersion?: string } } }).status : null;
    };
    try {
      await waitFor(async () => (await nodeInfo())?.nodeInfo?.kubeletVersion === 'v1.37.2', 'worker-1 to register', 90_000);
    } catch (e) {
      throw new Error(`${(e as Error).message}\n${await plane.cp.procs.tail('worker-1/kubelet', 60)}`);
    }
    // Its heartbeat Lease is written with its own identity (the Node authorizer allows only its own).
    await waitFor(async () => (await kubectl(admin, ['get', 'lease', '-n', 'kube-node-lease', 'worker-1'])).exitCode === 0, 'the worker-1 lease', 30_000);

    // It serves worker-1.crt, which our CA signed; anonymous requests are refused, the apiserver's certificate is let in.
    const ca = await readFile(join(worker.dir, 'ca.crt'));
    const served = await new Promise<X509Certificate>((resolve, reject) => {
      const s = connect({ host: worker.ip, port: 10250, ca, servername: '' }, () => {
        resolve(s.getPeerX509Certificate()!);
        s.end();
      });
      s.on('error', reject);
    });
    expect(served.fingerprint256).toBe(new X509Certificate(await readFile(join(worker.dir, 'worker-1.crt'))).fingerprint256);
    expect((await ControlPlane.get(`https://${worker.ip}:10250/healthz`, { ca })).status).toBe(401);
    const client = {
      ca,
      cert: await readFile(await plane.cp.flagPath('kube-apiserver', m1(), '--kubelet-client-certificate')),
      key: await readFile(await plane.cp.flagPath('kube-apiserver', m1(), '--kubelet-client-key')),
    };
    expect((await ControlPlane.get(`https://${worker.ip}:10250/healthz`, client)).status).toBe(200);

    // The apiserver finds the kubelet at the node's InternalIP, set here as a cloud controller would (the
    // kubelet refuses a loopback --node-ip), and asks it for a container's log through its client certificate.
    const patch = JSON.stringify({ status: { addresses: [{ type: 'InternalIP', address: worker.ip }, { type: 'Hostname', address: 'worker-1' }] } });
    const patched = await kubectl(admin, ['patch', 'node', 'worker-1', '--subresource=status', '--type=merge', '-p', patch]);
    expect(patched.exitCode, patched.stderr).toBe(0);
    const pod = join(plane.cp.o.work, 'pod.yaml');
    await writeFile(pod, 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: probe\n  namespace: default\nspec:\n  nodeName: worker-1\n  containers:\n  - name: c\n    image: registry.k8s.io/pause:3.10\n');
    const created = await kubectl(admin, ['create', '-f', pod]);
    expect(created.exitCode, created.stderr).toBe(0);
    // The answer comes from the kubelet (kubelet_pods.go): the apiserver connected, verified worker-1.crt
    // against --kubelet-certificate-authority, and the kubelet authorised its client certificate.
    const logs = await kubectl(admin, ['logs', 'probe', '-c', 'c']);
    expect(logs.stderr).toMatch(/container "c" in pod "probe" is waiting to start/);
  });
});
