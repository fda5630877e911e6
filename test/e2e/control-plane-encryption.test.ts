import { execa } from 'execa';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { kubectl } from '../helpers/apiserver.js';
import { kubePki, tempDir } from '../helpers/cli.js';
import { startHardwayPlane, type HardwayPlane } from '../helpers/hardway-plane.js';
import { k8sBins } from '../helpers/k8s-bins.js';
import { waitFor } from '../helpers/processes.js';

// Issue 23: Secrets encrypted at rest with kube-pki's encryption-config.yaml (the hard way's default,
// aescbc), judged by the real kube-apiserver and etcd. A Secret read straight from etcd carries the
// aescbc prefix with our key's name and decrypts with `openssl enc` and our key, outside the apiserver.
// Then rotate-encryption-key start, promote, (re-encrypt) finish, each distributed with --distribute and
// followed by the rolling restart it prints, over two control planes behind haproxy, while a reader
// asks for a Secret through haproxy again and again: it never fails.

interface Report {
  keys: string[];
  state: string;
  restart: { node: string; components: string[] }[];
  reencrypt: string | null;
}

const VALUES = { before: 'written-before-any-rotation', start: 'written-in-the-start-phase', promote: 'written-after-promote', team: 'another-namespace' };

describe('encryption at rest on a running hard-way control plane (2 nodes, haproxy in front)', () => {
  let plane: HardwayPlane;
  let cleanup: () => Promise<void>;
  let dir: string;
  let admin: string;

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('kube-pki-cp-encryption-'));
    plane = await startHardwayPlane({ net: 33, masters: 2, workers: [], dir });
    const { cp } = plane;
    // etcd and kube-apiserver only: Secrets need nothing else.
    for (const n of cp.o.nodes) await cp.start('etcd', n);
    for (const n of cp.o.nodes) await cp.waitHealthy('etcd', n);
    for (const n of cp.o.nodes) await cp.start('kube-apiserver', n);
    for (const n of cp.o.nodes) await cp.waitHealthy('kube-apiserver', n, 180_000);
    await cp.startHaproxy();
    for (const n of cp.o.nodes) await cp.waitLbUp(n);
    admin = join(plane.dirOf('master-1'), 'admin.kubeconfig');
  }, 400_000);
  afterAll(async () => {
    await plane?.stop();
    await cleanup?.();
  });

  /** The raw value etcd holds for a Secret, read with the apiserver's own etcd client certificate (JSON: base64, byte-exact). */
  async function etcdValue(key: string): Promise<Buffer> {
    const node = plane.cp.node('master-1');
    const flag = (f: string) => plane.cp.flagPath('kube-apiserver', node, f);
    const r = await execa(
      (await k8sBins()).etcdctl,
      ['--endpoints', `https://${node.ip}:2379`, '--cacert', await flag('--etcd-cafile'), '--cert', await flag('--etcd-certfile'), '--key', await flag('--etcd-keyfile'), 'get', key, '-w', 'json'],
      { reject: false, stdin: 'ignore' },
    );
    expect(r.exitCode, r.stderr).toBe(0);
    const kvs = (JSON.parse(r.stdout) as { kvs?: { value: string }[] }).kvs ?? [];
    expect(kvs, key).toHaveLength(1);
    return Buffer.from(kvs[0]!.value, 'base64');
  }

  async function secretKeys(): Promise<string[]> {
    const node = plane.cp.node('master-1');
    const flag = (f: string) => plane.cp.flagPath('kube-apiserver', node, f);
    const r = await execa(
      (await k8sBins()).etcdctl,
      ['--endpoints', `https://${node.ip}:2379`, '--cacert', await flag('--etcd-cafile'), '--cert', await flag('--etcd-certfile'), '--key', await flag('--etcd-keyfile'), 'get', '/registry/secrets/', '--prefix', '--keys-only'],
      { reject: false, stdin: 'ignore' },
    );
    expect(r.exitCode, r.stderr).toBe(0);
    return r.stdout.split('\n').filter((l) => l.startsWith('/registry/secrets/'));
  }

  /** The keys of the configuration a node received, by name (base64 secrets). */
  async function nodeKeys(node: string): Promise<{ name: string; secret: string }[]> {
    const config = parse(await readFile(join(plane.dirOf(node), 'encryption-config.yaml'), 'utf8')) as {
      resources: { resources: string[]; providers: Record<string, { keys?: { name: string; secret: string }[] }>[] }[];
    };
    expect(config.resources[0]!.resources).toEqual(['secrets']);
    expect(Object.keys(config.resources[0]!.providers.at(-1)!)).toEqual(['identity']);
    return config.resources[0]!.providers[0]!.aescbc!.keys!;
  }

  /**
   * aescbc's format (k8s.io/apiserver …/encrypt/aes): the prefix, a 16-byte IV, then AES-256-CBC with
   * PKCS#7 padding of the Secret's protobuf encoding. Decrypted here by openssl with our key.
   */
  async function decrypt(value: Buffer, keyName: string, secret: string): Promise<Buffer> {
    const prefix = Buffer.from(`k8s:enc:aescbc:v1:${keyName}:`);
    expect(value.subarray(0, prefix.length).toString()).toBe(prefix.toString());
    const body = value.subarray(prefix.length);
    const cipherFile = join(dir, `cipher-${keyName}-${Date.now()}`);
    await writeFile(cipherFile, body.subarray(16));
    const r = await execa(
      'openssl',
      ['enc', '-d', '-aes-256-cbc', '-K', Buffer.from(secret, 'base64').toString('hex'), '-iv', body.subarray(0, 16).toString('hex'), '-in', cipherFile],
      { encoding: 'buffer', reject: false, stdin: 'ignore' },
    );
    expect(r.exitCode, Buffer.from(r.stderr).toString()).toBe(0);
    return Buffer.from(r.stdout);
  }

  async function createSecret(name: string, value: string, namespace = 'default'): Promise<void> {
    const r = await kubectl(admin, ['-n', namespace, 'create', 'secret', 'generic', name, `--from-literal=v=${value}`]);
    expect(r.exitCode, r.stderr).toBe(0);
  }

  async function readSecret(name: string, namespace = 'default'): Promise<string> {
    const r = await kubectl(admin, ['-n', namespace, 'get', 'secret', name, '-o', 'jsonpath={.data.v}']);
    expect(r.exitCode, r.stderr).toBe(0);
    return Buffer.from(r.stdout, 'base64').toString();
  }

  /** A phase with --distribute, then the rolling restart it prints, one node at a time; its state from status --json. */
  async function phase(name: string): Promise<Report> {
    const env = { env: { SSH_AUTH_SOCK: '' } };
    const r = await kubePki(['rotate-encryption-key', name, '--config', plane.config, '--out', plane.out, '--distribute', '--known-hosts', plane.knownHosts], env);
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).not.toMatch(/secret:/);
    const restart = [...r.stdout.matchAll(/^ {2}(\d+)\. (\S+): (.+)$/gm)].map((m) => ({ node: m[2]!, components: m[3]!.split(', ') }));
    expect(restart).toEqual([
      { node: 'master-1', components: ['kube-apiserver'] },
      { node: 'master-2', components: ['kube-apiserver'] },
    ]);
    for (const step of restart) await plane.cp.restart(plane.cp.node(step.node), step.components);
    const reencrypt = /re-encrypt every Secret with the new key:\n {2}(.+)$/m.exec(r.stdout)?.[1] ?? null;
    const status = await kubePki(['rotate-encryption-key', 'status', '--config', plane.config, '--out', plane.out, '--json']);
    expect(status.exitCode, status.stderr).toBe(0);
    const s = JSON.parse(status.stdout) as { keys: string[]; state: string };
    return { keys: s.keys, state: s.state, restart, reencrypt };
  }

  it('encrypts Secrets with our aescbc key, and rotates it by the documented procedure without a failed read', async () => {
    // The file on each control plane: 0600, our one key of 32 bytes, the flag kube-apiserver runs with.
    for (const node of ['master-1', 'master-2']) {
      expect((await stat(join(plane.dirOf(node), 'encryption-config.yaml'))).mode & 0o777).toBe(0o600);
      const keys = await nodeKeys(node);
      expect(keys.map((k) => k.name)).toEqual(['key1']);
      expect(Buffer.from(keys[0]!.secret, 'base64')).toHaveLength(32);
    }
    const args = await readFile(join(plane.cp.o.work, 'master-1-kube-apiserver.log.args'), 'utf8');
    expect(args).toContain(`--encryption-provider-config=${join(plane.dirOf('master-1'), 'encryption-config.yaml')}`);
    const [key1] = await nodeKeys('master-1');

    await waitFor(async () => (await kubectl(admin, ['get', 'namespace', 'default'])).exitCode === 0, 'the default namespace', 60_000);
    await createSecret('before', VALUES.before);
    const plain = await decrypt(await etcdValue('/registry/secrets/default/before'), 'key1', key1!.secret);
    // The protobuf encoding of the Secret (Kubernetes' "k8s\0" envelope), with the value in it.
    expect(plain.subarray(0, 4).toString('latin1')).toBe('k8s\0');
    expect(plain.includes(Buffer.from(VALUES.before))).toBe(true);
    expect((await etcdValue('/registry/secrets/default/before')).includes(Buffer.from(VALUES.before))).toBe(false);

    // A reader through haproxy, all along the rotation: every answer must be the Secret's value.
    const reads: { ok: boolean; detail: string }[] = [];
    let reading = true;
    const reader = (async () => {
      while (reading) {
        const r = await kubectl(admin, ['get', 'secret', 'before', '-o', 'jsonpath={.data.v}', '--request-timeout=10s']);
        reads.push({ ok: r.exitCode === 0 && Buffer.from(r.stdout, 'base64').toString() === VALUES.before, detail: r.stderr.split('\n')[0] ?? '' });
        await new Promise((res) => setTimeout(res, 200));
      }
    })();
    try {
      const start = await phase('start');
      expect(start.keys).toEqual(['key1', 'key2']);
      expect((await nodeKeys('master-2')).map((k) => k.name)).toEqual(['key1', 'key2']);
      // The new key is second: it decrypts, key1 still encrypts.
      await createSecret('during-start', VALUES.start);
      expect((await etcdValue('/registry/secrets/default/during-start')).subarray(0, 23).toString()).toBe('k8s:enc:aescbc:v1:key1:');

      const promote = await phase('promote');
      expect(promote.keys).toEqual(['key2', 'key1']);
      expect(promote.reencrypt).toBe('kubectl get secrets --all-namespaces -o json | kubectl replace -f -');
      const key2 = (await nodeKeys('master-1')).find((k) => k.name === 'key2')!;
      await createSecret('after-promote', VALUES.promote);
      expect((await decrypt(await etcdValue('/registry/secrets/default/after-promote'), 'key2', key2.secret)).includes(Buffer.from(VALUES.promote))).toBe(true);
      expect(await kubectl(admin, ['create', 'namespace', 'team'])).toMatchObject({ exitCode: 0 });
      // Written while key2 encrypts; the older Secrets still carry key1 until re-encrypted.
      await createSecret('other', VALUES.team, 'team');
      expect((await etcdValue('/registry/secrets/default/before')).subarray(0, 23).toString()).toBe('k8s:enc:aescbc:v1:key1:');

      // The printed re-encryption: every Secret read and written back through the apiserver.
      const all = await kubectl(admin, ['get', 'secrets', '--all-namespaces', '-o', 'json']);
      expect(all.exitCode, all.stderr).toBe(0);
      const replaced = await execa('kubectl', ['--kubeconfig', admin, 'replace', '-f', '-'], { input: all.stdout, reject: false });
      expect(replaced.exitCode, replaced.stderr).toBe(0);
      const keys = await secretKeys();
      expect(keys).toEqual(expect.arrayContaining(['/registry/secrets/default/before', '/registry/secrets/default/during-start', '/registry/secrets/team/other']));
      for (const key of keys) {
        const value = await etcdValue(key);
        expect(value.subarray(0, 23).toString(), key).toBe('k8s:enc:aescbc:v1:key2:');
      }
      expect((await decrypt(await etcdValue('/registry/secrets/default/before'), 'key2', key2.secret)).includes(Buffer.from(VALUES.before))).toBe(true);

      const finish = await phase('finish');
      expect(finish.keys).toEqual(['key2']);
      for (const node of ['master-1', 'master-2']) {
        const left = await nodeKeys(node);
        expect(left.map((k) => k.name), node).toEqual(['key2']);
        expect(left.some((k) => k.secret === key1!.secret)).toBe(false);
        expect((await stat(join(plane.dirOf(node), 'encryption-config.yaml'))).mode & 0o777).toBe(0o600);
      }
    } finally {
      reading = false;
      await reader;
    }
    // The old key is gone from every apiserver; every Secret still reads, through the restarts too.
    expect(await readSecret('before')).toBe(VALUES.before);
    expect(await readSecret('during-start')).toBe(VALUES.start);
    expect(await readSecret('after-promote')).toBe(VALUES.promote);
    expect(await readSecret('other', 'team')).toBe(VALUES.team);
    expect(reads.length).toBeGreaterThan(20);
    expect(reads.filter((r) => !r.ok), JSON.stringify(reads.filter((r) => !r.ok).slice(0, 5))).toEqual([]);
    const check = await kubePki(['check', '--config', plane.config, '--out', plane.out, '--remote', '--known-hosts', plane.knownHosts], { env: { SSH_AUTH_SOCK: '' } });
    expect(check.exitCode, check.stdout).toBe(0);
    expect(check.stdout).toContain('encryption encryption-config.yaml: aescbc, keys key2 (the first encrypts): ok');
  }, 1_200_000);
});
