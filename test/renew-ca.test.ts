import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RenewCaReport } from '../src/rotate/renew-ca.js';
import { subjectDer } from '../src/inspect/der.js';
import { copyPki, genPki, labCluster } from './check-fixtures.js';
import { kubePki, tempDir, type KubePkiResult } from './helpers/cli.js';
import { cert, changedFiles, hashes, issued, kubeconfigParts, KUBEADM_YAML, ROOT_HARDWAY_YAML } from './helpers/rotation.js';

// renew-ca (issue 23): a CA's new certificate for its kept key. Real openssl reads what matters: the
// subject (with its string types) and subject key identifier are the old ones, the leaves' authority
// key identifier still names it, and every old leaf verifies with the renewed CA (and with the old).

const DAY = 86_400_000;
const LEAVES = ['admin', 'kube-controller-manager', 'kube-proxy', 'kube-scheduler', 'kube-apiserver', 'apiserver-kubelet-client', 'etcd-server', 'service-account', 'worker-1', 'worker-2'];

const ok = (r: KubePkiResult) => expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
const x509 = async (file: string, args: string[]) => (await execa('openssl', ['x509', '-in', file, '-noout', ...args], { stdin: 'ignore' })).stdout;
const skid = (file: string) => x509(file, ['-ext', 'subjectKeyIdentifier']);
const akid = async (file: string) => (await x509(file, ['-ext', 'authorityKeyIdentifier'])).replace(/^X509v3 Authority Key Identifier: *\n\s*/, '').trim();
const subjectTyped = (file: string) => x509(file, ['-subject', '-nameopt', 'multiline,show_type']);
const verify = async (caFile: string, files: string[], untrusted?: string) =>
  execa('openssl', ['verify', '-CAfile', caFile, ...(untrusted ? ['-untrusted', untrusted] : []), ...files], { reject: false, stdin: 'ignore' });

/** What must be the same in a renewed CA: subject bytes, typed subject, key identifier, public key. */
async function expectSameCa(oldFile: string, newFile: string): Promise<void> {
  const [o, n] = [await cert(oldFile), await cert(newFile)];
  expect(n.serialNumber).not.toBe(o.serialNumber);
  expect(subjectDer(n.raw).equals(subjectDer(o.raw)), 'subject DER byte for byte').toBe(true);
  expect(await subjectTyped(newFile)).toBe(await subjectTyped(oldFile));
  expect(await skid(newFile)).toBe(await skid(oldFile));
  expect(await skid(newFile)).toMatch(/([0-9A-F]{2}:){19}[0-9A-F]{2}/);
  expect(n.publicKey.export({ type: 'spki', format: 'der' }).equals(o.publicKey.export({ type: 'spki', format: 'der' }))).toBe(true);
}

