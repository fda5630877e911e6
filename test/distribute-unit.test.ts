import { execa } from 'execa';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultCluster, parseCluster } from '../src/cluster/load.js';
import { manifestFor } from '../src/distribute/manifest.js';
import { normalizeRemoteDir } from '../src/distribute/targets.js';
import { hostKeyAlgorithms } from '../src/ssh/connect.js';
import { fingerprint, hostMatches, KnownHosts, knownHostsName, parseKnownHosts } from '../src/ssh/known-hosts.js';
import { commandLine, quoteWord } from '../src/ssh/quote.js';
import { kubePki, tempDir } from './helpers/cli.js';
import { generated } from './helpers/kubeadm.js';

// The parts of distribution that need no node: quoting, known_hosts, the manifest, settings.

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => ({ dir, cleanup } = await tempDir('kube-pki-distribute-unit-')));
afterAll(async () => cleanup?.());

describe('quoting for the remote shell', () => {
  const nasty = ["it's", 'a b', '$(touch /tmp/x)', '`id`', '$HOME', '*', '?', '~', '~/x', '=x', 'a=b', '"q"', '\\', ';', '&&', '|', '>', '', '!', '#', '%s', '{a,b}', 'é', '-n', "''", "'"];

  it('passes every word through sh, dash and bash unchanged', async () => {
    const shells = ['sh', 'bash', ...(await execa('sh', ['-c', 'command -v dash'], { reject: false })).stdout.split('\n').filter(Boolean)];
    for (const shell of shells) {
      const { stdout } = await execa(shell, ['-c', commandLine(['printf', '%s\\n', ...nasty])]);
      expect(stdout.split('\n'), shell).toEqual(nasty);
    }
  });

  it('leaves plain words bare and quotes the rest', () => {
    expect(commandLine(['sudo', '-n', 'install', '-m', '0600', '--', '/etc/kubernetes/pki/ca.key'])).toBe('sudo -n install -m 0600 -- /etc/kubernetes/pki/ca.key');
    expect(quoteWord("it's")).toBe(`'it'\\''s'`);
    expect(quoteWord('=x')).toBe("'=x'");
    expect(quoteWord('')).toBe("''");
  });

  it('refuses control characters', () => {
    expect(() => quoteWord('a\nb')).toThrow(/control character/);
    expect(() => quoteWord('a\u0000b')).toThrow(/control character/);
    expect(() => commandLine([])).toThrow(/empty/);
  });
});

