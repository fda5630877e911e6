import { X509Certificate } from 'node:crypto';
import { copyFile, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RenewCaReport } from '../../src/rotate/renew-ca.js';
import { kubePki, tempDir } from '../helpers/cli.js';
import { kubeconfigTls } from '../helpers/control-plane.js';
import { startHardwayPlane, type HardwayPlane } from '../helpers/hardway-plane.js';
import { leaderLeasesRenewed, whoami, type WhoAmI } from '../helpers/identity.js';
import { ReadyzProbe } from '../helpers/probe.js';
import { cert, pemCerts } from '../helpers/rotation.js';

// Issue 23: renew-ca on a running hard-way control plane (two nodes, haproxy in front, network
// 127.0.31). The renewed CA keeps its key, subject and key identifier, so old and new meet without a
// seam: every kubeconfig (the old ones kept aside and the new ones distributed) authenticates before
// any restart, while the apiservers still hold the old CA certificate, and throughout a rolling restart
// of the apiservers (a /readyz probe through haproxy several times a second sees no failure). etcd is
// restarted last, outside the probe: with two members, a restarting member takes quorum with it
// whatever the certificates (see control-plane-rotate-ca.test.ts); it comes back with the renewed CA.

/** Every kubeconfig of the cluster: where it is, and the apiserver it should reach here. */
const KUBECONFIGS = [
  { node: 'master-1', file: 'admin.kubeconfig', user: 'admin' },
  // The controller manager's and scheduler's name 127.0.0.1 (their own node): here each node has its own address.
  { node: 'master-1', file: 'kube-controller-manager.kubeconfig', user: 'system:kube-controller-manager', own: true },
  { node: 'master-2', file: 'kube-scheduler.kubeconfig', user: 'system:kube-scheduler', own: true },
  { node: 'worker-1', file: 'kube-proxy.kubeconfig', user: 'system:kube-proxy' },
  { node: 'worker-1', file: 'worker-1.kubeconfig', user: 'system:node:worker-1' },
] as const;

