import { execa } from 'execa';
import { appendFile, chmod, chown, mkdir, readdir, readFile, rm, stat, unlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { DistributeReport, VerifyReport } from '../src/distribute/report.js';
import { CLI, kubePki, tempDir } from './helpers/cli.js';
import { pairProblems } from './helpers/pairs.js';
import { startCutProxy, startLab, startTrap, type SshLab } from './helpers/sshd.js';
import { NODE_PROMISE } from '../src/distribute/install.js';

// Distribution against real OpenSSH sshds, one per simulated node on its own loopback address and
// port 2222, each letting in only its own user: a node's home folder is its disk. The certificates
// keep the lab's 192.168.5.x addresses; ssh.host points at 127.0.1.x. Nothing here leaves 127/8.

const NODES = [
  { name: 'master-1', address: '192.168.5.11', role: 'controlplane', ssh: '127.0.1.11' },
  { name: 'master-2', address: '192.168.5.12', role: 'controlplane', ssh: '127.0.1.12' },
  { name: 'worker-1', address: '192.168.5.21', role: 'worker', ssh: '127.0.1.21' },
  { name: 'worker-2', address: '192.168.5.22', role: 'worker', ssh: '127.0.1.22' },
];

const MASTER_FILES = [
  'admin.kubeconfig',
  'apiserver-kubelet-client.crt',
  'apiserver-kubelet-client.key',
  'ca.crt',
  'ca.key',
  'encryption-config.yaml',
  'etcd-server.crt',
  'etcd-server.key',
  'kube-apiserver.crt',
  'kube-apiserver.key',
  'kube-controller-manager.kubeconfig',
  'kube-scheduler.kubeconfig',
  'service-account.crt',
  'service-account.key',
];
const workerFiles = (w: string) => ['ca.crt', 'kube-proxy.kubeconfig', `${w}.crt`, `${w}.key`, `${w}.kubeconfig`].sort();
const expectedFiles = (node: string) => (node.startsWith('master') ? MASTER_FILES : workerFiles(node));
const wantMode = (file: string) => (file.endsWith('.crt') ? 0o644 : 0o600);

interface RemoteFile {
  mode: number;
  uid: number;
  data: Buffer;
}

/** A node's folder as it is on its "disk" (read directly: the test runs as root on the same machine). */
async function tree(root: string, under = ''): Promise<Map<string, RemoteFile>> {
  const out = new Map<string, RemoteFile>();
  let entries;
  try {
    entries = await readdir(join(root, under), { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    const rel = under ? `${under}/${e.name}` : e.name;
    if (e.isDirectory()) for (const [k, v] of await tree(root, rel)) out.set(k, v);
    else {
      const st = await stat(join(root, rel));
      out.set(rel, { mode: st.mode & 0o7777, uid: st.uid, data: await readFile(join(root, rel)) });
    }
  }
  return out;
}

describe('kube-pki distribute (real sshd on loopback)', () => {
  let lab: SshLab;
  let dir: string;
  let cleanupDir: () => Promise<void>;
  let pki: string;
  let knownHosts: string;

  type Node = Record<string, unknown> & { name: string; ssh?: Record<string, unknown> };
  /** The lab description with ssh blocks for the simulated nodes; `change` edits it. */
  const writeConfig = async (name: string, change: (c: { ssh: Record<string, unknown>; nodes: Node[]; profile?: string }) => void = () => {}) => {
    const c = {
      profile: 'hardway',
      apiServer: { endpoint: '192.168.5.30' },
      ssh: { port: 2222, identityFile: lab.clientKey } as Record<string, unknown>,
      nodes: [
        ...NODES.map((n): Node => ({
          name: n.name,
          address: n.address,
          role: n.role,
          ssh: { host: n.ssh, user: lab.node(n.name).user, hostKey: lab.node(n.name).fingerprint },
        })),
        { name: 'loadbalancer', address: '192.168.5.30', role: 'loadbalancer' },
      ],
    };
    change(c);
    const file = join(dir, `${name}.yaml`);
    await writeFile(file, stringify(c));
    return file;
  };
  const node = (name: string) => (c: { nodes: Node[] }) => c.nodes.find((n) => n.name === name)!;
  const run = (config: string, args: string[] = []) =>
    kubePki(['distribute', '--config', config, '--out', pki, '--known-hosts', knownHosts, ...args], { env: { SSH_AUTH_SOCK: '' } });
  /** `distribute --json`: its DistributeReport, or with --verify (give R = VerifyReport) its VerifyReport. */
  const runJson = async <R extends DistributeReport | VerifyReport = DistributeReport>(config: string, args: string[] = []) => {
    const r = await run(config, [...args, '--json']);
    let report: R;
    try {
      report = JSON.parse(r.stdout) as R;
    } catch {
      throw new Error(`not JSON (exit ${r.exitCode}): ${r.stdout}\n${r.stderr}`);
    }
    return { ...r, report };
  };
  const home = (name: string, sub = 'pki') => join(lab.node(name).home, sub);
  let base: string;

  beforeAll(async () => {
    ({ dir, cleanup: cleanupDir } = await tempDir('kube-pki-distribute-'));
    pki = join(dir, 'pki');
    knownHosts = join(dir, 'known_hosts');
    lab = await startLab(NODES.map((n) => ({ name: n.name, address: n.ssh })), { sudo: ['master-1'] });
    base = await writeConfig('cluster');
    const gen = await kubePki(['gen', '--config', base, '--out', pki]);
    expect(gen.exitCode, gen.stderr).toBe(0);
  });

  afterAll(async () => {
    await lab?.cleanup();
    await cleanupDir?.();
  });

  it('puts exactly its manifest on each node: modes as specified, bytes equal, no CA key on a worker, nothing for the load balancer', async () => {
    const { exitCode, report, stderr } = await runJson(base);
    expect(exitCode, stderr).toBe(0);
    expect(report.result).toBe('ok');
    const lb = report.nodes.find((n) => n.node === 'loadbalancer')!;
    expect(lb.result).toBe('nothing-to-send');
    for (const n of NODES) {
      const r = report.nodes.find((x) => x.node === n.name)!;
      expect(r).toMatchObject({ result: 'ok', sent: expectedFiles(n.name).length, skipped: 0, remoteDir: home(n.name) });
      const files = await tree(home(n.name));
      expect([...files.keys()].sort(), n.name).toEqual(expectedFiles(n.name));
      for (const [rel, f] of files) {
        expect(f.mode, `${n.name}:${rel}`).toBe(wantMode(rel));
        expect(f.uid).toBe(lab.node(n.name).uid);
        expect(f.data.equals(await readFile(join(pki, rel))), `${n.name}:${rel} bytes`).toBe(true);
      }
      expect((await stat(home(n.name))).mode & 0o777).toBe(0o700);
      if (n.role === 'worker') expect(files.has('ca.key')).toBe(false);
    }
  });

  it('a second run sends nothing; a changed local file or a changed mode on a node is sent again', async () => {
    const again = await runJson(base);
    expect(again.exitCode, again.stderr).toBe(0);
    for (const r of again.report.nodes.filter((n) => n.result !== 'nothing-to-send')) {
      expect(r.sent, r.node).toBe(0);
      expect(r.skipped).toBe(expectedFiles(r.node).length);
      expect(r.files.every((f: { action: string }) => f.action === 'skipped')).toBe(true);
    }
    const plain = await run(base);
    expect(plain.stdout).toContain('master-1: ca.key: skipped (identical on the node)');

    await appendFile(join(pki, 'admin.kubeconfig'), '# edited\n');
    await chmod(join(home('worker-2'), 'worker-2.key'), 0o644);
    const changed = await runJson(base);
    expect(changed.exitCode, changed.stderr).toBe(0);
    const sent = (name: string) => changed.report.nodes.find((n) => n.node === name)!.files.filter((f: { action: string }) => f.action === 'sent');
    expect(sent('master-1').map((f: { path: string }) => f.path)).toEqual(['admin.kubeconfig']);
    expect(sent('master-2').map((f: { path: string }) => f.path)).toEqual(['admin.kubeconfig']);
    expect(sent('worker-1')).toEqual([]);
    expect(sent('worker-2')).toEqual([expect.objectContaining({ path: 'worker-2.key', reason: 'mode 644, want 600' })]);
    expect((await readFile(join(home('master-2'), 'admin.kubeconfig'), 'utf8')).endsWith('# edited\n')).toBe(true);
    expect((await stat(join(home('worker-2'), 'worker-2.key'))).mode & 0o777).toBe(0o600);
  });

  it('--verify reports missing, different and extra files and changes nothing', async () => {
    const clean = await runJson<VerifyReport>(base, ['--verify']);
    expect(clean.exitCode, clean.stderr).toBe(0);
    expect(clean.report.result).toBe('ok');

    await unlink(join(home('worker-1'), 'kube-proxy.kubeconfig'));
    await writeFile(join(home('worker-2'), 'ca.crt'), 'not the CA\n');
    await writeFile(join(home('worker-1'), 'ca.key'), 'a stray CA key\n', { mode: 0o600 });
    const before = await tree(home('worker-2'));
    const found = await runJson<VerifyReport>(base, ['--verify']);
    expect(found.exitCode).toBe(1);
    expect(found.report.result).toBe('problems');
    const check = (name: string) => found.report.nodes.find((n) => n.node === name)!;
    expect(check('worker-1')).toMatchObject({ result: 'problems', missing: ['kube-proxy.kubeconfig'], different: [], extra: ['ca.key'] });
    expect(check('worker-2')).toMatchObject({ result: 'problems', missing: [], extra: [] });
    expect(check('worker-2').different).toEqual([{ path: 'ca.crt', reasons: [expect.stringMatching(/bytes, the local file has/)] }]);
    expect(check('master-1').result).toBe('ok');
    expect(await tree(home('worker-2'))).toEqual(before);

    const text = await run(base, ['--verify']);
    expect(text.stdout).toMatch(/worker-1:\s+missing\s+kube-proxy\.kubeconfig/);
    expect(text.stdout).toMatch(/worker-1:\s+extra\s+ca\.key/);
    // `check --remote` is the same comparison under the check command.
    const remote = await kubePki(['check', '--remote', '--config', base, '--out', pki, '--known-hosts', knownHosts, '--json'], { env: { SSH_AUTH_SOCK: '' } });
    expect(remote.exitCode).toBe(1);
    const remoteReport = JSON.parse(remote.stdout) as { result: string; remote: VerifyReport };
    expect(remoteReport.result).toBe('ok'); // the local PKI itself is fine
    expect(remoteReport.remote.nodes.find((n) => n.node === 'worker-1')).toMatchObject({ missing: ['kube-proxy.kubeconfig'], extra: ['ca.key'] });

    const fix = await runJson(base);
    expect(fix.exitCode, fix.stderr).toBe(0);
    expect(fix.report.nodes.find((n) => n.node === 'worker-1')!.notes).toEqual(['not in its manifest, left as they are: ca.key']);
    await unlink(join(home('worker-1'), 'ca.key'));
    expect((await runJson<VerifyReport>(base, ['--verify'])).exitCode).toBe(0);
    const clean2 = await kubePki(['check', '--remote', '--config', base, '--out', pki, '--known-hosts', knownHosts], { env: { SSH_AUTH_SOCK: '' } });
    expect(clean2.exitCode, clean2.stdout + clean2.stderr).toBe(0);
    expect(clean2.stdout).toMatch(/^All good: 1 CA, 10 certificates, 6 kubeconfigs\.$/m);
    expect(clean2.stdout).toMatch(/^master-1: ok: 14 identical, 0 missing, 0 different, 0 extra$/m);
  });

  it('a node whose sshd is stopped fails alone, named with its error; after a restart a re-run completes', async () => {
    await appendFile(join(pki, 'admin.kubeconfig'), '# edited again\n');
    await lab.stop('worker-2');
    try {
      const r = await runJson(base, ['--retries', '1']);
      expect(r.exitCode).toBe(1);
      expect(r.report.result).toBe('failed');
      const w2 = r.report.nodes.find((n) => n.node === 'worker-2')!;
      expect(w2).toMatchObject({ result: 'failed', attempts: 2, sent: 0 });
      expect(w2.error).toMatch(/connection refused by 127\.0\.1\.22:2222/);
      for (const name of ['master-1', 'master-2', 'worker-1']) expect(r.report.nodes.find((n) => n.node === name)!.result, name).toBe('ok');
      expect((await readFile(join(home('master-1'), 'admin.kubeconfig'), 'utf8')).endsWith('# edited again\n')).toBe(true);

      const text = await run(base, ['--retries', '0']);
      expect(text.exitCode).toBe(1);
      expect(text.stdout).toMatch(/^worker-2\s+kpt\S+@127\.0\.1\.22:2222\s+0\s+0\s+failed\s+connection refused/m);
      expect(text.stderr).toContain('error: worker-2: connection refused by 127.0.1.22:2222');
    } finally {
      await lab.start('worker-2');
    }
    const after = await runJson(base);
    expect(after.exitCode, after.stderr).toBe(0);
  });

  it('a wrong hostKey is refused before anything is sent; the message names both fingerprints', async () => {
    const config = await writeConfig('wrong-key', (c) => {
      node('master-1')(c).ssh = { ...node('master-1')(c).ssh, hostKey: lab.node('worker-1').fingerprint, remoteDir: 'wrong-key-pki' };
    });
    const r = await runJson(config, ['--only', 'master-1']);
    expect(r.exitCode).toBe(1);
    const m1 = r.report.nodes.find((n) => n.node === 'master-1')!;
    expect(m1.error).toContain(lab.node('master-1').fingerprint);
    expect(m1.error).toContain(lab.node('worker-1').fingerprint);
    expect(m1.error).toContain('REMOTE HOST IDENTIFICATION HAS CHANGED');
    expect(m1.attempts).toBe(1);
    await expect(stat(home('master-1', 'wrong-key-pki'))).rejects.toThrow();
  });

  it('host keys from known_hosts: unknown refused, recorded with --accept-new, a changed key always refused', async () => {
    const config = await writeConfig('known-hosts', (c) => {
      const w1 = node('worker-1')(c);
      w1.ssh = { host: '127.0.1.21', user: lab.node('worker-1').user };
    });
    const unknown = await runJson(config, ['--only', 'worker-1']);
    expect(unknown.exitCode).toBe(1);
    expect(unknown.report.nodes.find((n) => n.node === 'worker-1')!.error).toMatch(/can't be established.*SHA256:.*--accept-new/s);
    // In plain output the node's error is told once (after the table), never once per file, and the node is named once.
    const plain = await run(config, ['--only', 'worker-1']);
    expect(plain.exitCode).toBe(1);
    const all = plain.stdout + plain.stderr;
    expect(all.split(lab.node('worker-1').fingerprint).length - 1, all).toBe(1);
    expect(all).not.toContain('worker-1: worker-1:');
    expect(plain.stderr).toMatch(/^error: worker-1: host key verification failed for \[127\.0\.1\.21\]:2222: /m);

    const accepted = await runJson(config, ['--only', 'worker-1', '--accept-new']);
    expect(accepted.exitCode, accepted.stderr).toBe(0);
    expect(await readFile(knownHosts, 'utf8')).toContain(`[127.0.1.21]:2222 ${lab.node('worker-1').hostKey}`);
    expect((await runJson(config, ['--only', 'worker-1'])).exitCode).toBe(0);

    await writeFile(knownHosts, `[127.0.1.21]:2222 ${lab.node('worker-2').hostKey}\n`);
    const changed = await runJson(config, ['--only', 'worker-1', '--accept-new']);
    expect(changed.exitCode).toBe(1);
    const error = changed.report.nodes.find((n) => n.node === 'worker-1')!.error as string;
    expect(error).toContain('REMOTE HOST IDENTIFICATION HAS CHANGED');
    expect(error).toContain(lab.node('worker-1').fingerprint);
    expect(error).toContain(lab.node('worker-2').fingerprint);
    await rm(knownHosts);
  });

  it('takes host, port, user and key from `vagrant ssh-config` output as is, and still checks host keys', async () => {
    const sshConfig = join(dir, 'vagrant-ssh-config');
    const w = lab.node('worker-2');
    await writeFile(
      sshConfig,
      [
        'Host worker-2',
        '  HostName 127.0.1.22',
        `  User ${w.user}`,
        '  Port 2222',
        '  UserKnownHostsFile /dev/null',
        '  StrictHostKeyChecking no',
        '  PasswordAuthentication no',
        `  IdentityFile "${lab.clientKey}"`,
        '  IdentitiesOnly yes',
        '  LogLevel FATAL',
        '',
      ].join('\n'),
    );
    const config = await writeConfig('ssh-config', (c) => {
      c.ssh = { remoteDir: '~/from-ssh-config' };
      for (const n of c.nodes) delete n.ssh;
    });
    const refused = await runJson(config, ['--only', 'worker-2', '--ssh-config', sshConfig]);
    expect(refused.exitCode).toBe(1);
    expect(refused.report.nodes[0]!.error).toContain("can't be established");
    const ok = await runJson(config, ['--only', 'worker-2', '--ssh-config', sshConfig, '--accept-new']);
    expect(ok.exitCode, ok.stderr).toBe(0);
    expect(ok.report.nodes[0]).toMatchObject({ host: '127.0.1.22', port: 2222, user: w.user, sent: 5 });
    expect([...(await tree(home('worker-2', 'from-ssh-config'))).keys()].sort()).toEqual(workerFiles('worker-2'));
    await rm(knownHosts);
  });

  it('a connection cut in the middle of an upload leaves no partial file at any final path; a re-run completes', async () => {
    const proxy = await startCutProxy({ address: '127.0.1.99', port: 2222 }, { address: '127.0.1.12', port: 2222 });
    try {
      const via = (remoteDir: string) => (c: { nodes: Node[] }) => {
        node('master-2')(c).ssh = { ...node('master-2')(c).ssh, host: '127.0.1.99', remoteDir };
      };
      // Measure a whole upload through the relay, then cut the next one at 60% of its bytes.
      const measure = await runJson(await writeConfig('measure', via('measure-pki')), ['--only', 'master-2']);
      expect(measure.exitCode, measure.stderr).toBe(0);
      const total = proxy.lastBytes();
      proxy.cutAfter = Math.floor(total * 0.6);
      const config = await writeConfig('cut', via('cut-pki'));
      const cut = await runJson(config, ['--only', 'master-2', '--retries', '0']);
      expect(cut.exitCode).toBe(1);
      expect(proxy.cuts).toBe(1);
      const m2 = cut.report.nodes[0]!;
      expect(m2.error).toMatch(/lost|closed|reset/i);
      const files = await tree(home('master-2', 'cut-pki'));
      const finals = [...files.keys()].filter((k) => MASTER_FILES.includes(k));
      const others = [...files.keys()].filter((k) => !MASTER_FILES.includes(k));
      // A node's files are staged first and installed together: cut while staging, none is in place.
      expect(others.length, 'the cut came after some files were staged').toBeGreaterThan(0);
      expect(finals, 'nothing installed before every file is staged').toEqual([]);
      for (const k of others) expect(k).toMatch(/^\..+\.kube-pki-[0-9a-f]{12}\.tmp$/);
      expect(m2.files.filter((x: { action: string }) => x.action === 'sent')).toEqual([]);

      // The next two connections are cut early too: the run tries again with backoff, removes the
      // cut run's staged files and completes.
      proxy.cutAfter = 2000;
      proxy.maxCuts = proxy.cuts + 2;
      const resumed = await runJson(config, ['--only', 'master-2', '--retries', '3']);
      expect(resumed.exitCode, resumed.stderr).toBe(0);
      expect(proxy.cuts).toBe(3);
      expect(resumed.report.nodes[0]).toMatchObject({ attempts: 3, skipped: 0, sent: MASTER_FILES.length });
      proxy.cutAfter = null;
      const after = await tree(home('master-2', 'cut-pki'));
      expect([...after.keys()].sort()).toEqual(MASTER_FILES);
      expect((await runJson(config, ['--only', 'master-2', '--verify'])).exitCode).toBe(0);
    } finally {
      await proxy.close();
    }
  });

  it('a node gets its files together: killed after each of its renames, the promise on the node completes every pair, and a re-run finishes', async () => {
    // A second PKI (every key and certificate new) replaces the first on master-2.
    const fresh = join(dir, 'pki-b');
    expect((await kubePki(['gen', '--config', base, '--out', fresh])).exitCode).toBe(0);
    const config = await writeConfig('kill', (c) => {
      node('master-2')(c).ssh = { ...node('master-2')(c).ssh, remoteDir: 'kill-pki' };
    });
    const folder = home('master-2', 'kill-pki');
    const send = (out: string, env: Record<string, string> = {}) =>
      kubePki(['distribute', '--config', config, '--out', out, '--known-hosts', knownHosts, '--only', 'master-2', '--json'], { env: { SSH_AUTH_SOCK: '', ...env } });
    const bytes = async (root: string) => new Map([...(await tree(root))].map(([k, v]) => [k, v.data]));
    let kills = 0;
    for (let n = 1; n < 40; n++) {
      const first = await send(pki);
      expect(first.exitCode, first.stderr).toBe(0);
      const killed = await send(fresh, { KUBE_PKI_TEST_STOP_AFTER_RENAME: String(n) });
      if (killed.signal !== 'SIGKILL') {
        expect(killed.exitCode, killed.stderr).toBe(0);
        break;
      }
      kills++;
      // What the node holds, with what its promise names put in place: every pair matches.
      const onNode = await bytes(folder);
      const promise = onNode.get(NODE_PROMISE);
      const promised = promise ? (JSON.parse(promise.toString('utf8')) as { files: { tmp: string; final: string }[] }).files : [];
      for (const { tmp, final } of promised) if (onNode.has(tmp)) onNode.set(final, onNode.get(tmp)!);
      const completed = new Map([...onNode].filter(([k]) => MASTER_FILES.includes(k)));
      expect(pairProblems(completed), `killed after rename ${n}, promise applied`).toEqual([]);
      const again = await send(fresh);
      expect(again.exitCode, `killed after rename ${n}, then again: ${again.stderr}`).toBe(0);
      const notes = JSON.parse(again.stdout).nodes[0].notes.join('\n');
      if (promised.some(({ tmp }) => onNode.has(tmp))) expect(notes).toContain('completed what an interrupted distribute had promised');
      const after = await bytes(folder);
      expect([...after.keys()].sort(), `killed after rename ${n}, then again`).toEqual(MASTER_FILES);
      expect(pairProblems(after)).toEqual([]);
      for (const [k, v] of after) expect(v.equals(await readFile(join(fresh, k))), k).toBe(true);
    }
    // The promise, then each of the 14 files' renames.
    expect(kills).toBe(MASTER_FILES.length + 1);
  }, 300_000);

  it('a rename refused part-way (an immutable ca.key) leaves the node promised; once it can be, the next run completes every pair', async () => {
    const fresh = join(dir, 'pki-immutable');
    expect((await kubePki(['gen', '--config', base, '--out', fresh])).exitCode).toBe(0);
    const config = await writeConfig('immutable', (c) => {
      node('master-2')(c).ssh = { ...node('master-2')(c).ssh, remoteDir: 'immutable-pki' };
    });
    const folder = home('master-2', 'immutable-pki');
    const send = (out: string) => runJson(config, ['--only', 'master-2', '--out', out]);
    expect((await send(pki)).exitCode).toBe(0);
    await execa('chattr', ['+i', join(folder, 'ca.key')]);
    try {
      const refused = await send(fresh);
      expect(refused.exitCode).toBe(1);
      expect(refused.report.nodes[0]!.error).toMatch(/ca\.key.*the node's new files are promised in .*\.kube-pki-install-intent\.json: the next distribute completes them first/);
      // The node is promised: its staged files complete every pair.
      const onNode = new Map([...(await tree(folder))].map(([k, v]) => [k, v.data]));
      const promised = (JSON.parse(onNode.get(NODE_PROMISE)!.toString('utf8')) as { files: { tmp: string; final: string }[] }).files;
      for (const { tmp, final } of promised) if (onNode.has(tmp)) onNode.set(final, onNode.get(tmp)!);
      expect(pairProblems(new Map([...onNode].filter(([k]) => MASTER_FILES.includes(k))))).toEqual([]);
      // Still immutable: the next run stops at the promise and does nothing else.
      const stuck = await send(fresh);
      expect(stuck.exitCode).toBe(1);
      expect(stuck.report.nodes[0]!.error).toContain('cannot complete what an interrupted distribute promised');
    } finally {
      await execa('chattr', ['-i', join(folder, 'ca.key')]);
    }
    const done = await send(fresh);
    expect(done.exitCode, done.stderr).toBe(0);
    expect(done.report.nodes[0]!.notes.join('\n')).toContain('completed what an interrupted distribute had promised: ca.key');
    const after = new Map([...(await tree(folder))].map(([k, v]) => [k, v.data]));
    expect([...after.keys()].sort()).toEqual(MASTER_FILES);
    expect(pairProblems(after)).toEqual([]);
    for (const [k, v] of after) expect(v.equals(await readFile(join(fresh, k))), k).toBe(true);
  });

  it('a file that cannot be staged (a folder it may not write) stops the node before any rename: none of its files change', async () => {
    const out = join(dir, 'tree-out');
    const write = async (files: Record<string, string>) => {
      for (const [p, from] of Object.entries(files)) {
        await mkdir(join(out, p, '..'), { recursive: true });
        await writeFile(join(out, p), await readFile(join(pki, from)), { mode: p.endsWith('.crt') ? 0o644 : 0o600 });
      }
    };
    await write({ 'master-2/pki/ca.crt': 'ca.crt', 'master-2/pki/ca.key': 'ca.key', 'master-2/pki/etcd/ca.crt': 'etcd-server.crt', 'master-2/admin.conf': 'admin.kubeconfig' });
    const config = await writeConfig('tree', (c) => {
      c.profile = 'kubeadm';
      node('master-2')(c).ssh = { ...node('master-2')(c).ssh, remoteDir: 'tree-pki' };
    });
    const args = ['--only', 'master-2', '--out', out];
    expect((await runJson(config, args)).exitCode).toBe(0);
    const folder = home('master-2', 'tree-pki');
    const before = await tree(folder);
    // A new pair, and a new file in a folder the login user may no longer write.
    await write({ 'master-2/pki/ca.crt': 'kube-apiserver.crt', 'master-2/pki/ca.key': 'kube-apiserver.key', 'master-2/pki/etcd/ca.crt': 'ca.crt' });
    await chmod(join(folder, 'pki/etcd'), 0o500);
    try {
      const r = await runJson(config, args);
      expect(r.exitCode).toBe(1);
      const files = r.report.nodes[0]!.files;
      expect(files.find((f) => f.path === 'pki/etcd/ca.crt')).toMatchObject({ action: 'failed' });
      expect(files.find((f) => f.path === 'pki/ca.key')).toMatchObject({ action: 'not-sent', reason: expect.stringContaining('installed together') });
      expect(await tree(folder)).toEqual(before); // the old pair in place, no staged file left
    } finally {
      await chmod(join(folder, 'pki/etcd'), 0o700);
    }
    const again = await runJson(config, args);
    expect(again.exitCode, again.stderr).toBe(0);
    for (const f of ['pki/ca.crt', 'pki/ca.key', 'pki/etcd/ca.crt']) expect((await readFile(join(folder, f))).equals(await readFile(join(out, 'master-2', f))), f).toBe(true);
  });

  it('sudo: true installs root-owned files through a private staging folder (kubeadm node tree)', async () => {
    const out = join(dir, 'kubeadm-out');
    const files: Record<string, string> = {
      'master-1/pki/ca.crt': await readFile(join(pki, 'ca.crt'), 'utf8'),
      'master-1/pki/ca.key': await readFile(join(pki, 'ca.key'), 'utf8'),
      'master-1/pki/etcd/ca.crt': await readFile(join(pki, 'etcd-server.crt'), 'utf8'),
      "master-1/admin.conf": await readFile(join(pki, 'admin.kubeconfig'), 'utf8'),
    };
    for (const [p, content] of Object.entries(files)) {
      await mkdir(join(out, p, '..'), { recursive: true });
      await writeFile(join(out, p), content, { mode: p.endsWith('.crt') ? 0o644 : 0o600 });
    }
    const target = join(lab.dir, 'root-owned', 'etc', 'kubernetes');
    const config = await writeConfig('sudo', (c) => {
      c.profile = 'kubeadm';
      node('master-1')(c).ssh = { ...node('master-1')(c).ssh, sudo: true, remoteDir: target };
    });
    // What a cut connection leaves: staging folders with a staged key, one two hours old, one of a
    // run that may still be going.
    const m1 = lab.node('master-1');
    const staging = (tag: string) => join(m1.home, `.kube-pki-staging-${tag}`);
    const { gid } = await stat(m1.home);
    for (const [tag, age] of [['0123456789ab', 7200], ['ba9876543210', 60]] as const) {
      await mkdir(staging(tag), { mode: 0o700 });
      await writeFile(join(staging(tag), 'c0ffee000000'), files['master-1/pki/ca.key']!, { mode: 0o600 });
      for (const p of [join(staging(tag), 'c0ffee000000'), staging(tag)]) {
        await chown(p, m1.uid, gid);
        const then = new Date(Date.now() - age * 1000);
        await utimes(p, then, then);
      }
    }
    const first = await kubePki(['distribute', '--config', config, '--out', out, '--known-hosts', knownHosts, '--only', 'master-1', '--json'], { env: { SSH_AUTH_SOCK: '' } });
    expect(first.exitCode, first.stderr + first.stdout).toBe(0);
    expect(await stat(staging('0123456789ab')).catch(() => null)).toBeNull();
    expect((await readdir(staging('ba9876543210'))).length).toBe(1);
    await rm(staging('ba9876543210'), { recursive: true });
    const onNode = await tree(target);
    expect([...onNode.keys()].sort()).toEqual(['admin.conf', 'pki/ca.crt', 'pki/ca.key', 'pki/etcd/ca.crt']);
    for (const [rel, f] of onNode) {
      expect(f.uid, rel).toBe(0);
      expect(f.mode, rel).toBe(wantMode(rel));
      expect(f.data.toString('utf8')).toBe(files[`master-1/${rel}`]);
    }
    for (const folder of ['', 'pki', 'pki/etcd']) {
      const st = await stat(join(target, folder));
      expect([st.uid, st.mode & 0o777], folder).toEqual([0, 0o700]);
    }
    expect((await readdir(lab.node('master-1').home)).filter((n) => n.startsWith('.kube-pki-staging'))).toEqual([]);

    const again = await kubePki(['distribute', '--config', config, '--out', out, '--known-hosts', knownHosts, '--only', 'master-1', '--json'], { env: { SSH_AUTH_SOCK: '' } });
    expect(JSON.parse(again.stdout).nodes[0]).toMatchObject({ result: 'ok', sent: 0, skipped: 4 });
    const verify = await kubePki(['distribute', '--verify', '--config', config, '--out', out, '--known-hosts', knownHosts, '--only', 'master-1'], { env: { SSH_AUTH_SOCK: '' } });
    expect(verify.exitCode, verify.stdout + verify.stderr).toBe(0);

    // A new pair, the run killed once its promise is on the node (root's, like the files): the next run completes it first.
    await writeFile(join(out, 'master-1/pki/ca.crt'), await readFile(join(pki, 'kube-apiserver.crt')));
    await writeFile(join(out, 'master-1/pki/ca.key'), await readFile(join(pki, 'kube-apiserver.key')));
    const killed = await kubePki(['distribute', '--config', config, '--out', out, '--known-hosts', knownHosts, '--only', 'master-1', '--json'], {
      env: { SSH_AUTH_SOCK: '', KUBE_PKI_TEST_STOP_AFTER_RENAME: '1' },
    });
    expect(killed.signal).toBe('SIGKILL');
    const promise = await stat(join(target, NODE_PROMISE));
    expect([promise.uid, promise.mode & 0o777]).toEqual([0, 0o600]);
    expect((await readFile(join(target, 'pki/ca.crt'), 'utf8'))).toBe(files['master-1/pki/ca.crt']); // nothing renamed yet
    const rolled = await kubePki(['distribute', '--config', config, '--out', out, '--known-hosts', knownHosts, '--only', 'master-1', '--json'], { env: { SSH_AUTH_SOCK: '' } });
    expect(rolled.exitCode, rolled.stderr).toBe(0);
    expect(JSON.parse(rolled.stdout).nodes[0].notes.join('\n')).toContain('completed what an interrupted distribute had promised: pki/ca.crt, pki/ca.key');
    for (const f of ['pki/ca.crt', 'pki/ca.key']) expect((await readFile(join(target, f))).equals(await readFile(join(out, 'master-1', f))), f).toBe(true);
    expect((await readdir(target)).filter((n) => n.startsWith('.'))).toEqual([]);
  });

  it("a ca-bundle.crt that kube-pki did not send (an operator's own OIDC bundle) is left on the node, with a note", async () => {
    const own = join(home('master-1'), 'ca-bundle.crt');
    const content = await readFile(join(pki, 'kube-apiserver.crt'));
    await writeFile(own, content, { mode: 0o644 });
    await chown(own, lab.node('master-1').uid, (await stat(home('master-1'))).gid);
    const r = await runJson(base, ['--only', 'master-1']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect((await readFile(own)).equals(content)).toBe(true);
    expect(r.report.nodes[0]!.notes.join('\n')).toContain('left as they are, not a trust bundle kube-pki sent (their content is none it sent from this folder): ca-bundle.crt');
    await unlink(own);
  });

  it('quotes remote command arguments so that the login shell passes them through unchanged', async () => {
    const { commandLine } = await import('../src/ssh/quote.js');
    const words = ["it's", 'a b', '$(id)', '`id`', '*', '~', '=x', '"q"', '\\', ';', '&&', '', '!', 'é', '-n', '%s'];
    const w = lab.node('worker-1');
    const kh = join(dir, 'kh-quote');
    await writeFile(kh, `[127.0.1.21]:2222 ${w.hostKey}\n`);
    // OpenSSH's own client sends the line; the node's login shell (/bin/sh) parses it.
    const r = await execa(
      'ssh',
      ['-F', '/dev/null', '-i', lab.clientKey, '-p', '2222', '-o', 'BatchMode=yes', '-o', `UserKnownHostsFile=${kh}`, `${w.user}@127.0.1.21`, commandLine(['printf', '%s\\n', ...words])],
      { stdin: 'ignore' },
    );
    expect(r.stdout.split('\n')).toEqual(words);
  });

  it('Ctrl-C during a distribution: says what was interrupted, releases the lock; running again completes every node', async () => {
    const out = join(dir, 'pki-interrupted');
    expect((await kubePki(['gen', '--config', base, '--out', out])).exitCode).toBe(0);
    const args = ['distribute', '--config', base, '--out', out, '--known-hosts', knownHosts];
    const run = execa(process.execPath, [CLI, ...args], { reject: false, env: { CI: '1', SSH_AUTH_SOCK: '' } });
    const lock = join(out, '.kube-pki.lock');
    for (let i = 0; i < 2000 && !(await stat(lock).catch(() => null)); i++) await new Promise((r) => setTimeout(r, 2));
    run.kill('SIGINT');
    const r = await run;
    expect(r.signal, r.stdout + r.stderr).toBe('SIGINT');
    expect(r.stderr).toContain(`kube-pki: interrupted by SIGINT: kube-pki ${args.join(' ')} (in ${out})`);
    expect(r.stderr).toContain('each node holds whole files only');
    expect(r.stderr).toContain(`the lock ${lock} is released`);
    expect(await stat(lock).catch(() => null)).toBeNull();
    const again = await kubePki(args, { env: { SSH_AUTH_SOCK: '' } });
    expect(again.exitCode, again.stderr).toBe(0);
    const verify = await kubePki([...args, '--verify'], { env: { SSH_AUTH_SOCK: '' } });
    expect(verify.exitCode, verify.stdout).toBe(0);
    for (const n of NODES) expect(pairProblems(new Map([...(await tree(home(n.name)))].map(([k, v]) => [k, v.data]))), n.name).toEqual([]);
  });

  it('gen --distribute generates, then distributes', async () => {
    const config = await writeConfig('gen-distribute', (c) => {
      Object.assign(c, { key: { algorithm: 'ecdsa' } });
      c.ssh = { ...c.ssh, remoteDir: 'gen-pki' };
    });
    const out = join(dir, 'gen-out');
    const r = await kubePki(['gen', '--config', config, '--out', out, '--distribute', '--only', 'worker-1', '--known-hosts', knownHosts], { env: { SSH_AUTH_SOCK: '' } });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^worker-1 .* ok/m);
    const files = await tree(home('worker-1', 'gen-pki'));
    expect([...files.keys()].sort()).toEqual(workerFiles('worker-1'));
    expect(files.get('worker-1.key')!.data.equals(await readFile(join(out, 'worker-1.key')))).toBe(true);
  });
});

describe('bad input: exit 2, a clear message, nothing connected', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let trap: Awaited<ReturnType<typeof startTrap>>;
  let key: string;

  const config = async (name: string, ssh: Record<string, unknown>, nodeSsh: Record<string, unknown> = {}) => {
    const file = join(dir, `${name}.yaml`);
    await writeFile(
      file,
      stringify({
        apiServer: { endpoint: '192.168.5.30' },
        ssh: { host: '127.0.1.50', port: 2222, identityFile: key, ...ssh },
        nodes: [
          { name: 'master-1', address: '192.168.5.11', role: 'controlplane', ssh: nodeSsh },
          { name: 'worker-1', address: '192.168.5.21', role: 'worker' },
        ],
      }),
    );
    return file;
  };
  const run = (file: string, args: string[] = []) => kubePki(['distribute', '--config', file, '--out', join(dir, 'pki'), '--known-hosts', join(dir, 'kh'), ...args], { env: { SSH_AUTH_SOCK: '' } });

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('kube-pki-distribute-bad-'));
    trap = await startTrap('127.0.1.50', 2222);
    key = join(dir, 'id_ed25519');
    await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
  });
  afterAll(async () => {
    await trap?.close();
    await cleanup?.();
  });

  // A login key problem stops the real run; a dry run, which connects to nothing, only warns of it.
  it.each([
    ['a missing identity file', { identityFile: '/nonexistent/id_ed25519' }, {}, [], /ssh\.identityFile: "\/nonexistent\/id_ed25519": no such file/, 'key'],
    ['a port out of range', {}, { port: 70000 }, [], /nodes\[0\]\.ssh\.port: 70000: must be 1 to 65535/, ''],
    ['an unknown node in --only', {}, {}, ['--only', 'worker-9'], /--only "worker-9": no such node in .*bad\.yaml \(nodes: master-1, worker-1\)$/m, ''],
    ['a remoteDir that is the home folder', { remoteDir: '~' }, {}, [], /ssh\.remoteDir: "~": names \/ or the login folder itself/, ''],
    ['a public key given as identity file', {}, { identityFile: 'PUB' }, [], /nodes\[0\]\.ssh\.identityFile: ".*id_ed25519\.pub": is not a private key/, 'key'],
  ])('%s', async (_what, ssh, nodeSsh, args, message, keyProblem) => {
    const file = await config('bad', ssh, Object.fromEntries(Object.entries(nodeSsh).map(([k, v]) => [k, v === 'PUB' ? `${key}.pub` : v])));
    const before = trap.count();
    const r = await run(file, args);
    expect(r.exitCode, r.stderr).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe('');
    const dry = await run(file, [...args, '--dry-run']);
    expect(dry.stderr).toMatch(message);
    if (keyProblem) {
      expect(dry.exitCode, dry.stderr).toBe(0);
      expect(dry.stderr).toContain('warning: the real run would stop here (no connection is made now)');
      expect(dry.stdout).toMatch(/^master-1 \(controlplane\) → /m);
    } else {
      expect(dry.exitCode, dry.stderr).toBe(2);
      expect(dry.stdout).toBe('');
    }
    expect(trap.count()).toBe(before);
  });

  it('--dry-run needs no SSH credentials at all (no key, no agent); the real run stops with exit 2', async () => {
    const file = await config('no-credentials', { identityFile: undefined });
    const home = join(dir, 'empty-home');
    await mkdir(home, { recursive: true });
    const env = { SSH_AUTH_SOCK: '', HOME: home };
    const dry = await kubePki(['distribute', '--config', file, '--out', join(dir, 'pki'), '--dry-run'], { env });
    expect(dry.exitCode, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/^worker-1 \(worker\) → /m);
    expect(dry.stderr).toMatch(/warning: .*no SSH credentials: set ssh\.identityFile/);
    const real = await kubePki(['distribute', '--config', file, '--out', join(dir, 'pki')], { env });
    expect(real.exitCode).toBe(2);
    expect(real.stderr).toContain('no SSH credentials');
    expect(trap.count()).toBe(0);
  });

  it('a bad --ssh-config value names the file, the host and the directive', async () => {
    const sshConfig = join(dir, 'ssh-config');
    await writeFile(sshConfig, 'Host master-1\n  Port 99999\n');
    const r = await run(await config('ok', {}), ['--ssh-config', sshConfig]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(`--ssh-config ${sshConfig}: Host master-1: Port: "99999": must be 1 to 65535`);
    expect(trap.count()).toBe(0);
  });

  it('--dry-run shows what goes where (PKI not generated yet) and connects to nothing', async () => {
    const file = await config('ok', {});
    const r = await run(file, ['--dry-run']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/master-1 \(controlplane\) → \S+@127\.0\.1\.50:2222, folder ~\/pki/);
    expect(r.stdout).toMatch(/^ {4}ca\.key\s+0600\s+\(not generated yet\)$/m);
    const json = JSON.parse((await run(file, ['--dry-run', '--json'])).stdout);
    expect(json.nodes.map((n: { node: string; files: { path: string }[] }) => [n.node, n.files.map((f) => f.path)])).toEqual([
      ['master-1', MASTER_FILES],
      ['worker-1', workerFiles('worker-1')],
    ]);
    expect(trap.count()).toBe(0);
  });

  it('gen --distribute checks the SSH settings before generating anything', async () => {
    const file = await config('gen-bad', { identityFile: '/nonexistent/key' });
    const out = join(dir, 'gen-out');
    const r = await kubePki(['gen', '--config', file, '--out', out, '--distribute'], { env: { SSH_AUTH_SOCK: '' } });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('"/nonexistent/key": no such file');
    await expect(stat(out)).rejects.toThrow();
    expect(trap.count()).toBe(0);
  });
});
