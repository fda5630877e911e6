import { copyFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectl } from '../helpers/apiserver.js';
import { kubePki, tempDir } from '../helpers/cli.js';
import { kubeconfigTls } from '../helpers/control-plane.js';
import { startHardwayPlane, type HardwayPlane } from '../helpers/hardway-plane.js';
import { leaderLeasesRenewed, whoami } from '../helpers/identity.js';
import { waitFor } from '../helpers/processes.js';
import { ReadyzProbe } from '../helpers/probe.js';
import { pemCerts } from '../helpers/rotation.js';

// Issue 21, 4: rotate-ca start, reissue and finish on a running hard-way control plane, each phase
// distributed and followed by the rolling restart the command prints, one node at a time, while a probe
// asks /readyz through haproxy several times a second. Three control planes: with the lab's two, etcd
// loses quorum whenever one member restarts (a two-member cluster needs both), and every apiserver's
// /readyz fails with it, whatever the certificates.

interface Restart {
  node: string;
  components: string[];
}

/** Every phase, then a rolling restart of the control planes in the printed order. */
async function phase(plane: HardwayPlane, name: string): Promise<Restart[]> {
  const r = await kubePki(['rotate-ca', name, '--config', plane.config, '--out', plane.out, '--json']);
  expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
  const report = JSON.parse(r.stdout) as { restart: Restart[] };
  await plane.distribute();
  for (const step of report.restart) {
    if (!plane.cp.o.nodes.some((n) => n.name === step.node)) continue; // workers run no kubelet here
    await plane.cp.restart(plane.cp.node(step.node), step.components);
  }
  return report.restart;
}


describe('rotate-ca on a running hard-way control plane (3 nodes, haproxy in front)', () => {
  let plane: HardwayPlane;
  let cleanup: () => Promise<void>;
  let dir: string;

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('kube-pki-cp-rotate-'));
    plane = await startHardwayPlane({ net: 24, masters: 3, workers: ['worker-1'], dir });
    await plane.cp.startAll();
  }, 300_000);
  afterAll(async () => {
    await plane?.stop();
    await cleanup?.();
  });

  it('keeps serving through start, reissue and finish; old tokens live on, old client certificates die', async () => {
    const admin = join(plane.dirOf('master-1'), 'admin.kubeconfig');
    const oldAdmin = join(dir, 'admin-before.kubeconfig');
    await copyFile(admin, oldAdmin);
    await waitFor(async () => (await kubectl(admin, ['get', 'serviceaccount', 'default'])).exitCode === 0, 'the default service account', 60_000);
    const token = (await kubectl(admin, ['create', 'token', 'default', '--duration=2h'])).stdout.trim();
    expect(token).toMatch(/^ey/);
    const asPod = () => ['--server', `https://${plane.cp.o.lb.ip}:6443`, '--certificate-authority', join(plane.dirOf('worker-1'), 'ca.crt'), '--token', token];

    await phase(plane, 'start');
    // The admin kubeconfig handed out at start (two CAs, the old client certificate) is the probe's.
    const probeConfig = join(dir, 'admin-at-start.kubeconfig');
    await copyFile(admin, probeConfig);
    const probe = new ReadyzProbe(probeConfig, plane.cp);
    try {
      await leaderLeasesRenewed(admin);
      await phase(plane, 'reissue');
      await leaderLeasesRenewed(admin);
      // During the overlap a client certificate of the old CA still authenticates (the server checked against the bundle).
      const bundle = await plane.cp.flagPath('kube-apiserver', plane.cp.node('master-1'), '--client-ca-file');
      expect(await whoami(oldAdmin, ['--certificate-authority', bundle])).toMatchObject({ username: 'admin' });
      // The probe's kubeconfig stops working at finish by design (its client certificate is the old CA's):
      // stop it before.
    } finally {
      await probe.stop();
    }
    const failures = probe.samples.filter((s) => !s.ok);
    expect(probe.samples.length).toBeGreaterThan(20);
    expect(failures, JSON.stringify(failures.slice(0, 5))).toEqual([]);
    expect(probe.samples.filter((s) => s.upServers === 0)).toEqual([]);

    const probeFinish = new ReadyzProbe(admin, plane.cp);
    try {
      await phase(plane, 'finish');
      await leaderLeasesRenewed(admin);
    } finally {
      await probeFinish.stop();
    }
    expect(probeFinish.samples.filter((s) => !s.ok), JSON.stringify(probeFinish.samples.filter((s) => !s.ok).slice(0, 5))).toEqual([]);
    expect(probeFinish.samples.filter((s) => s.upServers === 0)).toEqual([]);

    // A token from before start still authenticates: a CA rotation never touches the token key.
    expect(await whoami('/dev/null', asPod())).toMatchObject({ username: 'system:serviceaccount:default:default' });
    // A client certificate of the old CA is refused.
    const refused = await kubectl(oldAdmin, ['--insecure-skip-tls-verify', 'auth', 'whoami']);
    expect(refused.exitCode).not.toBe(0);
    expect(refused.stderr).toMatch(/Unauthorized|must be logged in/i);
    // Every kubeconfig on every node embeds exactly one CA, the new one.
    const newCa = pemCerts(await readFile(join(plane.out, 'ca.crt')));
    expect(newCa).toHaveLength(1);
    for (const node of ['master-1', 'master-2', 'master-3', 'worker-1']) {
      for (const f of ['admin.kubeconfig', 'kube-controller-manager.kubeconfig', 'kube-scheduler.kubeconfig', 'kube-proxy.kubeconfig', 'worker-1.kubeconfig']) {
        const file = join(plane.dirOf(node), f);
        const tls = await kubeconfigTls(file).catch(() => null);
        if (!tls) continue;
        expect(pemCerts(tls.ca).map((c) => c.fingerprint256), file).toEqual([newCa[0]!.fingerprint256]);
      }
    }
  }, 900_000);
});
