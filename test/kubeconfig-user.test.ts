import { createHash, X509Certificate } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CheckReport } from '../src/check/report.js';
import type { UserLedger } from '../src/model/user-ledger.js';
import { kubePki, tempDir } from './helpers/cli.js';
import { generated, listFiles } from './helpers/kubeadm.js';

// `kube-pki kubeconfig user`: real openssl signs, the real kubectl reads the kubeconfig, `openssl
// verify` judges the chain; the ledger and check's section follow.

const YAML = `profile: kubeadm
key: { algorithm: ecdsa, curve: P-256 }
apiServer: { endpoint: 192.168.25.30, port: 6443 }
nodes:
  - { name: cp-1, address: 192.168.25.11, role: controlplane }
  - { name: worker-1, address: 192.168.25.21, role: worker }
`;
const DAY = 86_400_000;

type Run = Awaited<ReturnType<typeof kubePki>>;
const ok = (r: Run) => expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
const snapshot = async (root: string) => {
  const files = await listFiles(root).catch(() => [] as string[]);
  return new Map(await Promise.all(files.map(async (f) => [f, createHash('sha256').update(await readFile(join(root, f))).digest('hex')] as const)));
};

/** What kubectl itself reads from a kubeconfig file. */
async function kubectlView(file: string) {
  const r = await execa('kubectl', ['config', 'view', '--raw', '-o', 'json', '--kubeconfig', file], { reject: false, stdin: 'ignore' });
  expect(r.exitCode, r.stderr).toBe(0);
  const v = JSON.parse(r.stdout) as {
    clusters: { name: string; cluster: { server: string; 'certificate-authority-data': string } }[];
    contexts: { name: string; context: { cluster: string; user: string } }[];
    'current-context': string;
    users: { name: string; user: { 'client-certificate-data': string; 'client-key-data': string } }[];
  };
  const b64 = (s: string) => Buffer.from(s, 'base64');
  return { view: v, ca: b64(v.clusters[0]!.cluster['certificate-authority-data']), cert: b64(v.users[0]!.user['client-certificate-data']), key: b64(v.users[0]!.user['client-key-data']) };
}

