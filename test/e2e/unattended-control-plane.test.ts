import { X509Certificate } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubePki, tempDir } from '../helpers/cli.js';
import { startHardwayPlane, type HardwayPlane } from '../helpers/hardway-plane.js';
import { ReadyzProbe } from '../helpers/probe.js';
import { RestartSupervisor } from '../helpers/restart-supervisor.js';

// The unattended loop on the real control plane of the harness (docs/e2e.md): three hard-way control
// planes on 127.0.34.11–13 (etcd, kube-apiserver, kube-controller-manager, kube-scheduler each, started
// from the files distribution put on the node), haproxy in front on 127.0.34.30. The renewal service's
// command, a day after the PKI was made (gen ran a day ago under faketime: see unattended-etcd.test.ts), renews the 2-day leaves and
// restarts every component node by node by the description's commands; kube-pki waits for each
// component's health over TLS before the next node. /readyz through haproxy answers throughout, and
// every apiserver serves its new certificate afterwards. The restart command asks the test's supervisor,
// which restarts the component as an operator would (an apiserver drained from haproxy first).

const COMPONENTS = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler'];
const MASTERS = ['master-1', 'master-2', 'master-3'];

describe('unattended renewal on a running hard-way control plane (3 nodes, haproxy in front)', () => {
  let plane: HardwayPlane;
  let dir: string;
  let cleanup: () => Promise<void>;
  let supervisor: RestartSupervisor | undefined;
  const events: { node: string; component: string }[] = [];

  const servedSerial = (ip: string, port: number) =>
    new Promise<string>((resolve, reject) => {
      const socket = tlsConnect({ host: ip, port, rejectUnauthorized: false }, () => {
        resolve(socket.getPeerX509Certificate()!.serialNumber);
        socket.end();
      });
      socket.on('error', reject);
    });

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('kube-pki-unattended-cp-'));
    plane = await startHardwayPlane({
      net: 34,
      masters: 3,
      workers: [],
      dir,
      // Made a day ago (faketime), so that the service's command run now is "a day later".
      genAt: '-1 day',
      description: {
        validityDays: { ca: 30, leaf: 2 },
        restart: { commands: Object.fromEntries(COMPONENTS.map((c) => [c, ['sh', 'restart.sh', c]])) },
      },
    });
    await plane.cp.startAll();
    const supervised = MASTERS.map((m) => ({ name: m, home: plane.lab.node(m).home, uid: plane.lab.node(m).uid }));
    for (const n of supervised) await RestartSupervisor.install(n);
    supervisor = new RestartSupervisor(supervised, async (node, component) => {
      events.push({ node, component });
      await plane.cp.restart(plane.cp.node(node), [component]);
    });
  }, 600_000);
  afterAll(async () => {
    await supervisor?.stop();
    await plane?.stop();
    await cleanup?.();
  });

  it("a day later the service's command renews, distributes and restarts every component node by node while /readyz answers", async () => {
    const units = join(dir, 'units');
    const metrics = join(dir, 'textfile');
    for (const d of [units, metrics]) await mkdir(d);
    const w = await kubePki(['systemd', '--units-dir', units, '--config', plane.config, '--out', plane.out, '--metrics-file', join(metrics, 'kube-pki.prom'), '--expiring-within', '1']);
    expect(w.exitCode, w.stderr).toBe(0);
    const service = await readFile(join(units, 'kube-pki-renew.service'), 'utf8');
    const line = (key: string) => service.split('\n').find((l) => l.startsWith(`${key}=`))!.slice(key.length + 1).replace(/^-/, '');
    const run = (unitLine: string) => {
      const [node, ...argv] = unitLine.split(' ');
      return execa(node!, argv, { reject: false, stdin: 'ignore', cwd: '/', all: true, env: { CI: '1', SSH_AUTH_SOCK: '' } });
    };
    const before = new X509Certificate(await readFile(join(plane.out, 'kube-apiserver.crt')));

    const probe = new ReadyzProbe(join(plane.dirOf('master-1'), 'admin.kubeconfig'), plane.cp);
    let r;
    try {
      r = await run(line('ExecStart'));
    } finally {
      await probe.stop();
    }
    expect(r.exitCode, r.all).toBe(0);

    // Node by node in the printed order, etcd first on each, every component once.
    expect(events).toEqual(MASTERS.flatMap((node) => COMPONENTS.map((component) => ({ node, component }))));
    for (const m of MASTERS) expect(r.all).toMatch(new RegExp(`${m}: healthy after .*etcd https://127\\.0\\.34\\.\\d+:2379/health, kube-apiserver https://127\\.0\\.34\\.\\d+:6443/readyz`));

    // The control plane kept serving: every /readyz through haproxy answered ok, and haproxy always had an apiserver.
    const failures = probe.samples.filter((s) => !s.ok);
    expect(probe.samples.length).toBeGreaterThan(20);
    expect(failures, JSON.stringify(failures.slice(0, 5))).toEqual([]);
    expect(probe.samples.filter((s) => s.upServers === 0)).toEqual([]);

    // Each apiserver serves its renewed certificate.
    const after = new X509Certificate(await readFile(join(plane.out, 'kube-apiserver.crt')));
    expect(after.serialNumber).not.toBe(before.serialNumber);
    for (const m of MASTERS) expect(await servedSerial(plane.cp.node(m).ip, 6443), m).toBe(after.serialNumber);

    // The metrics the service writes afterwards: promtool accepts them, with the new expiry and no drift.
    await run(line('ExecStopPost'));
    const text = await readFile(join(metrics, 'kube-pki.prom'), 'utf8');
    const lint = await execa('promtool', ['check', 'metrics'], { input: text, reject: false });
    expect(lint.exitCode, lint.stdout + lint.stderr).toBe(0);
    const notAfter = text.split('\n').find((l) => l.startsWith('x509_cert_not_after{') && l.includes(`filepath="${join(plane.out, 'kube-apiserver.crt')}"`))!;
    expect(Number(notAfter.split(' ').pop())).toBe(Math.floor(Date.parse(after.validTo) / 1000));
    for (const m of MASTERS) expect(text).toContain(`kube_pki_node_files_drift{kind="different",node="${m}",out_dir="${plane.out}"} 0`);
  }, 1_200_000);
});
