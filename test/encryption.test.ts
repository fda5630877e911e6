import { execa } from 'execa';
import { readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCluster } from '../src/cluster/load.js';
import { placementFor } from '../src/distribute/manifest.js';
import { parseEncryptionConfig } from '../src/encryption/config.js';
import type { EncryptionReport } from '../src/rotate-encryption/rotate.js';
import { copyPki, genPki, labCluster } from './check-fixtures.js';
import { kubePki, tempDir } from './helpers/cli.js';
import { KUBEADM_YAML } from './helpers/rotation.js';
import { SMALL_CLUSTER } from './helpers/small-cluster.js';

// Issue 23: `encryption:` in the description, encryption-config.yaml made by gen (never again, never
// printed), placed on control planes only, named by `flags kube-apiserver`, judged by check; and the
// order, refusals and outputs of rotate-encryption-key. The real apiserver's verdict is in
// test/e2e/control-plane-encryption.test.ts; kills in test/rotate-encryption-key-kill.test.ts.

const secretsOf = (text: string) => [...text.matchAll(/secret: (\S+)/g)].map((m) => m[1]!);
const KUBEADM_ENC = `${KUBEADM_YAML}encryption: { provider: aesgcm }\n`;

describe('encryption in the description', () => {
  const withEnc = (line: string, profile = 'hardway') => `${SMALL_CLUSTER.replace('profile: hardway', `profile: ${profile}`)}${line}\n`;

  it('defaults to aescbc for the hard way and to none for kubeadm; false and provider none turn it off', () => {
    expect(parseCluster(SMALL_CLUSTER, 'x').encryption).toEqual({ provider: 'aescbc' });
    expect(parseCluster(KUBEADM_YAML, 'x').encryption).toBeUndefined();
    expect(parseCluster(withEnc('encryption: false'), 'x').encryption).toBeUndefined();
    expect(parseCluster(withEnc('encryption: { provider: none }'), 'x').encryption).toBeUndefined();
    expect(parseCluster(withEnc('encryption: { provider: secretbox }'), 'x').encryption).toEqual({ provider: 'secretbox' });
    expect(parseCluster(KUBEADM_ENC, 'x').encryption).toEqual({ provider: 'aesgcm' });
  });

  it('refuses another provider or shape naming the field and value, exit 2, nothing written', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      for (const [line, words] of [
        ['encryption: { provider: kms }', /encryption: \{"provider":"kms"\}: must be false or \{ provider: aescbc \| aesgcm \| secretbox \| none \}/],
        ['encryption: true', /encryption: true: must be false or \{ provider/],
        ['encryption: { provider: aescbc, key: abc }', /encryption\.key: unknown field "key"/],
      ] as const) {
        await writeFile(join(dir, 'c.yaml'), withEnc(line));
        const r = await kubePki(['gen', '--config', join(dir, 'c.yaml'), '--out', join(dir, 'pki')]);
        expect(r.exitCode, line).toBe(2);
        expect(r.stderr, line).toMatch(words);
        expect(await stat(join(dir, 'pki')).catch(() => null), line).toBeNull();
      }
    } finally {
      await cleanup();
    }
  });
});