describe('renew-ca, hard way', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let config: string;
  let base: string;
  const renewCa = (pki: string, args: string[] = []) => kubePki(['renew-ca', '--config', config, '--out', pki, ...args]);

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('kube-pki-renew-ca-'));
    ({ config } = await labCluster(dir));
    base = await genPki(dir, config, 'base');
  }, 120_000);
  afterAll(() => cleanup());

  it('--dry-run prints the plan and the restarts, writes nothing; --json with the plan', async () => {
    const pki = await copyPki(base, join(dir, 'dry'));
    const before = await hashes(pki);
    const dry = await renewCa(pki, ['--dry-run']);
    ok(dry);
    expect(dry.stdout).toContain('plan only, nothing written');
    expect(dry.stdout).toMatch(/openssl x509 -x509toreq -in ca\.crt -signkey ca\.key -out ca\.csr/);
    expect(dry.stdout).toMatch(/openssl ca -batch -config "\$KUBE_PKI_CA_DB\/\.ca-config\.cnf" -in ca\.csr -selfsign -keyfile ca\.key -out ca\.crt -startdate "\$KUBE_PKI_NOT_BEFORE" -days 1000 /);
    expect(dry.stdout).toMatch(/1\. master-1: etcd, kube-apiserver, kube-controller-manager, kube-scheduler/);
    const json = await renewCa(pki, ['--dry-run', '--json']);
    ok(json);
    const report = JSON.parse(json.stdout) as RenewCaReport & { plan: { name: string; outputs: string[] }[] };
    expect(report.result).toBe('dry-run');
    expect(report.cas.map((c) => [c.name, c.after])).toEqual([['ca', null]]);
    expect(report.plan.find((i) => i.name === 'ca')!.outputs).toEqual(['ca.crt']);
    expect(report.plan.map((i) => i.name).sort()).toEqual(['admin', 'ca', 'kube-controller-manager', 'kube-proxy', 'kube-scheduler', 'worker-1', 'worker-2'].map((n) => (n === 'ca' ? n : `${n}.kubeconfig`)).sort());
    expect(changedFiles(before, await hashes(pki))).toEqual([]);
  });

  it('renews ca.crt: same subject, key identifier and key; validityDays.ca from now, backdated 5 minutes; leaves untouched and verifying; kubeconfigs embed the new CA; old one backed up; check clean', async () => {
    const pki = await copyPki(base, join(dir, 'renewed'));
    const before = await hashes(pki);
    const leafAkids = await Promise.all(LEAVES.map((l) => akid(join(pki, `${l}.crt`))));
    const started = Date.now();
    const r = await renewCa(pki, ['--json']);
    ok(r);
    const report = JSON.parse(r.stdout) as RenewCaReport;
    expect(report.result).toBe('ok');
    // Only the CA certificate and the kubeconfigs changed; every key and leaf as it was.
    const changed = changedFiles(before, await hashes(pki)).filter((f) => !f.startsWith('backup-'));
    expect(changed.sort()).toEqual(['admin.kubeconfig', 'ca.crt', 'kube-controller-manager.kubeconfig', 'kube-proxy.kubeconfig', 'kube-scheduler.kubeconfig', 'worker-1.kubeconfig', 'worker-2.kubeconfig']);
    expect(report.changed.sort()).toEqual(changed);
    // The old certificate in the backup folder, as gen/renew/rotate-ca keep theirs.
    expect(report.backupDir).toMatch(/\/backup-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}-\d{3}Z$/);
    const oldFile = join(report.backupDir!, 'ca.crt');
    await expectSameCa(oldFile, join(pki, 'ca.crt'));
    const renewed = await cert(join(pki, 'ca.crt'));
    const notBefore = new Date(renewed.validFrom).getTime();
    const notAfter = new Date(renewed.validTo).getTime();
    // openssl prints whole seconds: a second of slack either way.
    expect(notBefore).toBeGreaterThanOrEqual(started - 5 * 60_000 - 1000);
    expect(notBefore).toBeLessThanOrEqual(Date.now() - 5 * 60_000 + 1000);
    expect(notAfter).toBeGreaterThanOrEqual(started + 1000 * DAY - 1000);
    expect(notAfter).toBeLessThanOrEqual(Date.now() + 1000 * DAY + 1000);
    expect(report.cas[0]!.after!.notAfter).toBe(new Date(notAfter).toISOString());
    // Every leaf: its authority key id is the CA's key id, it verifies with the renewed CA and the old one.
    const id = (await skid(join(pki, 'ca.crt'))).split('\n')[1]!.trim();
    expect(leafAkids.every((a) => a === id)).toBe(true);
    const files = LEAVES.map((l) => join(pki, `${l}.crt`));
    for (const caFile of [join(pki, 'ca.crt'), oldFile]) {
      const v = await verify(caFile, files);
      expect(v.exitCode, v.stdout + v.stderr).toBe(0);
    }
    for (const l of LEAVES) expect(issued(await cert(join(pki, `${l}.crt`)), renewed), l).toBe(true);
    for (const kc of ['admin', 'worker-1', 'kube-proxy']) {
      const parts = await kubeconfigParts(join(pki, `${kc}.kubeconfig`));
      expect(parts.cas.map((c) => c.fingerprint256)).toEqual([renewed.fingerprint256]);
      expect(parts.client.fingerprint256).toBe((await cert(join(pki, `${kc}.crt`))).fingerprint256);
    }
    expect(report.restart.map((s) => s.node)).toEqual(['master-1', 'master-2', 'worker-1', 'worker-2']);
    // check, explain and graph read the renewed CA: its new expiry.
    const check = await kubePki(['check', '--config', config, '--out', pki, '--json']);
    expect(check.exitCode, check.stdout).toBe(0);
    const checked = JSON.parse(check.stdout) as { cas: { file: string; notAfter: string; serial: string }[] };
    expect(checked.cas.find((c) => c.file === 'ca.crt')!.notAfter).toBe(new Date(notAfter).toISOString());
    const explain = await kubePki(['explain', 'ca', '--config', config, '--out', pki]);
    ok(explain);
    const graph = await kubePki(['graph', '--config', config, '--out', pki]);
    ok(graph);
    expect(graph.stdout).toContain(new Date(notAfter).toISOString().slice(0, 10));
  });

  it('a second renew-ca renews again (a run after a completed one is a new renewal), everything still verifies; refused during a rotation (exit 2, nothing written)', async () => {
    const pki = await copyPki(base, join(dir, 'twice'));
    ok(await renewCa(pki));
    const first = await cert(join(pki, 'ca.crt'));
    ok(await renewCa(pki));
    await expectSameCa(join(base, 'ca.crt'), join(pki, 'ca.crt'));
    expect((await cert(join(pki, 'ca.crt'))).serialNumber).not.toBe(first.serialNumber);
    ok(await kubePki(['check', '--config', config, '--out', pki]));

    ok(await kubePki(['rotate-ca', 'start', '--config', config, '--out', pki]));
    const before = await hashes(pki);
    for (const args of [[], ['--dry-run']]) {
      const refused = await renewCa(pki, args);
      expect(refused.exitCode, refused.stderr).toBe(2);
      expect(refused.stderr).toContain('renew-ca: a CA rotation is under way here: ca (phase start)');
    }
    expect(changedFiles(before, await hashes(pki))).toEqual([]);
  }, 120_000);

  it('after a finished rotation the bundle kept under its name holds the renewed CA; rotate-ca status: no rotation', async () => {
    const pki = await copyPki(base, join(dir, 'bundle'));
    for (const phase of ['start', 'reissue', 'finish']) ok(await kubePki(['rotate-ca', phase, '--config', config, '--out', pki]));
    ok(await renewCa(pki));
    expect(await readFile(join(pki, 'ca-bundle.crt'), 'utf8')).toBe(await readFile(join(pki, 'ca.crt'), 'utf8'));
    const status = await kubePki(['rotate-ca', 'status', '--config', config, '--out', pki]);
    ok(status);
    expect(status.stdout).toContain('ca (ca.crt): no rotation');
    ok(await kubePki(['check', '--config', config, '--out', pki]));
  }, 120_000);

  it('a CA certificate without a key identifier (made by an older tool): renewed without one, its leaves verify', async () => {
    const pki = await copyPki(base, join(dir, 'no-skid'));
    const csr = join(dir, 'v1.csr');
    await execa('openssl', ['req', '-new', '-key', join(pki, 'ca.key'), '-subj', '/CN=KUBERNETES-CA', '-out', csr], { stdin: 'ignore' });
    await execa('openssl', ['x509', '-req', '-in', csr, '-signkey', join(pki, 'ca.key'), '-days', '100', '-out', join(pki, 'ca.crt')], { stdin: 'ignore' });
    const r = await renewCa(pki, ['--json']);
    ok(r);
    expect((JSON.parse(r.stdout) as RenewCaReport).cas[0]!.subjectKeyId).toBeNull();
    const text = await x509(join(pki, 'ca.crt'), ['-text']);
    expect(text).not.toContain('Key Identifier');
    expect(text).toContain('CA:TRUE');
    const v = await verify(join(pki, 'ca.crt'), LEAVES.map((l) => join(pki, `${l}.crt`)));
    expect(v.exitCode, v.stdout + v.stderr).toBe(0);
  });

  it('bad input: an unknown --ca, a CA without its key: exit 2, nothing written', async () => {
    const pki = await copyPki(base, join(dir, 'bad'));
    const before = await hashes(pki);
    const unknown = await renewCa(pki, ['--ca', 'etcd-ca']);
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toContain('--ca "etcd-ca": not a CA of this cluster; one of: ca');
    await writeFile(join(pki, 'ca.key'), await readFile(join(base, 'admin.key')), { mode: 0o600 });
    const mismatch = await renewCa(pki);
    expect(mismatch.exitCode).toBe(2);
    expect(mismatch.stderr).toContain('renew-ca ca: ca.key is not the key of ca.crt');
    expect(changedFiles(before, await hashes(pki))).toEqual(['ca.key']);
  });
});