describe('kubeconfig user (profile kubeadm)', () => {
  let dir: string;
  let out: string;
  let config: string;
  let cleanup: () => Promise<void>;
  const user = (args: string[]) => kubePki(['kubeconfig', 'user', ...args, '--config', config, '--out', out]);
  const ledger = async () => JSON.parse(await readFile(join(out, 'users.json'), 'utf8')) as UserLedger;

  beforeAll(async () => {
    ({ dir, out, config, cleanup } = await generated(YAML));
  });
  afterAll(() => cleanup());

  it('refuses bad input with exit 2 naming the option and value, writing nothing', async () => {
    const before = await snapshot(dir);
    const existing = join(dir, 'existing.conf');
    const cases: [string[], RegExp][] = [
      [['ja/ne'], /NAME "ja\/ne"/],
      [['jane', '--group', 'a,b=c'], /--group "a,b=c"/],
      [['jane', '--group', 'dev\nO=system:masters'], /--group "dev\\nO=system:masters"/],
      [['CN=x'], /NAME "CN=x"/],
      [['x'.repeat(65)], /NAME "x{65}"/],
      [['jane', '--days', '0'], /--days/],
      [['jane', '--kubeconfig-file', join(dir, 'no-such-folder', 'jane.conf')], /--kubeconfig-file .*does not exist/],
    ];
    for (const [args, message] of cases) {
      const r = await user(args);
      expect(r.exitCode, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stdout).toBe('');
    }
    expect(await snapshot(dir)).toEqual(before);
    // An existing file is refused without --force, and left as it was.
    await writeFile(existing, 'mine\n');
    const r = await user(['jane', '--kubeconfig-file', existing]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/--kubeconfig-file .*exists; give --force/);
    expect(await readFile(existing, 'utf8')).toBe('mine\n');
    const missingPki = await kubePki(['kubeconfig', 'user', 'jane', '--config', config, '--out', join(dir, 'nothing-here')]);
    expect(missingPki.exitCode).toBe(2);
    expect(missingPki.stderr).toMatch(/--out .*no such folder/);
    expect(await stat(join(out, 'users.json')).catch(() => null)).toBeNull();
  });

  it('prints a kubeconfig kubectl reads; its certificate verifies against the CA, with CN, O and one day', async () => {
    const before = await listFiles(out);
    const r = await user(['jane', '--group', 'dev', '--group', 'kubeadm:cluster-admins']);
    ok(r);
    const file = join(dir, 'jane.conf');
    await writeFile(file, r.stdout, { mode: 0o600 });
    const { view, ca, cert, key } = await kubectlView(file);
    expect(view.clusters[0]!.cluster.server).toBe('https://192.168.25.30:6443');
    // The cluster named as the profile's own kubeconfigs name it; user and context as kubeadm's.
    const admin = parse(await readFile(join(out, 'cp-1', 'admin.conf'), 'utf8')) as { clusters: { name: string }[] };
    expect(view.clusters[0]!.name).toBe(admin.clusters[0]!.name);
    expect(view.users[0]!.name).toBe('jane');
    expect(view['current-context']).toBe(`jane@${admin.clusters[0]!.name}`);
    expect(view.contexts[0]).toEqual({ name: `jane@${admin.clusters[0]!.name}`, context: { cluster: admin.clusters[0]!.name, user: 'jane' } });
    expect(ca.equals(await readFile(join(out, '_cluster/pki/ca.crt')))).toBe(true);

    const certFile = join(dir, 'jane.crt');
    await writeFile(certFile, cert);
    const verify = await execa('openssl', ['verify', '-CAfile', join(out, '_cluster/pki/ca.crt'), '-purpose', 'sslclient', certFile], { reject: false });
    expect(verify.stdout).toBe(`${certFile}: OK`);
    const x = new X509Certificate(cert);
    expect(x.subject).toBe('CN=jane\nO=dev\nO=kubeadm:cluster-admins');
    // A day from now, starting 5 minutes ago as every certificate does (kubeadm's backdating); whole seconds.
    const span = Date.parse(x.validTo) - Date.parse(x.validFrom);
    expect(span).toBeGreaterThanOrEqual(DAY + 5 * 60_000);
    expect(span).toBeLessThanOrEqual(DAY + 5 * 60_000 + 2000);
    expect(x.checkPrivateKey((await import('node:crypto')).createPrivateKey(key))).toBe(true);

    // The key only in the kubeconfig: the PKI folder gained the ledger and nothing else, and no key is logged.
    expect((await listFiles(out)).filter((f) => !before.includes(f))).toEqual(['users.json']);
    expect(r.stderr).not.toMatch(/PRIVATE KEY/);
    expect(r.stderr).not.toContain(key.toString('base64').slice(60, 120));
    const entry = (await ledger()).users.at(-1)!;
    expect(entry).toMatchObject({ name: 'jane', groups: ['dev', 'kubeadm:cluster-admins'], serial: x.serialNumber, notAfter: new Date(x.validTo).toISOString() });
    expect(entry.issuer.fingerprint256).toBe(new X509Certificate(ca).fingerprint256);
    expect(JSON.stringify(await ledger())).not.toMatch(/PRIVATE|client-key/);
    expect((await stat(join(out, 'users.json'))).mode & 0o777).toBe(0o600);
  });

  it('writes --kubeconfig-file 0600, replaces it only with --force, and records each certificate', async () => {
    const file = join(dir, 'ops.conf');
    const count = (await ledger()).users.length;
    ok(await user(['ops', '--days', '30', '--kubeconfig-file', file]));
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const first = await kubectlView(file);
    expect(Math.round((Date.parse(new X509Certificate(first.cert).validTo) - Date.parse(new X509Certificate(first.cert).validFrom)) / DAY)).toBe(30);
    const again = await user(['ops', '--kubeconfig-file', file]);
    expect(again.exitCode).toBe(2);
    expect((await kubectlView(file)).cert.equals(first.cert)).toBe(true);
    ok(await user(['ops', '--kubeconfig-file', file, '--force']));
    const second = await kubectlView(file);
    expect(second.cert.equals(first.cert)).toBe(false);
    const users = (await ledger()).users;
    expect(users).toHaveLength(count + 2);
    expect(users.slice(-2).map((u) => u.serial)).toEqual([first.cert, second.cert].map((c) => new X509Certificate(c).serialNumber));
  });

  it('check lists the ledger: expiry, an expired one as a note, one valid for more than a year as a warning', async () => {
    ok(await user(['longlived', '--days', '400', '--kubeconfig-file', join(dir, 'long.conf')]));
    // An expired entry, as the ledger would hold one a year from now.
    const l = await ledger();
    l.users.push({ ...l.users[0]!, name: 'old-timer', serial: '01', notBefore: '2020-01-01T00:00:00.000Z', notAfter: '2020-01-02T00:00:00.000Z' });
    // And one a CA signed that the folder no longer holds (replaced since).
    l.users.push({ ...l.users[0]!, name: 'from-old-ca', serial: '02', issuer: { ...l.users[0]!.issuer, fingerprint256: '00:11:22' } });
    await writeFile(join(out, 'users.json'), JSON.stringify(l));
    const json = await kubePki(['check', '--config', config, '--out', out, '--json']);
    const report = JSON.parse(json.stdout) as CheckReport;
    const byName = new Map(report.users.map((u) => [u.name, u]));
    expect(byName.get('jane')).toMatchObject({ groups: ['dev', 'kubeadm:cluster-admins'], status: 'ok', residualDays: 0 });
    expect(byName.get('old-timer')!.problems).toEqual([expect.objectContaining({ severity: 'note', code: 'user-expired' })]);
    expect(byName.get('from-old-ca')!.problems).toEqual([expect.objectContaining({ severity: 'note', code: 'user-other-ca' })]);
    expect(byName.get('longlived')!.problems).toEqual([expect.objectContaining({ severity: 'warning', code: 'user-long-lived' })]);
    expect(report.users[0]!.name).toBe('old-timer');
    expect(report.summary.warnings).toBe(1);
    expect(json.exitCode).toBe(1);
    expect(json.stdout).not.toMatch(/PRIVATE|client-key/);
    const text = await kubePki(['check', '--config', config, '--out', out]);
    expect(text.stdout).toContain('User certificates (cannot be revoked: they live until they expire):');
    expect(text.stdout).toMatch(/jane\s+dev,kubeadm:cluster-admins\s+[0-9A-F]+\s+\w{3} \d\d, \d{4} \d\d:\d\d UTC/);
    expect(text.stdout).toMatch(/longlived .*warning: longlived: valid for 400 days/);
  });

  it('a damaged ledger stops kubeconfig user (exit 1, nothing signed out) and is an error row in check', async () => {
    await writeFile(join(out, 'users.json'), '{"version": 1, "users": [');
    const r = await user(['late']);
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/users\.json: not JSON/);
    const report = JSON.parse((await kubePki(['check', '--config', config, '--out', out, '--json'])).stdout) as CheckReport;
    expect(report.files).toContainEqual(expect.objectContaining({ file: 'users.json', status: 'error' }));
  });
});

