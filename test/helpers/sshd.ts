import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, chown, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';

/**
 * Simulated nodes for distribution tests: one real OpenSSH sshd per node, each on its own loopback
 * address, each letting in only its own local user, so that each node's home folder is its "disk".
 * Needs root (useradd, sshd). Everything made here is undone by cleanup(); sshd is stopped by PID.
 */
export interface SimNode {
  name: string;
  address: string;
  port: number;
  user: string;
  uid: number;
  home: string;
  /** "SHA256:..." of the node's host key. */
  fingerprint: string;
  /** "ssh-ed25519 AAAA..." */
  hostKey: string;
  /** Every host key sshd has, by type (ed25519 always; rsa and ecdsa with LabOptions.hostKeyTypes). */
  hostKeys: Map<HostKeyType, { fingerprint: string; hostKey: string }>;
  /** With LabOptions.sftpLog: the file sftp-server logs each request to. */
  sftpLog?: string;
  /** sshd's log (-e), for counting connections. */
  log: string;
  process?: ChildProcess;
}

export interface SshLab {
  dir: string;
  /** The client's private key (ed25519, no passphrase), authorized on every node. */
  clientKey: string;
  nodes: Map<string, SimNode>;
  node(name: string): SimNode;
  start(name: string): Promise<void>;
  stop(name: string): Promise<void>;
  /** Connections sshd accepted since the node started (from its log). */
  connections(name: string): number;
  cleanup(): Promise<void>;
}

export type HostKeyType = 'ed25519' | 'ecdsa' | 'rsa';

export interface LabOptions {
  port?: number;
  /** Host keys besides ed25519 (sshd shows the first of the client's preferred types it has). */
  hostKeyTypes?: HostKeyType[];
  /** sftp-server logs each request (VERBOSE: open, rename, fsync …) to the node's log. */
  sftpLog?: boolean;
  /** Nodes whose user may run any command as root with sudo, without a password. */
  sudo?: string[];
}

async function run(file: string, args: string[]): Promise<string> {
  return (await execa(file, args)).stdout;
}

