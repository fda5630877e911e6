import { X509Certificate } from 'node:crypto';
import { readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CLUSTER_YAML } from '../src/cluster/default.js';
import { CLI, kubePki, tempDir } from './helpers/cli.js';
import { opensslVerify } from './helpers/x509.js';

const fingerprint = async (file: string) => new X509Certificate(await readFile(file)).fingerprint256;
const serial = async (file: string) => new X509Certificate(await readFile(file)).serialNumber;

/** Every file of a PKI folder (not the backups), by name, with its bytes. */
async function snapshot(pki: string): Promise<Map<string, string>> {
  const files = (await readdir(pki, { withFileTypes: true })).filter((e) => e.isFile());
  return new Map(await Promise.all(files.map(async (f) => [f.name, (await readFile(join(pki, f.name))).toString('base64')] as const)));
}

/** A PKI folder is complete when every certificate verifies against ca.crt and every key parses. */
async function assertComplete(pki: string): Promise<void> {
  const files = await readdir(pki);
  expect(files.filter((f) => f.endsWith('.crt'))).toHaveLength(11);
  expect(files.filter((f) => f.endsWith('.key'))).toHaveLength(11);
  expect(files.filter((f) => f.endsWith('.kubeconfig'))).toHaveLength(6);
  for (const f of files.filter((f) => f.endsWith('.crt'))) expect(await opensslVerify(join(pki, 'ca.crt'), join(pki, f))).toBe(true);
  const check = await execa('openssl', ['pkey', '-in', join(pki, 'admin.key'), '-noout'], { reject: false });
  expect(check.exitCode).toBe(0);
}