describe('gen, script, flags, placement and check with encryption', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let config: string;
  let pki: string;

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    ({ config } = await labCluster(dir, SMALL_CLUSTER));
    pki = await genPki(dir, config);
  }, 60_000);
  afterAll(() => cleanup());

  it('writes encryption-config.yaml 0600: secrets, aescbc with one fresh 32-byte key named key1, then identity', async () => {
    expect((await stat(join(pki, 'encryption-config.yaml'))).mode & 0o777).toBe(0o600);
    const text = await readFile(join(pki, 'encryption-config.yaml'), 'utf8');
    const parsed = parseEncryptionConfig(text);
    expect(parsed).toMatchObject({ provider: 'aescbc', keys: [{ name: 'key1' }] });
    expect(Buffer.from(secretsOf(text)[0]!, 'base64')).toHaveLength(32);
    expect(text).toMatch(/resources:\n {2}- resources:\n {6}- secrets\n/);
    expect(text.trimEnd().endsWith('- identity: {}')).toBe(true);
    // Another folder gets another key.
    const other = await genPki(dir, config, 'other');
    expect(secretsOf(await readFile(join(other, 'encryption-config.yaml'), 'utf8'))[0]).not.toBe(secretsOf(text)[0]);
  });

  it('never makes it again: gen, gen --force and renew --all keep the same bytes; the key is in no output', async () => {
    const before = await readFile(join(pki, 'encryption-config.yaml'));
    const [secret] = secretsOf(before.toString());
    for (const args of [['gen'], ['gen', '--force'], ['gen', '--json'], ['renew', '--all', '--json'], ['gen', '--dry-run'], ['check', '--json'], ['graph'], ['explain', 'encryption-config']]) {
      const r = await kubePki([...args, '--config', config, '--out', pki]);
      expect(r.exitCode, `${args.join(' ')}: ${r.stderr}`).toBe(0);
      expect(`${r.stdout}${r.stderr}`, args.join(' ')).not.toContain(secret);
    }
    expect((await readFile(join(pki, 'encryption-config.yaml'))).equals(before)).toBe(true);
  }, 120_000);

  it('script draws the key with openssl rand when it runs: the key is never in the script, and the file it makes is right', async () => {
    const r = await kubePki(['script', '--config', config]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain('ENCRYPTION_KEY_KEY1=$(openssl rand -base64 32)');
    expect(r.stdout).toContain('secret: ${ENCRYPTION_KEY_KEY1}');
    expect(r.stdout).toContain('chmod 600 encryption-config.yaml');
    const work = join(dir, 'script-run');
    await writeFile(join(dir, 'gen.sh'), r.stdout);
    await execa('mkdir', ['-p', work]);
    const ran = await execa('bash', [join(dir, 'gen.sh')], { cwd: work, reject: false });
    expect(ran.exitCode, ran.stderr).toBe(0);
    const made = await readFile(join(work, 'encryption-config.yaml'), 'utf8');
    expect(parseEncryptionConfig(made)).toMatchObject({ provider: 'aescbc', keys: [{ name: 'key1' }] });
    expect((await stat(join(work, 'encryption-config.yaml'))).mode & 0o777).toBe(0o600);
    expect(r.stdout).not.toContain(secretsOf(made)[0]);
    const check = await kubePki(['check', '--config', config, '--out', work]);
    expect(check.exitCode, check.stdout).toBe(0);
  }, 120_000);

  it('flags kube-apiserver names it; only control planes receive it', async () => {
    const flags = await kubePki(['flags', 'kube-apiserver', '--config', config, '--dir', '/var/lib/kubernetes']);
    expect(flags.stdout).toContain('--encryption-provider-config=/var/lib/kubernetes/encryption-config.yaml');
    const off = join(dir, 'off.yaml');
    await writeFile(off, `${SMALL_CLUSTER}encryption: false\n`);
    expect((await kubePki(['flags', 'kube-apiserver', '--config', off, '--dir', '/x'])).stdout).not.toContain('--encryption-provider-config');
    const placement = placementFor(parseCluster(SMALL_CLUSTER, 'x'));
    expect(placement.get('master-1')!.find((f) => f.local === 'encryption-config.yaml')).toMatchObject({ remote: 'encryption-config.yaml', mode: 0o600 });
    expect(placement.get('worker-1')!.some((f) => f.local.includes('encryption'))).toBe(false);
  });

  it('check: ok with the key names; a wide mode, a short key or a foreign file is an error; missing a warning', async () => {
    const ok = await kubePki(['check', '--config', config, '--out', pki]);
    expect(ok.exitCode).toBe(0);
    expect(ok.stdout).toContain('encryption encryption-config.yaml: aescbc, keys key1 (the first encrypts): ok');
    const broken = async (name: string, change: (file: string) => Promise<void>) => {
      const copy = await copyPki(pki, join(dir, name));
      await change(join(copy, 'encryption-config.yaml'));
      const r = await kubePki(['check', '--config', config, '--out', copy, '--json']);
      expect(r.exitCode, name).toBe(1);
      return (JSON.parse(r.stdout) as { encryption: { problems: { severity: string; code: string; message: string }[] } }).encryption.problems;
    };
    expect(await broken('wide', (f) => execa('chmod', ['644', f]).then(() => undefined))).toEqual([expect.objectContaining({ severity: 'error', code: 'encryption-mode' })]);
    const short = await broken('short', async (f) => writeFile(f, (await readFile(f, 'utf8')).replace(/secret: \S+/, `secret: ${Buffer.alloc(16).toString('base64')}`), { mode: 0o600 }));
    expect(short[0]!.message).toMatch(/key key1: 16 bytes, not 32/);
    expect(JSON.stringify(short)).not.toContain(Buffer.alloc(16).toString('base64'));
    expect((await broken('foreign', (f) => writeFile(f, 'apiVersion: v1\nkind: ConfigMap\n')))[0]!.message).toMatch(/not an EncryptionConfiguration/);
    expect(await broken('missing', (f) => rm(f))).toEqual([expect.objectContaining({ severity: 'warning', code: 'encryption-missing' })]);
  }, 60_000);
});