describe('known_hosts', () => {
  let key: { pub: string; type: string; blob: Buffer };
  let other: Buffer;

  beforeAll(async () => {
    const load = async (name: string) => {
      await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, name)]);
      const [type, b64] = (await readFile(join(dir, `${name}.pub`), 'utf8')).split(' ');
      return { pub: `${type} ${b64}`, type: type!, blob: Buffer.from(b64!, 'base64') };
    };
    key = await load('host1');
    other = (await load('host2')).blob;
  });

  it('fingerprints like ssh-keygen -l', async () => {
    const { stdout } = await execa('ssh-keygen', ['-l', '-E', 'sha256', '-f', join(dir, 'host1.pub')]);
    expect(fingerprint(key.blob)).toBe(stdout.split(' ')[1]);
  });

  it('matches names, ports, wildcards, negations and hashed names (ssh-keygen -H)', async () => {
    expect(knownHostsName('10.0.0.1', 22)).toBe('10.0.0.1');
    expect(knownHostsName('10.0.0.1', 2222)).toBe('[10.0.0.1]:2222');
    expect(hostMatches('node1,10.0.0.1', '10.0.0.1')).toBe(true);
    expect(hostMatches('NODE1', 'node1')).toBe(true);
    expect(hostMatches('*.lab,!bad.lab', 'good.lab')).toBe(true);
    expect(hostMatches('*.lab,!bad.lab', 'bad.lab')).toBe(false);
    expect(hostMatches('[10.0.0.1]:2222', '10.0.0.1')).toBe(false);
    const file = join(dir, 'hashed_known_hosts');
    await writeFile(file, `[127.0.1.11]:2222 ${key.pub}\n`);
    await execa('ssh-keygen', ['-H', '-f', file]);
    const hashed = parseKnownHosts(await readFile(file, 'utf8'));
    expect(hashed[0]!.patterns).toMatch(/^\|1\|/);
    expect(hostMatches(hashed[0]!.patterns, '[127.0.1.11]:2222')).toBe(true);
    expect(hostMatches(hashed[0]!.patterns, '[127.0.1.12]:2222')).toBe(false);
  });

  it('tells known, unknown, changed, revoked and @cert-authority-only keys apart', () => {
    const kh = new KnownHosts('x', parseKnownHosts(
      [`# comment`, `a.lab ${key.pub}`, `b.lab ssh-ed25519 ${other.toString('base64')}`, `@revoked c.lab ${key.pub}`, `@cert-authority *.lab ${key.pub}`, 'garbage'].join('\n'),
    ));
    expect(kh.check('a.lab', key.blob)).toEqual({ kind: 'known' });
    expect(kh.check('d.other', key.blob)).toEqual({ kind: 'unknown' });
    // Host certificates are not checked: a host only a @cert-authority line covers is said to be so.
    expect(kh.check('d.lab', key.blob)).toEqual({ kind: 'cert-authority', place: 'known_hosts:5' });
    expect(kh.check('b.lab', key.blob)).toEqual({ kind: 'changed', known: [{ type: 'ssh-ed25519', fingerprint: fingerprint(other), place: 'known_hosts:3' }] });
    expect(kh.check('c.lab', key.blob)).toEqual({ kind: 'revoked', place: 'known_hosts:4' });
    expect(kh.typesFor('a.lab')).toEqual(['ssh-ed25519']);
  });

  it('records a new key in a line OpenSSH finds (ssh-keygen -F)', async () => {
    const file = join(dir, 'new', 'known_hosts');
    const kh = await KnownHosts.load(file);
    await Promise.all([kh.add('[127.0.1.21]:2222', key.blob), kh.add('[127.0.1.22]:2222', other)]);
    const { stdout } = await execa('ssh-keygen', ['-F', '[127.0.1.21]:2222', '-f', file]);
    expect(stdout).toContain(`[127.0.1.21]:2222 ${key.pub}`);
    expect(kh.check('[127.0.1.22]:2222', other)).toEqual({ kind: 'known' });
    expect((await KnownHosts.load(file)).check('[127.0.1.21]:2222', key.blob)).toEqual({ kind: 'known' });
  });

  it('asks for known key types first', () => {
    expect(hostKeyAlgorithms(['ssh-rsa']).slice(0, 4)).toEqual(['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa', 'ssh-ed25519']);
    expect(hostKeyAlgorithms([])[0]).toBe('ssh-ed25519');
  });
});