describe('re-running gen', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => ({ dir, cleanup } = await tempDir()));
  afterAll(() => cleanup());

  it('keeps the CA, every key and every valid certificate, and says so', async () => {
    const pki = join(dir, 'keep');
    expect((await kubePki(['gen', '--out', pki], { cwd: dir })).exitCode).toBe(0);
    const before = await snapshot(pki);
    const again = await kubePki(['gen', '--out', pki], { cwd: dir });
    expect(again.exitCode).toBe(0);
    expect(again.stdout).toContain('0 created, 0 re-issued, 18 kept, 0 stale, 0 failed');
    expect(again.stdout).toMatch(/^ca: kept$/m);
    expect(await snapshot(pki)).toEqual(before);
  });

  it('fills in what is missing with the kept keys and CA', async () => {
    const pki = join(dir, 'fill');
    expect((await kubePki(['gen', '--out', pki], { cwd: dir })).exitCode).toBe(0);
    const caPrint = await fingerprint(join(pki, 'ca.crt'));
    const key = await readFile(join(pki, 'kube-apiserver.key'));
    await rm(join(pki, 'kube-apiserver.crt'));
    await rm(join(pki, 'worker-1.key'));
    await rm(join(pki, 'admin.kubeconfig'));
    const r = await kubePki(['gen', '--out', pki], { cwd: dir });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^kube-apiserver: created \(key kept; certificate made from it\)$/m);
    expect(r.stdout).toMatch(/^worker-1: created \(key missing: new key and certificate\)$/m);
    expect(r.stdout).toMatch(/^worker-1\.kubeconfig: re-issued/m);
    expect(await fingerprint(join(pki, 'ca.crt'))).toBe(caPrint);
    expect((await readFile(join(pki, 'kube-apiserver.key'))).equals(key)).toBe(true);
    await assertComplete(pki);
  });

  it('reports a certificate whose SANs no longer match, and re-issues it only with --force, keeping its key', async () => {
    const pki = join(dir, 'drift');
    expect((await kubePki(['gen', '--out', pki], { cwd: dir })).exitCode).toBe(0);
    const config = join(dir, 'drift.yaml');
    await writeFile(config, DEFAULT_CLUSTER_YAML.replace('192.168.5.12', '192.168.5.13'));
    const before = await snapshot(pki);

    const dry = await kubePki(['gen', '--config', config, '--out', pki, '--dry-run']);
    expect(dry.exitCode).toBe(3); // a dry run gives the verdict the run would give
    const stale = await kubePki(['gen', '--config', config, '--out', pki]);
    expect(stale.exitCode).toBe(3);
    expect(stale.stdout).toMatch(/^stale: kube-apiserver: SANs missing: 192\.168\.5\.13; SANs not in the description: 192\.168\.5\.12/m);
    expect(stale.stdout).toMatch(/^stale: etcd-server: /m);
    expect(await snapshot(pki)).toEqual(before);

    const oldSerial = await serial(join(pki, 'kube-apiserver.crt'));
    const forced = await kubePki(['gen', '--config', config, '--out', pki, '--force']);
    expect(forced.exitCode, forced.stderr).toBe(0);
    expect(await serial(join(pki, 'kube-apiserver.crt'))).not.toBe(oldSerial);
    expect(new X509Certificate(await readFile(join(pki, 'kube-apiserver.crt'))).subjectAltName).toContain('192.168.5.13');
    const after = await snapshot(pki);
    for (const [name, bytes] of before) if (name.endsWith('.key')) expect(after.get(name)).toBe(bytes);
    expect(after.get('ca.crt')).toBe(before.get('ca.crt'));
    // The replaced certificate was copied to a backup folder first.
    const backups = (await readdir(pki)).filter((f) => f.startsWith('backup-'));
    expect(backups).toHaveLength(1);
    expect((await readFile(join(pki, backups[0]!, 'kube-apiserver.crt'))).toString('base64')).toBe(before.get('kube-apiserver.crt'));
  });

  it('replaces the CA only with --replace-ca, then re-issues every certificate with its kept key', async () => {
    const pki = join(dir, 'newca');
    expect((await kubePki(['gen', '--out', pki], { cwd: dir })).exitCode).toBe(0);
    const before = await snapshot(pki);
    const r = await kubePki(['gen', '--out', pki, '--replace-ca'], { cwd: dir });
    expect(r.exitCode, r.stderr).toBe(0);
    const after = await snapshot(pki);
    expect(after.get('ca.key')).not.toBe(before.get('ca.key'));
    expect(after.get('admin.key')).toBe(before.get('admin.key'));
    expect(after.get('admin.crt')).not.toBe(before.get('admin.crt'));
    await assertComplete(pki);
    const backup = (await readdir(pki)).find((f) => f.startsWith('backup-'))!;
    expect((await readFile(join(pki, backup, 'ca.key'))).toString('base64')).toBe(before.get('ca.key'));
  });

  it('a lost CA: the kubeconfigs are not rewritten around stale certificates; --force re-makes everything consistent', async () => {
    const pki = join(dir, 'lostca');
    expect((await kubePki(['gen', '--out', pki], { cwd: dir })).exitCode).toBe(0);
    const before = await snapshot(pki);
    await rm(join(pki, 'ca.crt'));
    await rm(join(pki, 'ca.key'));
    const r = await kubePki(['gen', '--out', pki], { cwd: dir });
    expect(r.exitCode, r.stderr).toBe(3);
    expect(r.stdout).toContain('1 created, 0 re-issued, 1 kept, 16 stale, 0 failed');
    expect(r.stdout).toMatch(/^stale: admin\.kubeconfig: its certificate admin is stale, so it would not work with it \(--force re-issues the certificate, then rewrites it\)/m);
    const after = await snapshot(pki);
    for (const [name, bytes] of before) if (name.endsWith('.kubeconfig')) expect(after.get(name), name).toBe(bytes);

    const forced = await kubePki(['gen', '--out', pki, '--force'], { cwd: dir });
    expect(forced.exitCode, forced.stderr).toBe(0);
    expect(forced.stdout).toMatch(/^admin\.kubeconfig: re-issued \(its certificate changed\)$/m);
    await assertComplete(pki);
    const check = await kubePki(['check', '--out', pki], { cwd: dir });
    expect(check.exitCode, check.stdout).toBe(0);
  });

  it('reports certificates whose validity period or key no longer match the description; --force never replaces a key', async () => {
    const pki = join(dir, 'validity');
    expect((await kubePki(['gen', '--out', pki], { cwd: dir })).exitCode).toBe(0);
    const before = await snapshot(pki);
    const shorter = join(dir, 'validity.yaml');
    await writeFile(shorter, DEFAULT_CLUSTER_YAML.replace(/^# validityDays: .*$/m, 'validityDays: { ca: 1000, leaf: 365 }'));
    const stale = await kubePki(['gen', '--config', shorter, '--out', pki]);
    expect(stale.exitCode).toBe(3);
    expect(stale.stdout).toMatch(/^stale: kube-apiserver: valid for 1000 days, the description says 365 \(validityDays\.leaf\)/m);
    expect(stale.stdout).toMatch(/^ca: kept$/m);
    expect(await snapshot(pki)).toEqual(before);
    const forced = await kubePki(['gen', '--config', shorter, '--out', pki, '--force']);
    expect(forced.exitCode, forced.stderr).toBe(0);
    const api = new X509Certificate(await readFile(join(pki, 'kube-apiserver.crt')));
    expect(Math.round((Date.parse(api.validTo) - Date.parse(api.validFrom)) / 86_400_000)).toBe(365);
    const kept = await kubePki(['gen', '--config', shorter, '--out', pki]);
    expect(kept.stdout).toContain('0 created, 0 re-issued, 18 kept, 0 stale, 0 failed');

    const ecdsa = join(dir, 'ecdsa.yaml');
    await writeFile(ecdsa, DEFAULT_CLUSTER_YAML.replace(/^# validityDays: .*$/m, 'validityDays: { ca: 1000, leaf: 365 }').replace('key: { algorithm: rsa, size: 2048 }', 'key: { algorithm: ecdsa, curve: P-256 }'));
    const keys = await snapshot(pki);
    const wrongKey = await kubePki(['gen', '--config', ecdsa, '--out', pki]);
    expect(wrongKey.exitCode).toBe(3);
    expect(wrongKey.stdout).toMatch(/^stale: admin: .*key is RSA 2048, the description says ECDSA P-256: gen --force keeps keys and refuses it; kube-pki renew --all --new-key gives new keys of that type/m);
    expect(wrongKey.stdout).toMatch(/^stale: ca: .*key is RSA 2048, the description says ECDSA P-256/m);
    // --force would sign ECDSA's key usage over the kept RSA keys: refused (test/key-type-change.test.ts), nothing written.
    const forcedKey = await kubePki(['gen', '--config', ecdsa, '--out', pki, '--force']);
    expect(forcedKey.exitCode).toBe(2);
    expect(await snapshot(pki)).toEqual(keys);
  });

  it('reports a certificate with usages the description does not list (extra keyUsage bits or EKUs)', async () => {
    const pki = join(dir, 'usages');
    expect((await kubePki(['gen', '--out', pki], { cwd: dir })).exitCode).toBe(0);
    const ext = join(dir, 'usages.cnf');
    await writeFile(ext, [
      '[ v3 ]',
      'basicConstraints = critical, CA:FALSE',
      'keyUsage = critical, digitalSignature, keyEncipherment, nonRepudiation',
      'extendedKeyUsage = clientAuth, serverAuth',
      '',
    ].join('\n'));
    const csr = join(dir, 'admin.csr');
    const sh = async (args: string[]) => expect((await execa('openssl', args, { reject: false })).exitCode).toBe(0);
    await sh(['req', '-new', '-key', join(pki, 'admin.key'), '-subj', '/CN=admin/O=system:masters', '-out', csr]);
    await sh(['x509', '-req', '-in', csr, '-CA', join(pki, 'ca.crt'), '-CAkey', join(pki, 'ca.key'), '-set_serial', '0x51', '-days', '1000', '-extfile', ext, '-extensions', 'v3', '-out', join(pki, 'admin.crt')]);
    const r = await kubePki(['gen', '--out', pki], { cwd: dir });
    expect(r.exitCode).toBe(3);
    expect(r.stdout).toMatch(/^stale: admin: keyUsage is digitalSignature, keyEncipherment, nonRepudiation, the description asks for digitalSignature, keyEncipherment; extendedKeyUsage is clientAuth, serverAuth, the description asks for clientAuth;/m);
    const forced = await kubePki(['gen', '--out', pki, '--force'], { cwd: dir });
    expect(forced.exitCode, forced.stderr).toBe(0);
    expect(new X509Certificate(await readFile(join(pki, 'admin.crt'))).keyUsage).toEqual(['1.3.6.1.5.5.7.3.2']);
  });

  it('a CA certificate without its key stops gen before anything is written', async () => {
    const pki = join(dir, 'nokey');
    expect((await kubePki(['gen', '--out', pki], { cwd: dir })).exitCode).toBe(0);
    await rm(join(pki, 'ca.key'));
    await rm(join(pki, 'admin.crt'));
    // The key was kube-pki's: gone, it is lost (test/lost-ca-key.test.ts) unless declared external.
    const external = join(dir, 'external.yaml');
    await writeFile(external, `${DEFAULT_CLUSTER_YAML}externalCAs: [ca]\n`);
    const r = await kubePki(['gen', '--config', external, '--out', pki], { cwd: dir });
    expect(r.exitCode).not.toBe(0);
    // An external CA (kubeadm.md): what it must sign is listed, with the way out (kube-pki csr).
    expect(r.stderr).toMatch(/ca\.crt has no ca\.key[\s\S]*admin: admin\.crt[\s\S]*kube-pki csr/);
    expect((await readdir(pki)).includes('admin.crt')).toBe(false);
  });

  it('--dry-run prints the plan and writes nothing; --json describes the run', async () => {
    const pki = join(dir, 'dry');
    const dry = await kubePki(['gen', '--out', pki, '--dry-run'], { cwd: dir });
    expect(dry.exitCode).toBe(0);
    expect(dry.stdout).toContain('openssl genrsa -out ca.key 2048');
    expect(dry.stdout).toMatch(/^ {2}kube-apiserver: create \(new\)$/m);
    await expect(readdir(pki)).rejects.toThrow(/ENOENT/);

    const json = await kubePki(['gen', '--out', pki, '--json'], { cwd: dir });
    expect(json.exitCode).toBe(0);
    const result = JSON.parse(json.stdout);
    expect(result.result).toBe('ok');
    const api = result.items.find((i: { name: string }) => i.name === 'kube-apiserver');
    expect(api).toMatchObject({ group: 'cert', action: 'create', files: ['kube-apiserver.key', 'kube-apiserver.crt'], subject: 'CN=kube-apiserver', issuer: 'CN=KUBERNETES-CA' });
    expect(api.sans.ip).toContain('10.96.0.1');
    expect(Date.parse(api.notAfter)).toBeGreaterThan(Date.now() + 999 * 86_400_000);
    expect(api.serial).toBe(await serial(join(pki, 'kube-apiserver.crt')));
  });
});

describe('a run killed at any moment', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => ({ dir, cleanup } = await tempDir()));
  afterAll(() => cleanup());

  it.each([1, 6, 14, 24])('killed after %i files: no partial file, and the next run completes the PKI', async (files) => {
    const pki = join(dir, `killed-${files}`);
    const child = execa('node', [CLI, 'gen', '--out', pki, '--concurrency', '1'], { cwd: dir, reject: false, env: { CI: '1' } });
    for (;;) {
      const n = (await readdir(pki).catch(() => [])).filter((f) => /\.(crt|key|kubeconfig)$/.test(f)).length;
      if (n >= files || child.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 5));
    }
    child.kill('SIGKILL');
    await child;
    // Whatever is in place is whole: every certificate and key parses.
    for (const f of await readdir(pki)) {
      if (f.endsWith('.crt')) expect(new X509Certificate(await readFile(join(pki, f))).subject).not.toBe('');
      if (f.endsWith('.key')) expect((await execa('openssl', ['pkey', '-in', join(pki, f), '-noout'], { reject: false })).exitCode).toBe(0);
    }
    const caBefore = await readFile(join(pki, 'ca.crt')).catch(() => null);
    const r = await kubePki(['gen', '--out', pki], { cwd: dir });
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    await assertComplete(pki);
    if (caBefore) expect((await readFile(join(pki, 'ca.crt'))).equals(caBefore)).toBe(true);
    // Nothing of the run is left; the record of the CA keys held here stays (src/inspect/held-keys.ts).
    expect((await readdir(pki)).filter((f) => f.startsWith('.kube-pki'))).toEqual(['.kube-pki-ca-keys.json']);
  });
});