describe('renew-ca, kubeadm layout: one CA or all three, node trees follow', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let config: string;
  let base: string;
  const renewCa = (pki: string, args: string[] = []) => kubePki(['renew-ca', '--config', config, '--out', pki, ...args]);

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('kube-pki-renew-ca-kubeadm-'));
    ({ config } = await labCluster(dir, KUBEADM_YAML));
    base = await genPki(dir, config, 'base');
  }, 120_000);
  afterAll(() => cleanup());

  it('--ca etcd-ca: only etcd/ca.crt and its copies in the control planes\' trees change; leaves verify; check clean', async () => {
    const pki = await copyPki(base, join(dir, 'etcd'));
    const before = await hashes(pki);
    const r = await renewCa(pki, ['--ca', 'etcd-ca', '--json']);
    ok(r);
    const report = JSON.parse(r.stdout) as RenewCaReport;
    const changed = changedFiles(before, await hashes(pki)).filter((f) => !f.startsWith('backup-'));
    expect(changed.sort()).toEqual(['_cluster/pki/etcd/ca.crt', 'cp-1/pki/etcd/ca.crt', 'cp-2/pki/etcd/ca.crt']);
    await expectSameCa(join(report.backupDir!, '_cluster/pki/etcd/ca.crt'), join(pki, '_cluster/pki/etcd/ca.crt'));
    for (const node of ['cp-1', 'cp-2']) {
      expect(await readFile(join(pki, node, 'pki/etcd/ca.crt'), 'utf8')).toBe(await readFile(join(pki, '_cluster/pki/etcd/ca.crt'), 'utf8'));
      const v = await verify(join(pki, node, 'pki/etcd/ca.crt'), ['server', 'peer', 'healthcheck-client'].map((l) => join(pki, node, `pki/etcd/${l}.crt`)));
      expect(v.exitCode, v.stdout + v.stderr).toBe(0);
    }
    expect(report.restart).toEqual([
      { node: 'cp-1', components: ['etcd', 'kube-apiserver'] },
      { node: 'cp-2', components: ['etcd', 'kube-apiserver'] },
    ]);
    ok(await kubePki(['check', '--config', config, '--out', pki]));
  });

  it('every CA: ca, etcd-ca and front-proxy-ca renewed with their keys; kubeconfigs and every tree follow; check clean', async () => {
    const pki = await copyPki(base, join(dir, 'all'));
    const r = await renewCa(pki, ['--json']);
    ok(r);
    const report = JSON.parse(r.stdout) as RenewCaReport;
    expect(report.cas.map((c) => c.name).sort()).toEqual(['ca', 'etcd-ca', 'front-proxy-ca']);
    for (const c of report.cas) await expectSameCa(join(base, c.file), join(pki, c.file));
    const ca = await cert(join(pki, '_cluster/pki/ca.crt'));
    for (const node of ['cp-1', 'cp-2', 'worker-1']) expect((await cert(join(pki, node, 'pki/ca.crt'))).fingerprint256).toBe(ca.fingerprint256);
    const kubeconfigs = (await readdir(join(pki, 'cp-1'))).filter((f) => f.endsWith('.conf'));
    expect(kubeconfigs.length).toBeGreaterThan(2);
    for (const kc of kubeconfigs) expect((await kubeconfigParts(join(pki, 'cp-1', kc))).cas.map((c) => c.fingerprint256), kc).toEqual([ca.fingerprint256]);
    const v = await verify(join(pki, '_cluster/pki/ca.crt'), [join(pki, 'cp-1/pki/apiserver.crt'), join(pki, 'cp-2/pki/apiserver-kubelet-client.crt')]);
    expect(v.exitCode, v.stdout + v.stderr).toBe(0);
    const fp = await verify(join(pki, '_cluster/pki/front-proxy-ca.crt'), [join(pki, 'cp-1/pki/front-proxy-client.crt')]);
    expect(fp.exitCode, fp.stdout + fp.stderr).toBe(0);
    ok(await kubePki(['check', '--config', config, '--out', pki]));
  }, 120_000);
});

