import { chmod, chown, copyFile, mkdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { DistributeReport } from '../src/distribute/report.js';
import { kubePki, tempDir } from './helpers/cli.js';
import { startLab, type SshLab } from './helpers/sshd.js';

// Host keys of every type, the system known_hosts, @cert-authority lines, unsupported ssh_config
// directives, folder syncs on the node and a staging folder that cannot be removed: against real
// OpenSSH sshds on 127.0.13.x (port 2222) that have ed25519, ECDSA and RSA host keys.

const NODES = [
  { name: 'master-1', address: '192.168.5.11', role: 'controlplane', ssh: '127.0.13.11' },
  { name: 'worker-1', address: '192.168.5.21', role: 'worker', ssh: '127.0.13.21' },
];
const SYSTEM_KNOWN_HOSTS = '/etc/ssh/ssh_known_hosts';

describe('distribute: host keys and durable writes on the nodes (real sshd on loopback)', () => {
  let lab: SshLab;
  let dir: string;
  let cleanupDir: () => Promise<void>;
  let pki: string;
  let knownHosts: string;

  type Ssh = Record<string, unknown>;
  /** The description with ssh blocks for the simulated nodes; `ssh(name)` gives a node's own block. */
  const writeConfig = async (name: string, ssh: (node: string) => Ssh = () => ({}), remoteDir = name) => {
    const file = join(dir, `${name}.yaml`);
    const config = {
      profile: 'hardway',
      apiServer: { endpoint: '192.168.5.30' },
      key: { algorithm: 'ecdsa', curve: 'P-256' },
      ssh: { port: 2222, identityFile: lab.clientKey, remoteDir },
      nodes: NODES.map((n) => ({ name: n.name, address: n.address, role: n.role, ssh: { host: n.ssh, user: lab.node(n.name).user, ...ssh(n.name) } })),
    };
    await writeFile(file, stringify(config));
    return file;
  };
  const distribute = async (config: string, args: string[] = []) => {
    const r = await kubePki(['distribute', '--config', config, '--out', pki, '--known-hosts', knownHosts, '--json', ...args], { env: { SSH_AUTH_SOCK: '' } });
    let report: DistributeReport | undefined;
    try {
      report = JSON.parse(r.stdout) as DistributeReport;
    } catch {
      report = undefined;
    }
    return { ...r, report, node: (name: string) => report?.nodes.find((n) => n.node === name) };
  };

  beforeAll(async () => {
    ({ dir, cleanup: cleanupDir } = await tempDir('kube-pki-ssh-'));
    lab = await startLab(NODES.map((n) => ({ name: n.name, address: n.ssh })), { hostKeyTypes: ['ecdsa', 'rsa'], sftpLog: true, sudo: ['master-1'] });
    pki = join(dir, 'pki');
    knownHosts = join(dir, 'known_hosts');
    await writeFile(knownHosts, '');
    const gen = await kubePki(['gen', '--config', await writeConfig('gen'), '--out', pki]);
    expect(gen.exitCode, gen.stderr).toBe(0);
  }, 120_000);
  afterAll(async () => {
    await lab?.cleanup();
    await cleanupDir();
  });

  it('a pinned ssh.hostKey is honoured whatever its type: RSA on one node, ECDSA on the other', async () => {
    const config = await writeConfig('pinned', (n) => ({ hostKey: lab.node(n).hostKeys.get(n === 'master-1' ? 'rsa' : 'ecdsa')!.fingerprint }));
    const r = await distribute(config);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(r.node('master-1')).toMatchObject({ result: 'ok', sent: 14 });
    expect(r.node('worker-1')).toMatchObject({ result: 'ok', sent: 5 });
  });

  it('a pin that matches none of its keys is refused, naming every key the node showed', async () => {
    const wrong = lab.node('worker-1').hostKeys.get('rsa')!.fingerprint;
    const config = await writeConfig('pinned-wrong', () => ({ hostKey: wrong }));
    const r = await distribute(config, ['--only', 'master-1']);
    expect(r.exitCode).toBe(1);
    const error = r.node('master-1')!.error!;
    expect(error).toContain('REMOTE HOST IDENTIFICATION HAS CHANGED');
    for (const type of ['ed25519', 'ecdsa', 'rsa'] as const) expect(error).toContain(lab.node('master-1').hostKeys.get(type)!.fingerprint);
    expect(error).toContain(wrong);
    await expect(stat(join(lab.node('master-1').home, 'pinned-wrong'))).rejects.toThrow();
  });

  it(`reads the system ${SYSTEM_KNOWN_HOSTS} as well as the user's known_hosts`, async () => {
    const saved = await readFile(SYSTEM_KNOWN_HOSTS, 'utf8').catch(() => null);
    const line = `[127.0.13.21]:2222 ${lab.node('worker-1').hostKeys.get('ecdsa')!.hostKey}\n`;
    try {
      await writeFile(SYSTEM_KNOWN_HOSTS, `${saved ?? ''}${line}`);
      const r = await distribute(await writeConfig('system-known-hosts'), ['--only', 'worker-1']);
      expect(r.exitCode, r.stdout + r.stderr).toBe(0);
      expect(r.node('worker-1')).toMatchObject({ result: 'ok', sent: 5 });
      expect(await readFile(knownHosts, 'utf8')).toBe(''); // nothing was added to the user's file
    } finally {
      if (saved === null) await rm(SYSTEM_KNOWN_HOSTS, { force: true });
      else await writeFile(SYSTEM_KNOWN_HOSTS, saved);
    }
  });

  it('a host covered only by a @cert-authority line is refused with a message that says so', async () => {
    const caKnownHosts = join(dir, 'known_hosts_ca');
    await writeFile(caKnownHosts, `@cert-authority [127.0.13.*]:2222 ${lab.node('master-1').hostKey} (any CA key)\n`);
    const r = await kubePki(['distribute', '--config', await writeConfig('cert-authority'), '--out', pki, '--known-hosts', caKnownHosts, '--json', '--only', 'master-1'], {
      env: { SSH_AUTH_SOCK: '' },
    });
    expect(r.exitCode).toBe(1);
    const error = (JSON.parse(r.stdout) as DistributeReport).nodes.find((n) => n.node === 'master-1')!.error!;
    expect(error).toContain(`only a @cert-authority line (${caKnownHosts}:1) covers it, and kube-pki does not check SSH host certificates`);
  });

  it('--ssh-config with ProxyJump or ProxyCommand is refused naming the directive, before connecting', async () => {
    const config = await writeConfig('proxy', (n) => ({ hostKey: lab.node(n).fingerprint }));
    for (const [directive, value] of [['ProxyJump', 'bastion.example'], ['ProxyCommand', 'ssh -W %h:%p bastion.example']]) {
      const sshConfig = join(dir, `ssh_config_${directive}`);
      await writeFile(sshConfig, `Host master-1\n  ${directive} ${value}\nHost *\n  ProxyJump none\n`);
      const before = lab.connections('master-1');
      const r = await distribute(config, ['--ssh-config', sshConfig]);
      expect(r.exitCode).toBe(2);
      expect(r.stderr).toContain(`--ssh-config ${sshConfig}: Host master-1: ${directive}: ${JSON.stringify(value)}: kube-pki connects to each node directly and does not support ${directive}`);
      expect(r.stderr).not.toContain('worker-1'); // "ProxyJump none" is no proxy
      expect(lab.connections('master-1')).toBe(before);
    }
  });

  it('syncs the folder after the renames into it and each new folder on the node (SFTP fsync on the folder)', async () => {
    const log = lab.node('worker-1').sftpLog!;
    await writeFile(log, '');
    const config = await writeConfig('synced', (n) => ({ hostKey: lab.node(n).fingerprint }), 'synced/deeper');
    const r = await distribute(config, ['--only', 'worker-1']);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    const home = lab.node('worker-1').home;
    const synced = [...(await readFile(log, 'utf8')).matchAll(/^fsync "(.*)"\s*$/gm)].map((m) => m[1]);
    // The target folder after the renames into it, and the parents of the two new folders.
    expect(synced).toContain(join(home, 'synced/deeper'));
    expect(synced).toContain(join(home, 'synced'));
    expect(synced).toContain(home);
    // The node's files are renamed together (after their promise), then their folder synced once.
    const lines = (await readFile(log, 'utf8')).split('\n');
    const lastRename = lines.reduce((last, l, i) => (/rename/.test(l) && l.includes(join(home, 'synced/deeper/')) ? i : last), -1);
    expect(lastRename).toBeGreaterThan(0);
    expect(lines.slice(lastRename).some((l) => l.trim() === `fsync "${join(home, 'synced/deeper')}"`), lines.slice(lastRename).join('\n')).toBe(true);
  });

  it('a staging folder it cannot remove (sudo) is reported, and distribution still works', async () => {
    const m1 = lab.node('master-1');
    // Left by an earlier run and made root's since: the login user can no longer remove what is in it.
    const stuck = join(m1.home, '.kube-pki-staging-0123456789ab');
    await mkdir(stuck, { mode: 0o755 });
    await copyFile(join(pki, 'ca.key'), join(stuck, 'c0ffee000000'));
    await chmod(join(stuck, 'c0ffee000000'), 0o600);
    await chown(stuck, 0, 0);
    const old = new Date(Date.now() - 2 * 3600 * 1000);
    await utimes(stuck, old, old);
    const config = await writeConfig('sudo', (n) => ({ hostKey: lab.node(n).fingerprint, ...(n === 'master-1' ? { sudo: true } : {}) }), '/root/kube-pki-hardening-sudo');
    try {
      for (let run = 0; run < 2; run++) {
        const r = await distribute(config, ['--only', 'master-1']);
        expect(r.exitCode, r.stdout + r.stderr).toBe(0);
        expect(r.node('master-1')).toMatchObject({ result: 'ok' });
        expect(r.node('master-1')!.notes.join('\n')).toContain(`a staging folder an earlier run left, ${stuck}, cannot be removed`);
      }
      expect((await stat(join('/root/kube-pki-hardening-sudo', 'ca.key'))).uid).toBe(0);
    } finally {
      await rm(stuck, { recursive: true, force: true });
      await rm('/root/kube-pki-hardening-sudo', { recursive: true, force: true });
    }
  });
});