describe('kubeconfig user (profile hardway under a root CA)', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('kube-pki-user-root-'));
  });
  afterAll(() => cleanup());

  it('the intermediate ca signs, without the root passphrase; the days are capped to the CA with a warning', async () => {
    const config = join(dir, 'cluster.yaml');
    const pass = join(dir, 'root.pass');
    await writeFile(pass, 'a passphrase of some length\n', { mode: 0o600 });
    await writeFile(
      config,
      `profile: hardway
key: { algorithm: ecdsa, curve: P-256 }
rootCA: {}
validityDays: { ca: 10, leaf: 5 }
apiServer: { endpoint: 192.168.26.30 }
nodes:
  - { name: server, address: 192.168.26.11, role: controlplane }
  - { name: node-0, address: 192.168.26.21, role: worker }
`,
    );
    const out = join(dir, 'pki');
    ok(await kubePki(['gen', '--config', config, '--out', out, '--ca-passphrase-file', pass]));
    const r = await kubePki(['kubeconfig', 'user', 'alice', '--days', '30', '--config', config, '--out', out]);
    ok(r);
    expect(r.stderr).toMatch(/warning: valid for \d day\(s\) instead of --days 30: capped to the remaining life of its CA ca\.crt/);
    const file = join(dir, 'alice.conf');
    await writeFile(file, r.stdout, { mode: 0o600 });
    const { cert, view } = await kubectlView(file);
    expect(view.clusters[0]!.name).toBe('kubernetes-the-hard-way');
    const certFile = join(dir, 'alice.crt');
    await writeFile(certFile, cert);
    const verify = await execa('openssl', ['verify', '-CAfile', join(out, 'root-ca.crt'), '-untrusted', join(out, 'ca.crt'), certFile], { reject: false });
    expect(verify.stdout).toBe(`${certFile}: OK`);
    const ca = new X509Certificate(await readFile(join(out, 'ca.crt')));
    const x = new X509Certificate(cert);
    expect(x.issuer).toBe(ca.subject);
    expect(Date.parse(x.validTo)).toBeLessThanOrEqual(Date.parse(ca.validTo));
  });
});
