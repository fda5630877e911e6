import { X509Certificate, createPublicKey } from 'node:crypto';
import { cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectl } from '../helpers/apiserver.js';
import { kubePki, tempDir } from '../helpers/cli.js';
import { ControlPlane } from '../helpers/control-plane.js';
import { canI, leaderLeasesRenewed, tokenVerifies, whoami } from '../helpers/identity.js';
import { SERVICE_CIDR, kubeadm, kubeadmConfig, kubeadmDescription, startKubeadmPlane, treeHashes, type KubeadmPlane } from '../helpers/kubeadm-plane.js';
import { waitFor } from '../helpers/processes.js';
import { ReadyzProbe } from '../helpers/probe.js';

// Issue 21, 2: the kubeadm profile's three control planes, each started from its own OUT/<node> tree (its
// /etc/kubernetes). kubeadm itself judges the layout; the apiserver judges the identities and the front proxy.

const MASTERS = ['cp-1', 'cp-2', 'cp-3'];

describe('profile kubeadm: a real control plane and kubeadm judge the trees', () => {
  let plane: KubeadmPlane;
  let cleanup: () => Promise<void>;
  let dir: string;
  const tree = (node: string, file = '') => join(plane.out, node, file);

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('kube-pki-cp-kubeadm-'));
    plane = await startKubeadmPlane({ net: 22, masters: 3, workers: ['worker-1'], dir });
  }, 120_000);
  afterAll(async () => {
    await plane?.stop();
    await cleanup?.();
  });

  // kubeadm takes a loopback advertise address as "find a global address on lo" and refuses it, so it
  // judges the same description with the lab's addresses (written into certificates, never connected to).
  it('kubeadm init phase certs all and kubeconfig all take every file of each tree as it is, and check-expiration lists them', async () => {
    const labIp = (host: number) => `192.168.5.${host}`;
    const lab = join(dir, 'lab');
    await mkdir(lab);
    await writeFile(join(lab, 'cluster.yaml'), kubeadmDescription({ masters: 3, workers: ['worker-1'], ip: labIp }));
    const gen = await kubePki(['gen', '--config', join(lab, 'cluster.yaml'), '--out', join(lab, 'pki')]);
    expect(gen.exitCode, gen.stderr).toBe(0);
    for (const [i, node] of MASTERS.entries()) {
      const rootfs = join(lab, `rootfs-${node}`);
      const etc = join(rootfs, 'etc/kubernetes');
      await mkdir(join(rootfs, 'etc'), { recursive: true });
      await cp(join(lab, 'pki', node), etc, { recursive: true, preserveTimestamps: true });
      await writeFile(join(rootfs, 'kubeadm.yaml'), kubeadmConfig({ node, ip: labIp(11 + i), lb: labIp(30), serviceCIDR: SERVICE_CIDR, ecdsa: true, version: 'v1.37.2' }));
      const run = (args: string[]) => kubeadm(plane.bins, [...args, '--config', '/kubeadm.yaml', '--rootfs', rootfs]);
      const certs = await run(['init', 'phase', 'certs', 'all']);
      expect(certs.exitCode, certs.output).toBe(0);
      // kubeadm init makes every kubeconfig (super-admin.conf too); join makes all but super-admin.conf.
      const phases = i === 0 ? ['all'] : ['admin', 'kubelet', 'controller-manager', 'scheduler'];
      let kubeconfigs = { exitCode: 0, output: '' };
      for (const p of phases) {
        const r = await run(['init', 'phase', 'kubeconfig', p]);
        kubeconfigs = { exitCode: kubeconfigs.exitCode || r.exitCode, output: `${kubeconfigs.output}${r.output}\n` };
      }
      expect(kubeconfigs.exitCode, kubeconfigs.output).toBe(0);
      // Nothing regenerated, nothing added, no warning: every file was taken as existing and valid.
      expect(Object.fromEntries(await treeHashes(etc)), `${certs.output}\n${kubeconfigs.output}`).toEqual(Object.fromEntries(await treeHashes(join(lab, 'pki', node))));
      expect(certs.output).not.toMatch(/Generating|W\d{4}/);
      expect(kubeconfigs.output).not.toMatch(/Writing|W\d{4}/);

      const expiration = await run(['certs', 'check-expiration']);
      expect(expiration.exitCode, expiration.output).toBe(0);
      for (const name of ['admin.conf', 'apiserver', 'apiserver-etcd-client', 'apiserver-kubelet-client', 'controller-manager.conf', 'etcd-healthcheck-client', 'etcd-peer', 'etcd-server', 'front-proxy-client', 'scheduler.conf', ...(i === 0 ? ['super-admin.conf'] : [])])
        expect(expiration.output, name).toMatch(new RegExp(`^${name.replace('.', '\\.')}\\s+\\w{3} \\d+, \\d{4}`, 'm'));
      // kubeadm join makes no super-admin.conf: kubeadm lists it as missing on every other control plane too.
      expect(expiration.output).not.toMatch(i === 0 ? /MISSING|invalid/ : /!MISSING! (?!super-admin\.conf)|invalid/);

      // What kubeadm checks when it joins or renews with existing files (pkiutil getAltNames): every SAN it would put there.
      for (const file of ['pki/etcd/server.crt', 'pki/etcd/peer.crt']) {
        const c = new X509Certificate(await readFile(join(etc, file)));
        for (const name of [node, 'localhost']) expect(c.checkHost(name), `${node} ${file} ${name}`).toBe(name);
        for (const ip of [labIp(11 + i), '127.0.0.1', '::1']) expect(c.checkIP(ip), `${node} ${file} ${ip}`).toBe(ip);
      }
    }
  });

  describe('running', () => {
    beforeAll(async () => {
      await plane.cp.startAll();
    }, 300_000);

    it('authenticates every kubeconfig of every tree as kubeadm names it', async () => {
      for (const node of MASTERS) {
        const own = ['--server', `https://${plane.cp.node(node).ip}:6443`];
        expect(await whoami(tree(node, 'admin.conf'))).toEqual({ username: 'kubernetes-admin', groups: ['kubeadm:cluster-admins', 'system:authenticated'] });
        expect(await whoami(tree(node, 'controller-manager.conf'), own)).toEqual({ username: 'system:kube-controller-manager', groups: ['system:authenticated'] });
        expect(await whoami(tree(node, 'scheduler.conf'), own)).toEqual({ username: 'system:kube-scheduler', groups: ['system:authenticated'] });
        expect(await whoami(tree(node, 'kubelet.conf'))).toEqual({ username: `system:node:${node}`, groups: ['system:authenticated', 'system:nodes'] });
      }
      expect(await whoami(tree('worker-1', 'kubelet.conf'))).toEqual({ username: 'system:node:worker-1', groups: ['system:authenticated', 'system:nodes'] });
      expect(await whoami(tree('cp-1', 'super-admin.conf'))).toEqual({ username: 'kubernetes-super-admin', groups: ['system:authenticated', 'system:masters'] });
    });

    it('admin.conf is cluster-admin once the binding `kube-pki manifests` prints is applied; the others get what their roles give', async () => {
      const admin = tree('cp-1', 'admin.conf');
      const superAdmin = tree('cp-1', 'super-admin.conf');
      // Before the binding, kubeadm:cluster-admins is only a name.
      expect(await canI(admin, ['*', '*'])).toBe(false);
      const manifests = join(dir, 'manifests.yaml');
      const printed = await kubePki(['manifests', '--config', plane.config]);
      expect(printed.exitCode, printed.stderr).toBe(0);
      await writeFile(manifests, printed.stdout);
      const applied = await kubectl(superAdmin, ['apply', '-f', manifests]);
      expect(applied.exitCode, applied.stderr).toBe(0);
      await waitFor(() => canI(admin, ['*', '*']), 'admin.conf to be cluster-admin', 30_000);
      const own = ['--server', `https://${plane.cp.node('cp-1').ip}:6443`];
      expect(await canI(tree('cp-1', 'scheduler.conf'), ['create', 'pods', '--subresource=binding'], own)).toBe(true);
      expect(await canI(tree('cp-1', 'scheduler.conf'), ['*', '*'], own)).toBe(false);
      const worker = tree('worker-1', 'kubelet.conf');
      expect(await canI(worker, ['get', 'secrets', '-A'])).toBe(false);
      const nodeFile = join(dir, 'worker-1-node.yaml');
      await writeFile(nodeFile, 'apiVersion: v1\nkind: Node\nmetadata:\n  name: worker-1\n');
      const created = await kubectl(worker, ['create', '-f', nodeFile]);
      expect(created.exitCode, created.stderr).toBe(0);
      await writeFile(nodeFile, 'apiVersion: v1\nkind: Node\nmetadata:\n  name: cp-9\n');
      const other = await kubectl(worker, ['create', '-f', nodeFile]);
      expect(other.stderr).toMatch(/forbidden/i);
    });

    it('lets the controller manager and the scheduler hold and renew their leases', async () => {
      await leaderLeasesRenewed(tree('cp-1', 'super-admin.conf'));
    });

    it('issues service-account tokens that verify with sa.pub', async () => {
      const admin = tree('cp-1', 'super-admin.conf');
      await waitFor(async () => (await kubectl(admin, ['get', 'serviceaccount', 'default'])).exitCode === 0, 'the default service account', 60_000);
      const r = await kubectl(admin, ['create', 'token', 'default']);
      expect(r.exitCode, r.stderr).toBe(0);
      const token = r.stdout.trim();
      const asPod = ['--server', 'https://127.0.22.30:6443', '--certificate-authority', tree('worker-1', 'pki/ca.crt'), '--token', token];
      expect(await whoami('/dev/null', asPod)).toMatchObject({ username: 'system:serviceaccount:default:default' });
      expect(tokenVerifies(token, createPublicKey(await readFile(tree('cp-2', 'pki/sa.pub'))))).toBe(true);
    });

    it('takes X-Remote-User from a client presenting front-proxy-client.crt, and from no other certificate', async () => {
      const review = async (cert: string, key: string) => {
        const r = await ControlPlane.post('https://127.0.22.12:6443/apis/authentication.k8s.io/v1/selfsubjectreviews', '{"apiVersion":"authentication.k8s.io/v1","kind":"SelfSubjectReview"}', {
          ca: await readFile(tree('cp-2', 'pki/ca.crt')),
          cert: await readFile(cert),
          key: await readFile(key),
          headers: { 'X-Remote-User': 'alice', 'X-Remote-Group': 'developers', 'content-type': 'application/json' },
        });
        expect(r.status, r.body).toBe(201);
        return (JSON.parse(r.body) as { status: { userInfo: { username: string; groups: string[] } } }).status.userInfo;
      };
      const proxied = await review(tree('cp-2', 'pki/front-proxy-client.crt'), tree('cp-2', 'pki/front-proxy-client.key'));
      expect(proxied.username).toBe('alice');
      expect(proxied.groups).toContain('developers');
      const other = await review(tree('cp-2', 'pki/apiserver-kubelet-client.crt'), tree('cp-2', 'pki/apiserver-kubelet-client.key'));
      expect(other.username).toBe('kube-apiserver-kubelet-client');
    });

    it('keeps serving while etcd-ca and front-proxy-ca rotate, each phase followed by the rolling restart it prints', async () => {
      const proxyCert = async () => ({ cert: await readFile(tree('cp-2', 'pki/front-proxy-client.crt')), key: await readFile(tree('cp-2', 'pki/front-proxy-client.key')) });
      const asAlice = async (client: { cert: Buffer; key: Buffer }) =>
        ControlPlane.post('https://127.0.22.12:6443/apis/authentication.k8s.io/v1/selfsubjectreviews', '{"apiVersion":"authentication.k8s.io/v1","kind":"SelfSubjectReview"}', {
          ca: await readFile(tree('cp-2', 'pki/ca.crt')),
          ...client,
          headers: { 'X-Remote-User': 'alice', 'content-type': 'application/json' },
        });
      const oldProxy = await proxyCert();
      const probe = new ReadyzProbe(tree('cp-1', 'admin.conf'), plane.cp);
      try {
        for (const phase of ['start', 'reissue', 'finish']) {
          const r = await kubePki(['rotate-ca', phase, '--ca', 'etcd-ca', '--ca', 'front-proxy-ca', '--config', plane.config, '--out', plane.out, '--json']);
          expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
          for (const step of (JSON.parse(r.stdout) as { restart: { node: string; components: string[] }[] }).restart)
            if (MASTERS.includes(step.node)) await plane.cp.restart(plane.cp.node(step.node), step.components);
        }
      } finally {
        await probe.stop();
      }
      expect(probe.samples.length).toBeGreaterThan(20);
      expect(probe.samples.filter((s) => !s.ok), JSON.stringify(probe.samples.filter((s) => !s.ok).slice(0, 5))).toEqual([]);
      expect(probe.samples.filter((s) => s.upServers === 0)).toEqual([]);
      // The new front-proxy-client asserts users; the old one (its CA distrusted) no longer does.
      const now = await asAlice(await proxyCert());
      expect(now.status, now.body).toBe(201);
      expect(now.body).toContain('"username":"alice"');
      expect((await asAlice(oldProxy)).status).toBe(401);
    }, 900_000);
  });
});