describe('renew-ca on a running hard-way control plane (2 nodes, haproxy in front)', () => {
  let plane: HardwayPlane;
  let cleanup: () => Promise<void>;
  let dir: string;

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('kube-pki-cp-renew-ca-'));
    plane = await startHardwayPlane({ net: 31, masters: 2, workers: ['worker-1'], dir });
    await plane.cp.startAll();
  }, 300_000);
  afterAll(async () => {
    await plane?.stop();
    await cleanup?.();
  });

  /** `kubectl auth whoami` through each kubeconfig, as it is in `folder(node)`. */
  const everyIdentity = async (folder: (node: string) => string): Promise<WhoAmI['username'][]> => {
    const seen: string[] = [];
    for (const k of KUBECONFIGS) {
      const own = 'own' in k ? ['--server', `https://${plane.cp.node(k.node).ip}:6443`] : [];
      seen.push((await whoami(join(folder(k.node), k.file), own)).username);
    }
    return seen;
  };
  const users = KUBECONFIGS.map((k) => k.user);

  it('old leaves, old kubeconfigs and the renewed CA work together, before and through a rolling restart', async () => {
    const old = join(dir, 'old');
    const oldOf = (node: string) => join(old, node);
    for (const k of KUBECONFIGS) {
      await mkdir(oldOf(k.node), { recursive: true });
      await copyFile(join(plane.dirOf(k.node), k.file), join(oldOf(k.node), k.file));
    }
    const oldCa = await cert(join(plane.out, 'ca.crt'));
    expect(await everyIdentity(plane.dirOf)).toEqual(users);

    // The restarts as the dry run lists them (--json), then the renewal sent to every node by --distribute.
    const dry = await kubePki(['renew-ca', '--config', plane.config, '--out', plane.out, '--dry-run', '--json']);
    expect(dry.exitCode, `${dry.stdout}\n${dry.stderr}`).toBe(0);
    const report = JSON.parse(dry.stdout) as RenewCaReport;
    const r = await kubePki(['renew-ca', '--config', plane.config, '--out', plane.out, '--distribute', '--known-hosts', plane.knownHosts], { env: { SSH_AUTH_SOCK: '' } });
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
    const backupDir = /^Old certificates and files are in (\S+)$/m.exec(r.stdout)![1]!;
    expect(r.stdout).toContain('1. master-1: etcd, kube-apiserver, kube-controller-manager, kube-scheduler');
    const renewed = await cert(join(plane.out, 'ca.crt'));
    expect(renewed.fingerprint256).not.toBe(oldCa.fingerprint256);
    expect(renewed.subject).toBe(oldCa.subject);
    expect(new Date(renewed.validFrom).getTime()).toBeGreaterThan(new Date(oldCa.validFrom).getTime());

    // Nothing restarted: the apiservers hold the old CA certificate; the kubeconfigs on the nodes embed the new one.
    for (const k of KUBECONFIGS) {
      const tls = await kubeconfigTls(join(plane.dirOf(k.node), k.file));
      expect(pemCerts(tls.ca).map((c) => c.fingerprint256), k.file).toEqual([renewed.fingerprint256]);
      expect(pemCerts((await kubeconfigTls(join(oldOf(k.node), k.file))).ca).map((c) => c.fingerprint256)).toEqual([oldCa.fingerprint256]);
    }
    expect(await everyIdentity(plane.dirOf)).toEqual(users);
    expect(await everyIdentity(oldOf)).toEqual(users);
    // The old CA file as a client's trust anchor, against the unchanged server certificate, with the new kubeconfig's client.
    const oldCaFile = join(dir, 'old-ca.crt');
    await execa('openssl', ['x509', '-in', join(backupDir, 'ca.crt'), '-out', oldCaFile]);
    expect((await cert(oldCaFile)).fingerprint256).toBe(oldCa.fingerprint256);
    expect((await whoami(join(plane.dirOf('master-1'), 'admin.kubeconfig'), ['--certificate-authority', oldCaFile])).username).toBe('admin');

    // The rolling restart renew-ca printed, without etcd (below): the apiservers then load the renewed CA.
    const masters = report.restart.filter((s) => s.node.startsWith('master-'));
    expect(masters.map((s) => s.node)).toEqual(['master-1', 'master-2']);
    expect(masters[0]!.components).toEqual(['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler']);
    const probe = new ReadyzProbe(join(oldOf('master-1'), 'admin.kubeconfig'), plane.cp);
    try {
      for (const step of masters) {
        await plane.cp.restart(plane.cp.node(step.node), step.components.filter((c) => c !== 'etcd'));
        expect(await everyIdentity(plane.dirOf)).toEqual(users);
        expect(await everyIdentity(oldOf)).toEqual(users);
      }
      await leaderLeasesRenewed(join(plane.dirOf('master-1'), 'admin.kubeconfig'));
    } finally {
      await probe.stop();
    }
    expect(probe.samples.length).toBeGreaterThan(20);
    expect(probe.failuresWithServers(), JSON.stringify(probe.failuresWithServers().slice(0, 5))).toEqual([]);
    expect(probe.samples.filter((s) => s.upServers === 0)).toEqual([]);
    // Each apiserver now trusts the renewed certificate file (the same name, new contents).
    for (const node of ['master-1', 'master-2']) {
      const clientCa = await plane.cp.flagPath('kube-apiserver', plane.cp.node(node), '--client-ca-file');
      expect(new X509Certificate(await readFile(clientCa)).fingerprint256).toBe(renewed.fingerprint256);
    }

    // etcd, one member at a time: its peers and the apiservers' old client certificates meet the renewed CA.
    for (const node of ['master-1', 'master-2']) await plane.cp.restart(plane.cp.node(node), ['etcd']);
    expect(await everyIdentity(plane.dirOf)).toEqual(users);
    expect(await everyIdentity(oldOf)).toEqual(users);
    const write = await execa('kubectl', ['--kubeconfig', join(oldOf('master-1'), 'admin.kubeconfig'), 'create', 'configmap', 'after-renew-ca', '--from-literal=ok=yes'], { reject: false, stdin: 'ignore' });
    expect(write.exitCode, write.stderr).toBe(0);
    ok(await kubePki(['check', '--config', plane.config, '--out', plane.out]));
  }, 900_000);
});

const ok = (r: { exitCode?: number; stdout: string; stderr: string }) => expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
