import { X509Certificate, createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { kubePki, kubePkiAt, tempDir } from '../helpers/cli.js';
import { spawnEtcdMember, stopEtcdMember } from '../helpers/etcd.js';
import { waitFor } from '../helpers/processes.js';
import { RestartSupervisor } from '../helpers/restart-supervisor.js';
import { startLab, type SshLab } from '../helpers/sshd.js';

// The unattended loop end to end, with real programs: a hard-way PKI with 2-day leaves on three sshd
// "nodes" (127.0.34.5x, this issue's range) that each run a member of a real 3-member etcd cluster
// started from the files distribution put in the node's folder. The command `kube-pki systemd` writes into
// the service is run as written, one day after gen (faketime): it renews the expiring leaves, sends each node
// its files and restarts its etcd member by the description's restart command, one node at a time, each
// waited for until etcd answers healthy over TLS; etcd serves throughout (a probe writes and reads all the
// time), and the metrics file the service writes shows the new expiry and no drift on the nodes.
// A second run where a node's member does not come back stops there: exit 1 naming the node and why,
// the node after it keeps its files and its process.
//
// The day in between: the PKI is made a day ago (gen under faketime '-1 day', node and openssl alike, so
// that every date kube-pki signs agrees with its clock), and the service runs now with the real clock,
// the one etcd (Go, which libfaketime cannot reach) checks with: certificates dated by a clock moved
// forward would start "tomorrow" (backdated by 5 minutes only) and not be valid yet for it.
//
// The restart command: `sh restart.sh etcd` in the node user's home asks the test's supervisor (this
// process, root) to restart that node's member, and waits for its answer (test/helpers/restart-supervisor.ts).

const NODES = [
  { name: 'cp-1', ip: '127.0.34.51' },
  { name: 'cp-2', ip: '127.0.34.52' },
  { name: 'cp-3', ip: '127.0.34.53' },
];
const clientUrl = (ip: string) => `https://${ip}:2379`;

interface RestartEvent {
  node: string;
  /** Members answering etcdctl endpoint health when the request came (the previous node must be back). */
  healthyAtRequest: string[];
}

describe('unattended renewal: renew --distribute --restart on a live 3-member etcd cluster', () => {
  let lab: SshLab;
  let dir: string;
  let cleanup: () => Promise<void>;
  let config: string;
  let pki: string;
  let units: string;
  let metrics: string;
  let data: string;
  const members = new Map<string, ResultPromise>();
  const events: RestartEvent[] = [];
  /** Nodes whose member is stopped and not started again on request (the failing node). */
  const stayDown = new Set<string>();
  let supervisor: RestartSupervisor | undefined;

  const home = (node: string) => lab.node(node).home;
  const local = (file: string) => join(pki, file);
  const certOf = async (path: string) => new X509Certificate(await readFile(path));
  const sha = async (path: string) => createHash('sha256').update(await readFile(path)).digest('hex');

  /** During a CA rotation the bundle (old + new) verifies members signed by either CA. */
  const trusted = () => (existsSync(local('ca-bundle.crt')) ? local('ca-bundle.crt') : local('ca.crt'));
  const etcdctl = async (args: string[], endpoints = NODES.map((n) => clientUrl(n.ip))) => {
    const r = await execa(
      'etcdctl',
      ['--endpoints', endpoints.join(','), '--cacert', trusted(), '--cert', local('etcd-server.crt'), '--key', local('etcd-server.key'), '--dial-timeout', '3s', '--command-timeout', '8s', ...args],
      { reject: false, stdin: 'ignore', all: true, env: { ETCDCTL_API: '3' } },
    );
    return { exitCode: r.exitCode ?? -1, output: r.all ?? '' };
  };

  /** The member of a node, started with the flags `kube-pki flags etcd` gives for the node's folder (what distribute sent). */
  const startMember = async (node: (typeof NODES)[number]) => {
    const r = await kubePki(['flags', 'etcd', '--config', config, '--dir', join(home(node.name), 'pki'), '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    const flags = (JSON.parse(r.stdout) as Record<string, { flag: string; path: string }[]>).etcd!.flatMap((f) => [f.flag, f.path]);
    members.set(node.name, spawnEtcdMember(node, NODES, data, 'kube-pki-unattended', flags));
  };
  const stopMember = (name: string) => stopEtcdMember(members, name);

  /** The test's process supervisor's work: restart a node's member (not for a node in stayDown). */
  /** Called as a node's restart is asked for (the kill test stops kube-pki there). */
  let onRequest: ((node: string) => void) | undefined;
  const restartMember = async (name: string, component: string) => {
    if (component !== 'etcd') throw new Error(`no ${component} runs here`);
    const node = NODES.find((n) => n.name === name)!;
    const healthy = await Promise.all(NODES.map(async (n) => ((await etcdctl(['endpoint', 'health'], [clientUrl(n.ip)])).exitCode === 0 ? n.name : null)));
    events.push({ node: name, healthyAtRequest: healthy.filter((n): n is string => n !== null) });
    onRequest?.(name);
    await stopMember(name);
    if (!stayDown.has(name)) await startMember(node);
  };

  /**
   * etcdctl put and get again and again through all three endpoints while the rollout runs. A request
   * that reaches a member in the instant it stops fails with etcd 3.4's "transport: missing content-type
   * field" (the member's HTTP side answers it); a client tries again, as kube-apiserver's does: each
   * probe may try twice, at once, and the cluster failed it only when both failed.
   */
  const probe = () => {
    const samples: { ok: boolean; attempts: number; output: string }[] = [];
    let running = true;
    let n = 0;
    const once = async (key: string, value: string) => {
      const put = await etcdctl(['put', key, value]);
      const get = put.exitCode === 0 ? await etcdctl(['get', key, '--print-value-only']) : put;
      return { ok: put.exitCode === 0 && get.exitCode === 0 && get.output.trim() === value, output: `${put.output} ${get.output}`.trim() };
    };
    const loop = (async () => {
      while (running) {
        const key = `probe-${++n}`;
        const first = await once(key, String(n));
        const result = first.ok ? { ...first, attempts: 1 } : { ...(await once(key, String(n))), attempts: 2 };
        samples.push(result.ok ? result : { ...result, output: `${first.output} | ${result.output}` });
        await new Promise((r) => setTimeout(r, 200));
      }
    })();
    return {
      stop: async () => {
        running = false;
        await loop;
        return samples;
      },
    };
  };

  /** The certificate a member serves now (it loaded its files at start). */
  const servedSerial = (ip: string) =>
    new Promise<string>((resolve, reject) => {
      const socket = tlsConnect({ host: ip, port: 2379, ca: [], rejectUnauthorized: false }, () => {
        resolve(socket.getPeerX509Certificate()!.serialNumber);
        socket.end();
      });
      socket.on('error', reject);
    });

  /** The unit's command line as systemd splits it (paths hold no spaces: kube-pki refuses them), run now: a day after gen. */
  const runUnitLine = async (line: string, prefix: string[] = []) => {
    const [node, ...argv] = line.replace(/^-/, '').split(' ');
    const [command, ...args] = [...prefix, node!, ...argv];
    return execa(command!, args, { reject: false, stdin: 'ignore', cwd: '/', all: true, env: { CI: '1', SSH_AUTH_SOCK: '' } });
  };
  /** The service's command with a wider threshold: every 2-day leaf is due again (a later day's run, without moving the clock). */
  const dueAgain = (line: string) => line.replace(' --expiring-within 1 ', ' --expiring-within 3 ');
  const unitLine = async (key: string) =>
    (await readFile(join(units, 'kube-pki-renew.service'), 'utf8'))
      .split('\n')
      .find((l) => l.startsWith(`${key}=`))!
      .slice(key.length + 1);

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('kube-pki-unattended-'));
    lab = await startLab(NODES.map((n) => ({ name: n.name, address: n.ip })));
    const supervised = NODES.map((n) => ({ name: n.name, home: home(n.name), uid: lab.node(n.name).uid }));
    for (const n of supervised) await RestartSupervisor.install(n);
    pki = join(dir, 'pki');
    config = join(dir, 'cluster.yaml');
    data = join(dir, 'etcd');
    units = join(dir, 'units');
    metrics = join(dir, 'textfile');
    for (const d of [data, units, metrics]) await mkdir(d);
    await writeFile(
      config,
      stringify({
        profile: 'hardway',
        apiServer: { endpoint: NODES[0]!.ip },
        validityDays: { ca: 30, leaf: 2 },
        ssh: { port: 2222, identityFile: lab.clientKey },
        // Only etcd runs here: the other components are neither restarted nor waited for.
        restart: { commands: { etcd: ['sh', 'restart.sh', 'etcd'] }, skip: ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kubelet', 'kube-proxy'] },
        nodes: NODES.map((n) => ({ name: n.name, address: n.ip, role: 'controlplane', ssh: { user: lab.node(n.name).user, hostKey: lab.node(n.name).fingerprint } })),
      }),
    );
    const gen = await kubePkiAt('-1 day', ['gen', '--distribute', '--config', config, '--out', pki], { env: { SSH_AUTH_SOCK: '' } });
    expect(gen.exitCode, `${gen.stdout}\n${gen.stderr}`).toBe(0);
    for (const n of NODES) await startMember(n);
    await waitFor(async () => (await etcdctl(['endpoint', 'health'])).exitCode === 0, 'etcd cluster health', 90_000);
    supervisor = new RestartSupervisor(supervised, restartMember);
    const w = await kubePki(['systemd', '--units-dir', units, '--config', config, '--out', pki, '--metrics-file', join(metrics, 'kube-pki.prom'), '--expiring-within', '1']);
    expect(w.exitCode, w.stderr).toBe(0);
  }, 240_000);

  afterAll(async () => {
    await supervisor?.stop();
    for (const name of [...members.keys()]) await stopMember(name);
    await lab?.cleanup();
    await cleanup?.();
  });

  it("today the service's command renews nothing; a day later it renews, distributes and restarts one node at a time while etcd keeps serving", async () => {
    const before = await certOf(local('etcd-server.crt'));
    const startLine = await unitLine('ExecStart');
    expect(startLine).toContain(' renew --expiring-within 1 --distribute --restart ');

    // The day gen ran: two days left on every leaf, nothing to renew, nothing sent, nothing restarted.
    const today = await runUnitLine(startLine, ['faketime', '-1 day']);
    expect(today.exitCode, today.all).toBe(0);
    expect(today.stdout).toContain('Nothing to renew');
    expect(today.stdout).toContain('Nothing to restart.');
    expect(events).toEqual([]);

    const probing = probe();
    const r = await runUnitLine(startLine);
    const samples = await probing.stop();
    expect(r.exitCode, r.all).toBe(0);

    // Renewed: every leaf had a day left, under the 1-day threshold.
    const after = await certOf(local('etcd-server.crt'));
    expect(after.serialNumber).not.toBe(before.serialNumber);
    expect(Date.parse(after.validTo)).toBeGreaterThan(Date.parse(before.validTo));
    expect(r.all).toContain('Renewed');

    // One node at a time in the printed order, each only once the one before answered healthy again.
    expect(events.map((e) => e.node)).toEqual(NODES.map((n) => n.name));
    for (const e of events) expect(e.healthyAtRequest.sort(), `at ${e.node}'s restart`).toEqual(NODES.map((n) => n.name));
    for (const n of NODES) expect(r.all).toMatch(new RegExp(`${n.name}: healthy after`));
    expect(r.all).toContain('not restarted (restart.skip): kube-apiserver, kube-controller-manager, kube-scheduler');

    // Each node holds the new files and its member serves the new certificate.
    for (const n of NODES) {
      expect(await sha(join(home(n.name), 'pki/etcd-server.crt')), n.name).toBe(await sha(local('etcd-server.crt')));
      expect(await servedSerial(n.ip), n.name).toBe(after.serialNumber);
    }

    // etcd served every probe: writes and reads through the rollout, never a failure.
    expect(samples.length).toBeGreaterThan(5);
    expect(samples.filter((s) => !s.ok).map((s) => s.output)).toEqual([]);

    // The service's second command (run after every run): metrics promtool accepts, with the new expiry
    // and serial, the renewal's time, and no drift on any node.
    // (Its exit code is check's: 1 here, as 2-day leaves are within --warn-days; the unit ignores it: "-".)
    const c = await runUnitLine(await unitLine('ExecStopPost'));
    expect(c.stderr).not.toContain('check --remote');
    const text = await readFile(join(metrics, 'kube-pki.prom'), 'utf8');
    const lint = await execa('promtool', ['check', 'metrics'], { input: text, reject: false });
    expect(lint.exitCode, lint.stdout + lint.stderr).toBe(0);
    const line = text.split('\n').find((l) => l.startsWith('x509_cert_not_after{') && l.includes(`filepath="${local('etcd-server.crt')}"`))!;
    expect(line).toContain(`serial_number="${BigInt(`0x${after.serialNumber}`).toString(10)}"`);
    expect(Number(line.split(' ').pop())).toBe(Math.floor(Date.parse(after.validTo) / 1000));
    expect(text).toMatch(/^kube_pki_last_renewal_success_timestamp_seconds\{[^}]*\} \d+$/m);
    expect(text).toContain(`kube_pki_check_problems{out_dir="${pki}",severity="error"} 0`);
    for (const n of NODES) {
      expect(text).toContain(`kube_pki_node_check_success{node="${n.name}",out_dir="${pki}"} 1`);
      for (const kind of ['missing', 'different', 'extra']) expect(text).toContain(`kube_pki_node_files_drift{kind="${kind}",node="${n.name}",out_dir="${pki}"} 0`);
    }
  }, 600_000);

  it('a node whose member does not come back stops the rollout there: exit 1 naming it and why; the next node keeps its files and process', async () => {
    events.length = 0;
    stayDown.add('cp-2');
    const cp3Files = await sha(join(home('cp-3'), 'pki/etcd-server.crt'));
    const cp3Process = members.get('cp-3')!.pid;
    const cp3Serial = await servedSerial('127.0.34.53');
    // The service's command with a short timeout, every leaf due again.
    const r = await runUnitLine(`${dueAgain(await unitLine('ExecStart'))} --restart-timeout 15`);
    expect(r.exitCode, r.all).toBe(1);
    expect(r.stderr).toContain('restart stopped at node cp-2: not healthy within 15s: etcd: https://127.0.34.52:2379/health:');
    expect(r.stderr).toContain('left untouched (files and processes): cp-3');
    expect(events.map((e) => e.node)).toEqual(['cp-1', 'cp-2']);
    // cp-3: the old files, the same process, the old certificate served.
    expect(await sha(join(home('cp-3'), 'pki/etcd-server.crt'))).toBe(cp3Files);
    expect(members.get('cp-3')!.pid).toBe(cp3Process);
    expect(await servedSerial('127.0.34.53')).toBe(cp3Serial);
    // The rest is recorded for the next run; the cluster still has its quorum (cp-1 and cp-3).
    const pending = JSON.parse(await readFile(local('.kube-pki-restart-pending.json'), 'utf8')) as { steps: { node: string; components: string[] }[] };
    expect(pending.steps.map((s) => s.node)).toEqual(['cp-2', 'cp-3']);
    expect((await etcdctl(['put', 'after-failure', 'yes'])).exitCode).toBe(0);
    // A failed run is no renewal success; check --remote reports cp-3's stale file in the metrics.
    const c = await runUnitLine(await unitLine('ExecStopPost'));
    expect(c.exitCode).toBe(1);
    const text = await readFile(join(metrics, 'kube-pki.prom'), 'utf8');
    expect(text).toMatch(new RegExp(`kube_pki_node_files_drift\\{kind="different",node="cp-3",out_dir="${pki}"\\} [1-9]`));
    expect(text).toContain(`kube_pki_node_files_drift{kind="different",node="cp-1",out_dir="${pki}"} 0`);
  }, 600_000);

  it('the next run, with nothing to renew, does what was left: cp-2 back, cp-3 gets its files and restarts; the record is gone', async () => {
    events.length = 0;
    stayDown.delete('cp-2');
    const [node, ...argv] = (await unitLine('ExecStart')).split(' ');
    // Today's clock: nothing is due, but the pending record and what distribution sends still restart.
    const r = await execa(node!, argv, { reject: false, stdin: 'ignore', cwd: '/', all: true, env: { CI: '1', SSH_AUTH_SOCK: '' } });
    expect(r.exitCode, r.all).toBe(0);
    expect(r.stdout).toContain('Nothing to renew');
    expect(events.map((e) => e.node)).toEqual(['cp-2', 'cp-3']);
    const current = (await certOf(local('etcd-server.crt'))).serialNumber;
    for (const n of NODES) {
      expect(await sha(join(home(n.name), 'pki/etcd-server.crt')), n.name).toBe(await sha(local('etcd-server.crt')));
      expect(await servedSerial(n.ip), n.name).toBe(current);
    }
    expect(existsSync(local('.kube-pki-restart-pending.json'))).toBe(false);
    await waitFor(async () => (await etcdctl(['endpoint', 'health'])).exitCode === 0, 'etcd cluster health', 60_000);
  }, 600_000);

  it('distribute --restart: a node whose file drifted gets it back, and only its member restarts', async () => {
    events.length = 0;
    const onNode = join(home('cp-2'), 'pki/etcd-server.crt');
    await writeFile(onNode, await readFile(local('ca.crt'))); // someone's mistake on cp-2 (read by etcd only at its next start)
    const r = await kubePki(['distribute', '--restart', '--config', config, '--out', pki], { env: { SSH_AUTH_SOCK: '' } });
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(events.map((e) => e.node)).toEqual(['cp-2']);
    expect(await sha(onNode)).toBe(await sha(local('etcd-server.crt')));
    expect(r.stdout).toContain('cp-2: restarting etcd: sh restart.sh etcd');
    expect(r.stdout).toContain('Restarted, one node at a time: cp-2;');
  }, 600_000);

  it('rotate-ca start, reissue and finish with --distribute --restart: each phase rolled out node by node while etcd serves', async () => {
    const probing = probe();
    try {
      for (const phase of ['start', 'reissue', 'finish']) {
        events.length = 0;
        const r = await kubePki(['rotate-ca', phase, '--distribute', '--restart', '--config', config, '--out', pki], { env: { SSH_AUTH_SOCK: '' } });
        expect(r.exitCode, `${phase}: ${r.stdout}\n${r.stderr}`).toBe(0);
        expect(events.map((e) => e.node), phase).toEqual(NODES.map((n) => n.name));
        for (const e of events) expect(e.healthyAtRequest.sort(), `${phase}: at ${e.node}'s restart`).toEqual(NODES.map((n) => n.name));
      }
    } finally {
      const samples = await probing.stop();
      expect(samples.length).toBeGreaterThan(5);
      expect(samples.filter((x) => !x.ok).map((x) => x.output)).toEqual([]);
    }
    // Every member serves a certificate of the new CA.
    const ca = await certOf(local('ca.crt'));
    for (const n of NODES) expect(await servedSerial(n.ip), n.name).toBe((await certOf(local('etcd-server.crt'))).serialNumber);
    expect((await certOf(local('etcd-server.crt'))).checkIssued(ca)).toBe(true);
  }, 900_000);

  it('a run killed while a node restarts: the next run restarts that node and the rest, with nothing to renew', async () => {
    events.length = 0;
    const [node, ...argv] = dueAgain(await unitLine('ExecStart')).split(' ');
    const run = execa(node!, argv, { reject: false, stdin: 'ignore', cwd: '/', all: true, detached: true, env: { CI: '1', SSH_AUTH_SOCK: '' } });
    onRequest = (name) => {
      if (name === 'cp-2') process.kill(-run.pid!, 'SIGKILL'); // the whole group: kube-pki and what it started
    };
    const killed = await run;
    onRequest = undefined;
    expect(killed.signal, killed.all).toBe('SIGKILL');
    expect(events.map((e) => e.node)).toEqual(['cp-1', 'cp-2']);
    const pending = JSON.parse(await readFile(local('.kube-pki-restart-pending.json'), 'utf8')) as { steps: { node: string }[] };
    expect(pending.steps.map((x) => x.node)).toEqual(['cp-2', 'cp-3']);

    events.length = 0;
    const again = await runUnitLine(await unitLine('ExecStart')); // the service's own threshold: nothing due now
    expect(again.exitCode, again.all).toBe(0);
    expect(again.stdout).toContain('Nothing to renew');
    expect(events.map((e) => e.node)).toEqual(['cp-2', 'cp-3']);
    const current = (await certOf(local('etcd-server.crt'))).serialNumber;
    for (const n of NODES) expect(await servedSerial(n.ip), n.name).toBe(current);
    expect(existsSync(local('.kube-pki-restart-pending.json'))).toBe(false);
  }, 600_000);
});