describe('rotate-encryption-key: order, dry run, outputs, refusals', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let config: string;
  let pki: string;
  const rotate = (args: string[], out = pki) => kubePki(['rotate-encryption-key', ...args, '--config', config, '--out', out]);

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    ({ config } = await labCluster(dir, SMALL_CLUSTER));
    pki = await genPki(dir, config);
  }, 60_000);
  afterAll(() => cleanup());

  it('runs start → promote → finish in order, refusing each out of order (exit 2, nothing changed)', async () => {
    const file = join(pki, 'encryption-config.yaml');
    const original = await readFile(file, 'utf8');
    const [key1] = secretsOf(original);
    const promote0 = await rotate(['promote']);
    expect(promote0.exitCode).toBe(2);
    expect(promote0.stderr).toMatch(/no rotation under way: run kube-pki rotate-encryption-key start first/);
    // finish with no rotation under way: nothing to do (as finish again after a finish), exit 0.
    const finish0 = await rotate(['finish', '--json']);
    expect(finish0.exitCode).toBe(0);
    expect(JSON.parse(finish0.stdout)).toMatchObject({ result: 'nothing', keys: ['key1'] });
    // A dry run writes nothing and shows no key.
    const dry = await rotate(['start', '--dry-run']);
    expect(dry.exitCode).toBe(0);
    expect(dry.stdout).toContain('keys key1, key2 (new, openssl rand)');
    expect(await readFile(file, 'utf8')).toBe(original);

    const start = await rotate(['start', '--json']);
    expect(start.exitCode, start.stderr).toBe(0);
    const report = JSON.parse(start.stdout) as EncryptionReport;
    expect(report).toMatchObject({ state: 'start', complete: true, keys: ['key1', 'key2'], changed: ['encryption-config.yaml'], reencrypt: null });
    expect(report.restart).toEqual([{ node: 'master-1', components: ['kube-apiserver'] }]);
    const started = await readFile(file, 'utf8');
    expect(secretsOf(started)[0]).toBe(key1);
    const key2 = secretsOf(started)[1]!;
    expect(Buffer.from(key2, 'base64')).toHaveLength(32);
    expect(start.stdout).not.toContain(key2);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await rotate(['finish'])).stderr).toMatch(/in the start phase: run kube-pki rotate-encryption-key promote first/);
    expect((await rotate(['start'])).exitCode).toBe(0); // again: nothing to do
    expect(await readFile(file, 'utf8')).toBe(started);

    const promote = await rotate(['promote']);
    expect(promote.exitCode, promote.stderr).toBe(0);
    expect(promote.stdout).toContain('re-encrypt every Secret with the new key:\n  kubectl get secrets --all-namespaces -o json | kubectl replace -f -');
    expect(secretsOf(await readFile(file, 'utf8'))).toEqual([key2, key1]);
    expect((await rotate(['start'])).stderr).toMatch(/already in the promote phase: run kube-pki rotate-encryption-key finish/);
    const status = await rotate(['status']);
    expect(status.stdout).toContain('phase promote (complete); keys key2, key1 (the first encrypts)');
    expect(status.stdout).toContain('kubectl get secrets --all-namespaces -o json | kubectl replace -f -');
    expect((await kubePki(['check', '--config', config, '--out', pki])).exitCode).toBe(0);

    const finish = await rotate(['finish', '--json']);
    expect(finish.exitCode, finish.stderr).toBe(0);
    const done = JSON.parse(finish.stdout) as EncryptionReport;
    expect(done).toMatchObject({ state: 'none', keys: ['key2'] });
    expect(secretsOf(await readFile(file, 'utf8'))).toEqual([key2]);
    // The old key is archived, not lost: a Secret the re-encryption missed can still be read with it.
    const backup = (await readdir(pki)).find((f) => f.startsWith('backup-'))!;
    expect(secretsOf(await readFile(join(pki, backup, 'encryption-config.yaml'), 'utf8'))).toEqual([key2, key1]);
    expect(done.backupDir).toBe(join(pki, backup));
    expect((await rotate(['finish', '--json'])).stdout).toContain('"result": "nothing"');
    // A second rotation names the next key key3.
    expect(JSON.parse((await rotate(['start', '--json'])).stdout)).toMatchObject({ keys: ['key2', 'key3'] });
  }, 120_000);

  it('refused while a CA rotation is under way, and rotate-ca refused while a key rotation is', async () => {
    const copy = await copyPki(pki, join(dir, 'both'));
    // `copy` is in the start phase of a key rotation (the test above ends with a start).
    const ca = await kubePki(['rotate-ca', 'start', '--config', config, '--out', copy]);
    expect(ca.exitCode).toBe(2);
    expect(ca.stderr).toMatch(/an encryption-key rotation is under way \(phase start\)/);
    expect((await rotate(['promote'], copy)).exitCode).toBe(0);
    expect((await rotate(['finish'], copy)).exitCode).toBe(0);
    expect((await kubePki(['rotate-ca', 'start', '--config', config, '--out', copy])).exitCode).toBe(0);
    const key = await rotate(['start'], copy);
    expect(key.exitCode).toBe(2);
    expect(key.stderr).toMatch(/a CA rotation is under way \(ca\)/);
    expect((await rotate(['status'], copy)).exitCode).toBe(0);
  }, 120_000);

  it('refuses a description without encryption (exit 2)', async () => {
    const off = join(dir, 'off.yaml');
    await writeFile(off, `${SMALL_CLUSTER}encryption: false\n`);
    const r = await kubePki(['rotate-encryption-key', 'start', '--config', off, '--out', pki]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/has no encryption/);
  });
});