describe('renew-ca under a root CA (hard way, encrypted root key)', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let config: string;
  let out: string;
  let passFile: string;
  const PASSPHRASE = 'renew under the root 23 lantern';

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('kube-pki-renew-ca-root-'));
    passFile = join(dir, 'root.pass');
    await writeFile(passFile, `${PASSPHRASE}\n`, { mode: 0o600 });
    config = join(dir, 'cluster.yaml');
    await writeFile(config, ROOT_HARDWAY_YAML);
    out = join(dir, 'pki');
    ok(await kubePki(['gen', '--config', config, '--out', out, '--ca-passphrase-file', passFile]));
  }, 120_000);
  afterAll(() => cleanup());

  it('without the passphrase: exit 2 naming the option, nothing written; with it: the root signs the renewed intermediate; --ca root-ca renews the root itself; chains verify; the passphrase nowhere', async () => {
    const before = await hashes(out);
    const env = { KUBE_PKI_CA_PASSPHRASE_FILE: '' };
    const missing = await kubePki(['renew-ca', '--config', config, '--out', out], { env });
    expect(missing.exitCode, missing.stderr).toBe(2);
    expect(missing.stderr).toContain('--ca-passphrase-file');
    expect(changedFiles(before, await hashes(out))).toEqual([]);

    const oldCa = join(dir, 'old-ca.crt');
    await writeFile(oldCa, await readFile(join(out, 'ca.crt')));
    const r = await kubePki(['renew-ca', '--config', config, '--out', out, '--ca-passphrase-file', passFile, '--json'], { env });
    ok(r);
    await expectSameCa(oldCa, join(out, 'ca.crt'));
    expect(await x509(join(out, 'ca.crt'), ['-ext', 'basicConstraints'])).toContain('pathlen:0');
    expect(await akid(join(out, 'ca.crt'))).toBe((await skid(join(out, 'root-ca.crt'))).split('\n')[1]!.trim());
    const leaves = ['admin', 'kube-apiserver', 'worker-1'].map((l) => join(out, `${l}.crt`));
    expect((await verify(join(out, 'root-ca.crt'), leaves, join(out, 'ca.crt'))).exitCode).toBe(0);

    // The root itself, only when named: self-signed again with its encrypted key; the intermediate still chains to it.
    const oldRoot = join(dir, 'old-root.crt');
    await writeFile(oldRoot, await readFile(join(out, 'root-ca.crt')));
    const root = await kubePki(['renew-ca', '--ca', 'root-ca', '--config', config, '--out', out, '--ca-passphrase-file', passFile], { env });
    ok(root);
    await expectSameCa(oldRoot, join(out, 'root-ca.crt'));
    for (const anchor of [join(out, 'root-ca.crt'), oldRoot]) expect((await verify(anchor, leaves, join(out, 'ca.crt'))).exitCode).toBe(0);
    ok(await kubePki(['check', '--config', config, '--out', out]));
    for (const text of [missing.stdout, missing.stderr, r.stdout, r.stderr, root.stdout, root.stderr]) expect(text).not.toContain(PASSPHRASE);
    for (const [file] of await hashes(out)) {
      if (file.endsWith('.key')) continue;
      expect(await readFile(join(out, file), 'utf8'), file).not.toContain(PASSPHRASE);
    }
  }, 120_000);
});