export async function startLab(specs: { name: string; address: string }[], options: LabOptions = {}): Promise<SshLab> {
  if (process.getuid?.() !== 0) throw new Error('the distribution tests need root: they create a user per simulated node and start sshd');
  const port = options.port ?? 2222;
  const dir = await mkdtemp(join(tmpdir(), 'kube-pki-sshd-'));
  await chmod(dir, 0o755); // the users' homes are below it
  await mkdir('/run/sshd', { recursive: true, mode: 0o755 });
  const clientKey = join(dir, 'client_ed25519');
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'kube-pki-test', '-f', clientKey]);
  const clientPub = await readFile(`${clientKey}.pub`, 'utf8');
  const tag = randomBytes(2).toString('hex');
  const nodes = new Map<string, SimNode>();
  const sudoers: string[] = [];

  const lab: SshLab = {
    dir,
    clientKey,
    nodes,
    node(name) {
      const n = nodes.get(name);
      if (!n) throw new Error(`no simulated node ${name}`);
      return n;
    },
    async start(name) {
      const n = lab.node(name);
      n.log = '';
      const child = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', join(dir, name, 'sshd_config')], { detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
      n.process = child;
      child.stderr!.on('data', (d: Buffer) => (n.log += d.toString('utf8')));
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`sshd for ${name} did not start: ${n.log}`)), 10_000);
        const check = () => {
          if (n.log.includes('Server listening on')) {
            clearTimeout(timer);
            child.stderr!.off('data', check);
            resolve();
          }
        };
        child.stderr!.on('data', check);
        child.once('exit', (code) => {
          clearTimeout(timer);
          reject(new Error(`sshd for ${name} exited (${code}): ${n.log}`));
        });
      });
    },
    async stop(name) {
      const n = lab.node(name);
      const child = n.process;
      if (!child || child.exitCode !== null || child.pid === undefined) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      // Its own process group (detached): the listener and the sessions it forked.
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {
        child.kill('SIGTERM');
      }
      await exited;
      n.process = undefined;
    },
    connections(name) {
      return (lab.node(name).log.match(/Connection from /g) ?? []).length;
    },
    async cleanup() {
      for (const name of nodes.keys()) await lab.stop(name).catch(() => undefined);
      for (const n of nodes.values()) await execa('userdel', ['-f', '-r', n.user], { reject: false });
      for (const file of sudoers) await rm(file, { force: true });
      await rm(dir, { recursive: true, force: true });
    },
  };

  try {
    for (const [i, spec] of specs.entries()) {
      const user = `kpt${tag}-${i}`;
      const home = join(dir, 'home', user);
      const nodeDir = join(dir, spec.name);
      await mkdir(nodeDir, { recursive: true });
      await mkdir(join(dir, 'home'), { recursive: true, mode: 0o755 });
      await run('useradd', ['-m', '-d', home, '-s', '/bin/sh', '-c', `kube-pki test node ${spec.name}`, user]);
      // useradd leaves the password locked; with UsePAM no, sshd then refuses even key logins.
      await run('usermod', ['-p', '*', user]);
      const uid = Number(await run('id', ['-u', user]));
      const gid = Number(await run('id', ['-g', user]));
      await mkdir(join(home, '.ssh'), { mode: 0o700 });
      await writeFile(join(home, '.ssh', 'authorized_keys'), clientPub, { mode: 0o600 });
      await chown(join(home, '.ssh'), uid, gid);
      await chown(join(home, '.ssh', 'authorized_keys'), uid, gid);
      if (options.sudo?.includes(spec.name)) {
        const file = `/etc/sudoers.d/kube-pki-test-${user.replace(/[^a-z0-9]/g, '')}`;
        await writeFile(file, `${user} ALL=(root) NOPASSWD: ALL\n`, { mode: 0o440 });
        sudoers.push(file);
      }
      const hostKeys = new Map<HostKeyType, { fingerprint: string; hostKey: string }>();
      for (const type of [...new Set<HostKeyType>(['ed25519', ...(options.hostKeyTypes ?? [])])]) {
        const file = join(nodeDir, `ssh_host_${type}_key`);
        await run('ssh-keygen', ['-q', '-t', type, '-N', '', '-C', spec.name, '-f', file]);
        await chmod(file, 0o600);
        const hostKey = (await readFile(`${file}.pub`, 'utf8')).split(' ').slice(0, 2).join(' ');
        hostKeys.set(type, { hostKey, fingerprint: (await run('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${file}.pub`])).split(' ')[1]! });
      }
      const { hostKey, fingerprint } = hostKeys.get('ed25519')!;
      const sftpLog = join(nodeDir, 'sftp.log');
      if (options.sftpLog) {
        await writeFile(sftpLog, '');
        await chown(sftpLog, uid, gid);
      }
      await writeFile(
        join(nodeDir, 'sshd_config'),
        [
          `ListenAddress ${spec.address}:${port}`,
          ...[...hostKeys.keys()].map((type) => `HostKey ${join(nodeDir, `ssh_host_${type}_key`)}`),
          'PidFile none',
          'UsePAM no',
          `AllowUsers ${user}`,
          'AuthenticationMethods publickey',
          'PubkeyAuthentication yes',
          'PasswordAuthentication no',
          'KbdInteractiveAuthentication no',
          'PermitRootLogin no',
          'StrictModes yes',
          'AuthorizedKeysFile .ssh/authorized_keys',
          // The login shell runs a subsystem's command line: sftp-server's log (-e: stderr) goes to a file.
          options.sftpLog ? `Subsystem sftp /usr/lib/openssh/sftp-server -e -l VERBOSE 2>>${sftpLog}` : 'Subsystem sftp internal-sftp',
          'UseDNS no',
          'MaxStartups 100:30:200',
          'LogLevel INFO',
          '',
        ].join('\n'),
        { mode: 0o600 },
      );
      nodes.set(spec.name, { name: spec.name, address: spec.address, port, user, uid, home, fingerprint, hostKey, hostKeys, log: '', ...(options.sftpLog ? { sftpLog } : {}) });
    }
    for (const name of nodes.keys()) await lab.start(name);
  } catch (err) {
    await lab.cleanup();
    throw err;
  }
  return lab;
}

/**
 * A TCP relay in front of a node: counts the bytes the client sends on each connection and, once
 * `cutAfter` is set, cuts a connection (both ways) when it has sent that many, as long as fewer
 * than `maxCuts` were cut.
 */
export interface CutProxy {
  address: string;
  port: number;
  /** Client-to-server bytes of the last connection. */
  lastBytes(): number;
  cutAfter: number | null;
  maxCuts: number;
  /** Connections cut so far. */
  cuts: number;
  close(): Promise<void>;
}

export async function startCutProxy(listen: { address: string; port: number }, target: { address: string; port: number }): Promise<CutProxy> {
  const sockets = new Set<net.Socket>();
  let last = 0;
  const proxy: CutProxy = {
    ...listen,
    lastBytes: () => last,
    cutAfter: null,
    maxCuts: Infinity,
    cuts: 0,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
  const server = net.createServer((client) => {
    const upstream = net.connect(target.port, target.address);
    sockets.add(client).add(upstream);
    let sent = 0;
    last = 0;
    const limit = proxy.cuts < proxy.maxCuts ? proxy.cutAfter : null;
    const cut = () => {
      proxy.cuts++;
      client.resetAndDestroy();
      upstream.destroy();
    };
    client.on('data', (chunk: Buffer) => {
      if (limit !== null && sent + chunk.length >= limit) {
        // Forward up to the limit, then cut in the middle of whatever was in flight.
        if (sent < limit) upstream.write(chunk.subarray(0, limit - sent), cut);
        sent = limit;
        return;
      }
      sent += chunk.length;
      last = sent;
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => client.write(chunk));
    for (const [a, b] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      a.on('error', () => b.destroy());
      a.on('close', () => {
        b.destroy();
        sockets.delete(a);
      });
    }
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(listen.port, listen.address, resolve));
  return proxy;
}

/** A TCP listener that only counts connection attempts (for "nothing was connected"). */
export async function startTrap(address: string, port: number): Promise<{ count: () => number; close: () => Promise<void> }> {
  let count = 0;
  const server = net.createServer((s) => {
    count++;
    s.destroy();
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, address, resolve));
  return { count: () => count, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