describe('kubeadm: one key, a copy in each control plane tree', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let config: string;
  let pki: string;

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    ({ config } = await labCluster(dir, KUBEADM_ENC));
    pki = await genPki(dir, config);
  }, 60_000);
  afterAll(() => cleanup());

  it('copies _cluster/encryption-config.yaml into cp-1 and cp-2 pki/, not the worker; flags name /etc/kubernetes/pki', async () => {
    const source = await readFile(join(pki, '_cluster/encryption-config.yaml'), 'utf8');
    expect(parseEncryptionConfig(source)).toMatchObject({ provider: 'aesgcm' });
    for (const node of ['cp-1', 'cp-2']) {
      expect(await readFile(join(pki, node, 'pki/encryption-config.yaml'), 'utf8')).toBe(source);
      expect((await stat(join(pki, node, 'pki/encryption-config.yaml'))).mode & 0o777).toBe(0o600);
    }
    expect(await stat(join(pki, 'worker-1/pki/encryption-config.yaml')).catch(() => null)).toBeNull();
    const flags = await kubePki(['flags', 'kube-apiserver', '--config', config]);
    expect(flags.stdout).toContain('--encryption-provider-config=/etc/kubernetes/pki/encryption-config.yaml');
    const placement = placementFor(parseCluster(KUBEADM_ENC, config));
    expect(placement.get('cp-2')!.find((f) => f.local === 'cp-2/pki/encryption-config.yaml')).toMatchObject({ remote: 'pki/encryption-config.yaml', mode: 0o600 });
    expect(placement.get('worker-1')!.some((f) => f.local.includes('encryption'))).toBe(false);
  });

  it('never makes a new key while a node tree holds one: the source restored by hand instead (gen exit 3)', async () => {
    const copy = await copyPki(pki, join(dir, 'lost-source'));
    const kept = await readFile(join(copy, 'cp-1/pki/encryption-config.yaml'), 'utf8');
    await rm(join(copy, '_cluster/encryption-config.yaml'));
    const r = await kubePki(['gen', '--config', config, '--out', copy]);
    expect(r.exitCode).toBe(3);
    expect(r.stdout).toMatch(/restore it from one of them \(cp cp-1\/pki\/encryption-config.yaml _cluster\/encryption-config.yaml\)/);
    expect(await stat(join(copy, '_cluster/encryption-config.yaml')).catch(() => null)).toBeNull();
    expect(await readFile(join(copy, 'cp-1/pki/encryption-config.yaml'), 'utf8')).toBe(kept);
  }, 60_000);

  it('a copy that differs is a check error and gen stale until --force', async () => {
    const copy = await copyPki(pki, join(dir, 'differs'));
    await writeFile(join(copy, 'cp-2/pki/encryption-config.yaml'), 'x: 1\n', { mode: 0o600 });
    const check = await kubePki(['check', '--config', config, '--out', copy]);
    expect(check.exitCode).toBe(1);
    expect(check.stdout).toContain('cp-2/pki/encryption-config.yaml differs from _cluster/encryption-config.yaml');
    expect((await kubePki(['gen', '--config', config, '--out', copy])).exitCode).toBe(3);
    expect((await kubePki(['gen', '--force', '--config', config, '--out', copy])).exitCode).toBe(0);
    expect((await kubePki(['check', '--config', config, '--out', copy])).exitCode).toBe(0);
  }, 60_000);
});