describe('per-node manifest', () => {
  it('hardway: control plane, workers and load balancer get what the issue lists, with modes', async () => {
    const manifests = await manifestFor(defaultCluster(), '/nonexistent');
    const files = (name: string) => manifests.find((m) => m.node.name === name)!.files;
    expect(files('master-1').map((f) => f.remote)).toEqual([
      'admin.kubeconfig', 'apiserver-kubelet-client.crt', 'apiserver-kubelet-client.key', 'ca.crt', 'ca.key', 'encryption-config.yaml', 'etcd-server.crt', 'etcd-server.key',
      'kube-apiserver.crt', 'kube-apiserver.key', 'kube-controller-manager.kubeconfig', 'kube-scheduler.kubeconfig', 'service-account.crt', 'service-account.key',
    ]);
    expect(files('master-2')).toEqual(files('master-1'));
    expect(files('worker-2').map((f) => f.remote)).toEqual(['ca.crt', 'kube-proxy.kubeconfig', 'worker-2.crt', 'worker-2.key', 'worker-2.kubeconfig']);
    expect(files('loadbalancer')).toEqual([]);
    for (const f of manifests.flatMap((m) => m.files)) expect(f.mode, f.remote).toBe(f.remote.endsWith('.crt') ? 0o644 : 0o600);
  });

  const kubeadm = (roles: string) =>
    parseCluster(`profile: kubeadm\napiServer: { endpoint: 10.0.0.10 }\nnodes:\n${roles}`, 'kubeadm.yaml');

  it('kubeadm: the node\'s own tree under <node>/, prefix removed', async () => {
    const out = join(dir, 'kubeadm');
    for (const p of ['cp-1/pki/ca.crt', 'cp-1/pki/ca.key', 'cp-1/pki/etcd/ca.key', 'cp-1/admin.conf', 'w-1/kubelet.conf', 'w-1/pki/ca.crt', '_cluster/pki/front-proxy-client.crt']) {
      await mkdir(join(out, p, '..'), { recursive: true });
      await writeFile(join(out, p), p);
    }
    const m = await manifestFor(kubeadm('  - { name: cp-1, address: 10.0.0.11, role: controlplane }\n  - { name: w-1, address: 10.0.0.21, role: worker }\n'), out);
    expect(m[0]!.files.map((f) => [f.local, f.remote, f.mode.toString(8)])).toEqual([
      ['cp-1/admin.conf', 'admin.conf', '600'],
      ['cp-1/pki/ca.crt', 'pki/ca.crt', '644'],
      ['cp-1/pki/ca.key', 'pki/ca.key', '600'],
      ['cp-1/pki/etcd/ca.key', 'pki/etcd/ca.key', '600'],
    ]);
    expect(m[1]!.files.map((f) => f.remote)).toEqual(['kubelet.conf', 'pki/ca.crt']);
  });

  it('never sends a file of a worker tree that is not in the catalog, a CA key name included', async () => {
    const out = join(dir, 'kubeadm-bad');
    await mkdir(join(out, 'w-1', 'pki'), { recursive: true });
    await writeFile(join(out, 'w-1', 'pki', 'front-proxy-ca.key'), 'x');
    const cluster = kubeadm('  - { name: cp-1, address: 10.0.0.11, role: controlplane }\n  - { name: w-1, address: 10.0.0.21, role: worker }\n');
    const worker = (await manifestFor(cluster, out))[1]!;
    expect(worker.files).toEqual([]);
    expect(worker.notSent).toContainEqual({ local: 'w-1/pki/front-proxy-ca.key', reason: 'not in the catalog, not sent' });
  });
});

