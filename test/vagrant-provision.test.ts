import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, tempDir } from './helpers/cli.js';
import { Processes, waitFor } from './helpers/processes.js';
import { labCopy, vagrantUp, type UpSpec } from './helpers/vagrant-lab.js';

// The lab's provisioning for real, without VMs: each node is an OpenSSH sshd on its own loopback address,
// its "home" a temporary folder; the Vagrantfile's after-up trigger runs (fake Vagrant, commands run here)
// with scripts/provision-ssh.sh, whose ssh-keyscan and the final ssh login talk to those sshds.

const SSHD = '/usr/sbin/sshd';
const USER = userInfo().username;
const NODES = [
  { name: 'master-1', address: '127.0.41.11', role: 'controlplane' },
  { name: 'worker-1', address: '127.0.41.21', role: 'worker' },
];

async function freePort(host: string): Promise<number> {
  const server = createServer();
  await new Promise<void>((ok) => server.listen(0, host, ok));
  const { port } = server.address() as { port: number };
  await new Promise((ok) => server.close(ok));
  return port;
}

const listening = (host: string, port: number) =>
  new Promise<boolean>((ok) => {
    const socket = createConnection({ host, port }, () => (socket.destroy(), ok(true)));
    socket.on('error', () => ok(false));
  });

describe('lab provisioning against loopback sshds', () => {
  const sshds = new Processes();
  let dir: string;
  let cleanup: () => Promise<void>;
  let lab: string;
  const nodes: ((typeof NODES)[number] & { port: number; root: string; sshd: string })[] = [];

  const file = (node: number, name: string) => join(nodes[node]!.root, 'home', '.ssh', name);
  const startSshd = async (i: number) => {
    const n = nodes[i]!;
    sshds.start(SSHD, ['-D', '-e', '-f', join(n.sshd, 'sshd_config')]);
    await waitFor(() => listening(n.address, n.port), `sshd on ${n.address}:${n.port}`);
  };
  const newHostKey = async (i: number) => {
    const key = join(nodes[i]!.sshd, 'host_ed25519');
    await rm(key, { force: true });
    await rm(`${key}.pub`, { force: true });
    await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
  };
  const up = (order: string[], running: string[] = []) => {
    const machines: UpSpec['machines'] = Object.fromEntries(nodes.map((n) => [n.name, { root: n.root, user: USER }]));
    return vagrantUp(lab, { order, running, machines });
  };
  const snapshot = async () =>
    Object.fromEntries(
      await Promise.all(
        [[0, 'known_hosts'], [0, 'authorized_keys'], [0, 'id_ed25519'], [1, 'authorized_keys']].map(async ([i, name]) => [
          `${nodes[i as number]!.name}/${name}`,
          await readFile(file(i as number, name as string), 'utf8'),
        ]),
      ),
    );
  const sshFromHub = (i: number) =>
    execa(
      'ssh',
      [
        '-F', '/dev/null', '-i', file(0, 'id_ed25519'), '-o', `UserKnownHostsFile=${file(0, 'known_hosts')}`,
        '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=5',
        '-p', String(nodes[i]!.port), `${USER}@${nodes[i]!.address}`, 'echo reached',
      ],
      { reject: false, stdin: 'ignore' },
    );

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('kube-pki-lab-ssh-'));
    if (process.getuid?.() === 0) await mkdir('/run/sshd', { recursive: true, mode: 0o755 });
    for (const node of NODES) {
      const root = join(dir, node.name);
      const sshd = join(root, 'sshd');
      await mkdir(sshd, { recursive: true });
      nodes.push({ ...node, port: await freePort(node.address), root, sshd });
    }
    for (const [i, n] of nodes.entries()) {
      await newHostKey(i);
      await writeFile(
        join(n.sshd, 'sshd_config'),
        [
          `ListenAddress ${n.address}:${n.port}`,
          `HostKey ${join(n.sshd, 'host_ed25519')}`,
          `PidFile ${join(n.sshd, 'sshd.pid')}`,
          `AuthorizedKeysFile ${join(n.root, 'home', '.ssh', 'authorized_keys')}`,
          'StrictModes no', // the test folders are under /tmp
          'PasswordAuthentication no',
          'KbdInteractiveAuthentication no',
          'UsePAM no',
          'Subsystem sftp internal-sftp',
          '',
        ].join('\n'),
      );
      await startSshd(i);
    }
    // The nodes as cluster.yaml describes them; each sshd's port through the optional ssh: block.
    const clusterYaml = [
      'apiServer: { endpoint: 127.0.41.11 }',
      'nodes:',
      ...nodes.map((n) => `  - { name: ${n.name}, address: ${n.address}, role: ${n.role}, ssh: { port: ${n.port} } }`),
      '',
    ].join('\n');
    lab = await labCopy(join(dir, 'lab'), { clusterYaml });
    // The login user's own key (Vagrant's), which must stay.
    await mkdir(join(nodes[1]!.root, 'home', '.ssh'), { recursive: true, mode: 0o700 });
    await writeFile(file(1, 'authorized_keys'), 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBvagrantsownkeyvagrantsownkeyvagrantsownke vagrant\n');
  });

  afterAll(async () => {
    await sshds.stopAll();
    await cleanup();
  });

  it('a node up before master-1 waits for it', async () => {
    const r = await up(['worker-1']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain('master-1 is not running; worker-1 is linked to it when master-1 comes up');
    expect(existsSync(file(0, 'id_ed25519'))).toBe(false);
  });

  it('vagrant up twice leaves the same authorized_keys and known_hosts; master-1 logs in with host-key checking on', async () => {
    const first = await up(['master-1', 'worker-1']);
    expect(first.exitCode, first.stderr).toBe(0);
    const once = await snapshot();
    const second = await up(['master-1', 'worker-1'], ['master-1', 'worker-1']);
    expect(second.exitCode, second.stderr).toBe(0);
    expect(second.stdout).not.toContain('(updated)');
    expect(await snapshot()).toEqual(once);

    const hubKey = (await readFile(file(0, 'id_ed25519.pub'), 'utf8')).trim();
    expect(hubKey).toMatch(/^ssh-ed25519 \S+ kube-pki-lab:/);
    expect(once['master-1/authorized_keys']).toBe(`${hubKey}\n`);
    expect(once['worker-1/authorized_keys']).toBe(`ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBvagrantsownkeyvagrantsownkeyvagrantsownke vagrant\n${hubKey}\n`);
    const hostKey = async (i: number) => (await readFile(join(nodes[i]!.sshd, 'host_ed25519.pub'), 'utf8')).split(' ').slice(0, 2).join(' ');
    const scanned = await Promise.all(nodes.map(async (n, i) => `[${n.address}]:${n.port} ${await hostKey(i)}`));
    expect(once['master-1/known_hosts']).toBe(`${scanned.sort().join('\n')}\n`);
    for (const i of [0, 1]) expect((await sshFromHub(i)).stdout).toBe('reached');
  });

  it("a re-created node's new host key replaces the old one in master-1's known_hosts", async () => {
    await sshds.stopAll();
    await newHostKey(1);
    await startSshd(0);
    await startSshd(1);
    expect((await sshFromHub(1)).stderr).toContain('REMOTE HOST IDENTIFICATION HAS CHANGED');
    const r = await up(['worker-1'], ['master-1']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain('(updated)');
    expect((await sshFromHub(1)).stdout).toBe('reached');
  });

  it("a re-created master-1's new key replaces its old one in the nodes' authorized_keys; other keys stay", async () => {
    const old = (await readFile(file(0, 'id_ed25519.pub'), 'utf8')).trim();
    await rm(join(nodes[0]!.root, 'home'), { recursive: true });
    const r = await up(['master-1'], ['worker-1']);
    expect(r.exitCode, r.stderr).toBe(0);
    const key = (await readFile(file(0, 'id_ed25519.pub'), 'utf8')).trim();
    expect(key).not.toBe(old);
    const lines = (await readFile(file(1, 'authorized_keys'), 'utf8')).trim().split('\n');
    expect(lines).toEqual([expect.stringMatching(/ vagrant$/), key]);
    for (const i of [0, 1]) expect((await sshFromHub(i)).stdout).toBe('reached');
  });

  it('provision-ssh.sh names a node it cannot scan; provision-master.sh fetches nothing when Node.js and openssl are there', async () => {
    const script = join(ROOT, 'scripts', 'provision-ssh.sh');
    const unreachable = await execa('bash', [script, 'known-hosts', USER, `127.0.41.99:${await freePort('127.0.41.99')}`], {
      reject: false,
      env: { LAB_HOME: join(dir, 'nobody'), LAB_SCAN_TRIES: '1', LAB_SCAN_TIMEOUT: '1' },
    });
    expect(unreachable.exitCode).toBe(1);
    expect(unreachable.stderr).toMatch(/no host key from 127\.0\.41\.99:\d+/);

    const stubs = join(dir, 'no-network');
    await mkdir(stubs);
    for (const tool of ['apt-get', 'curl', 'gpg']) {
      await writeFile(join(stubs, tool), `#!/bin/sh\necho "${tool} must not run" >&2\nexit 99\n`);
      await chmod(join(stubs, tool), 0o755);
    }
    const master = await execa('bash', [join(ROOT, 'scripts', 'provision-master.sh')], {
      reject: false,
      env: { PATH: `${stubs}:${process.env.PATH}`, NODE_MAJOR: '20' },
    });
    expect(master.stderr).toBe('');
    expect(master.stdout).toMatch(/^hub ready: OpenSSL 3\.\S+, Node\.js v\d+\./);
  });
});