describe('kubeadm: only catalog files are sent, and a CA key is recognised by its content', () => {
  const YAML = (identityFile: string) => `profile: kubeadm
key: { algorithm: ecdsa, curve: P-256 }
apiServer: { endpoint: 192.168.5.30, port: 6443 }
ssh: { user: vagrant, identityFile: ${identityFile} }
nodes:
  - { name: master-1, address: 192.168.5.11, role: controlplane }
  - { name: worker-1, address: 192.168.5.21, role: worker }
`;
  let pki: { dir: string; out: string; config: string; cleanup: () => Promise<void> };
  const dryRun = (json: boolean) => kubePki(['distribute', '--dry-run', ...(json ? ['--json'] : []), '--config', pki.config, '--out', pki.out], { env: { SSH_AUTH_SOCK: '' } });
  beforeAll(async () => {
    await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'kubeadm-id')]);
    pki = await generated(YAML(join(dir, 'kubeadm-id')));
  });
  afterAll(async () => pki?.cleanup());

  it('a copy of the CA key under another name in a worker tree is listed as not in the catalog, never sent', async () => {
    await copyFile(join(pki.out, '_cluster/pki/ca.key'), join(pki.out, 'worker-1/pki/ca.key.orig'));
    await writeFile(join(pki.out, 'worker-1/notes.txt'), 'hello');
    const r = await dryRun(false);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).not.toMatch(/^ {4}pki\/ca\.key\.orig\s/m);
    expect(r.stdout).toContain('worker-1/pki/ca.key.orig: not in the catalog, not sent; it holds the private key of CA ca: remove it');
    expect(r.stdout).toContain('worker-1/notes.txt: not in the catalog, not sent');
    const json = JSON.parse((await dryRun(true)).stdout) as { nodes: { node: string; files: { path: string }[]; notes: string[] }[] };
    const worker = json.nodes.find((n) => n.node === 'worker-1')!;
    expect(worker.files.map((f) => f.path)).toEqual(['kubelet.conf', 'pki/ca.crt']);
    expect(worker.notes).toEqual([
      'worker-1/notes.txt: not in the catalog, not sent',
      'worker-1/pki/ca.key.orig: not in the catalog, not sent; it holds the private key of CA ca: remove it',
    ]);
    // The control plane's files are the catalog's, all generated: every file of its tree.
    const master = json.nodes.find((n) => n.node === 'master-1')!;
    expect(master.files.map((f) => f.path)).toContain('pki/etcd/ca.key');
    expect(master.notes).toEqual([]);
  });

  it('refuses (exit 2, nothing connected) a catalog file of a worker that holds a CA key, whatever its name', async () => {
    const kubelet = join(pki.out, 'worker-1/kubelet.conf');
    const before = await readFile(kubelet);
    try {
      // The front-proxy CA's key, embedded as the kubelet's client key.
      const caKey = await readFile(join(pki.out, '_cluster/pki/front-proxy-ca.key'));
      await writeFile(kubelet, before.toString('utf8').replace(/client-key-data: \S+/, `client-key-data: ${caKey.toString('base64')}`), { mode: 0o600 });
      const r = await dryRun(false);
      expect(r.exitCode, r.stdout).toBe(2);
      expect(r.stderr).toContain('refusing to distribute: worker-1/kubelet.conf holds the private key of CA front-proxy-ca');
      expect(r.stdout).toBe('');
    } finally {
      await writeFile(kubelet, before, { mode: 0o600 });
    }
  });

  it('a CA key under a catalog key name is refused on a worker too (manifestFor)', async () => {
    const cluster = parseCluster(YAML(join(dir, 'kubeadm-id')), pki.config);
    const own = join(pki.out, 'master-1/pki/apiserver.key');
    const before = await readFile(own);
    try {
      // master-1 is given the etcd CA key by the catalog: another CA key in its place is still its CA's key.
      await copyFile(join(pki.out, '_cluster/pki/etcd/ca.key'), own);
      await expect(manifestFor(cluster, pki.out)).resolves.toHaveLength(2);
    } finally {
      await writeFile(own, before, { mode: 0o600 });
    }
    const hardway = defaultCluster();
    const out = join(dir, 'hardway-swapped');
    await mkdir(out, { recursive: true });
    await copyFile(join(pki.out, '_cluster/pki/ca.crt'), join(out, 'ca.crt'));
    await copyFile(join(pki.out, '_cluster/pki/ca.key'), join(out, 'worker-1.key'));
    await expect(manifestFor(hardway, out)).rejects.toMatchObject({ exitCode: 2, message: expect.stringContaining('worker-1.key holds the private key of CA ca (ca.crt)') });
  });
});

describe('remoteDir', () => {
  it.each([
    ['pki', 'pki'],
    ['~/pki/', 'pki'],
    ['/etc/kubernetes', '/etc/kubernetes'],
    ['/etc//kubernetes/./pki', '/etc/kubernetes/pki'],
  ])('%s → %s', (value, path) => expect(normalizeRemoteDir(value)).toEqual({ path }));

  it.each([
    ['~', /login folder itself/],
    ['/', /names \//],
    ['./', /login folder itself/],
    ['../etc', /".."/],
    ['~root/pki', /~user/],
  ])('%s is refused', (value, reason) => expect(normalizeRemoteDir(value)).toMatch(reason));
});
