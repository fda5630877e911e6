import { X509Certificate } from 'node:crypto';
import { mkdir, readFile, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CLUSTER_YAML } from '../src/cluster/default.js';
import type { Cluster } from '../src/model/cluster.js';
import { instancesFor } from '../src/pki.js';
import { replacedMeanwhile, type RenewReport } from '../src/renew/renew.js';
import { inspectDisk } from '../src/inspect/disk.js';
import { kubePki, tempDir } from './helpers/cli.js';
import { opensslVerify } from './helpers/x509.js';
import { certInstance, checkJson, copyPki, fingerprintOf, genPki, labCluster, resign } from './check-fixtures.js';

const x509 = async (file: string) => new X509Certificate(await readFile(file));

/** Every top-level file of a PKI folder with its bytes (backups are folders: left out). */
async function snapshot(pki: string): Promise<Map<string, Buffer>> {
  const files = (await readdir(pki, { withFileTypes: true })).filter((e) => e.isFile());
  return new Map(await Promise.all(files.map(async (f) => [f.name, await readFile(join(pki, f.name))] as const)));
}

async function renewJson(args: string[]): Promise<{ exitCode: number; report: RenewReport; stderr: string }> {
  const r = await kubePki(['renew', ...args, '--json']);
  expect(r.exitCode, r.stderr).not.toBe(2);
  return { exitCode: r.exitCode ?? -1, report: JSON.parse(r.stdout) as RenewReport, stderr: r.stderr };
}

/** The client certificate and key a kubeconfig embeds. */
async function embedded(file: string): Promise<{ cert: Buffer; key: Buffer; ca: Buffer }> {
  const doc = parse(await readFile(file, 'utf8'));
  const b = (s: string) => Buffer.from(s, 'base64');
  return { cert: b(doc.users[0].user['client-certificate-data']), key: b(doc.users[0].user['client-key-data']), ca: b(doc.clusters[0].cluster['certificate-authority-data']) };
}

describe('kube-pki renew', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let config: string;
  let cluster: Cluster;
  let pki: string;
  let n = 0;
  const fresh = () => copyPki(pki, join(dir, `case-${++n}`));

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('kube-pki-renew-'));
    ({ config, cluster } = await labCluster(dir));
    pki = await genPki(dir, config);
    // notAfter has one-second resolution: make sure a renewal cannot land in the same second.
    await new Promise((r) => setTimeout(r, 1100));
  });
  afterAll(() => cleanup());

  it('--all: new serials and notAfter, same keys and SANs, valid chain, byte-equal backups, kubeconfigs updated, CA untouched', async () => {
    const pk = await fresh();
    const instances = instancesFor(cluster);
    const leaves = instances.certs.filter((c) => c.caName);
    const ca = certInstance(cluster, 'ca');
    const before = await snapshot(pk);
    const caPrint = await fingerprintOf(join(pk, ca.certPath));

    const { exitCode, report, stderr } = await renewJson(['--config', config, '--out', pk, '--all']);
    expect(exitCode, stderr).toBe(0);
    expect(report.result).toBe('ok');
    expect(report.warnings).toEqual([]);
    expect(report.renewed.map((r) => r.name)).toEqual(leaves.map((c) => c.name));
    expect(report.kubeconfigs.map((k) => k.file).sort()).toEqual(instances.kubeconfigs.map((k) => k.path).sort());
    expect(report.changed.sort()).toEqual([...leaves.map((c) => c.certPath), ...instances.kubeconfigs.map((k) => k.path)].sort());

    for (const cert of leaves) {
      const old = new X509Certificate(before.get(cert.certPath)!);
      const now = await x509(join(pk, cert.certPath));
      expect(now.serialNumber, cert.name).not.toBe(old.serialNumber);
      expect(new Date(now.validTo).getTime(), cert.name).toBeGreaterThan(new Date(old.validTo).getTime());
      expect(now.subjectAltName, cert.name).toBe(old.subjectAltName);
      expect(now.subject, cert.name).toBe(old.subject);
      expect((await readFile(join(pk, cert.keyPath))).equals(before.get(cert.keyPath)!), cert.keyPath).toBe(true);
      expect(now.publicKey.export({ type: 'spki', format: 'der' }).equals(old.publicKey.export({ type: 'spki', format: 'der' }))).toBe(true);
      expect(await opensslVerify(join(pk, ca.certPath), join(pk, cert.certPath)), cert.name).toBe(true);
      const r = report.renewed.find((x) => x.name === cert.name)!;
      expect(r.before).toEqual({ serial: old.serialNumber, notAfter: new Date(old.validTo).toISOString() });
      expect(r.after).toEqual({ serial: now.serialNumber, notAfter: new Date(now.validTo).toISOString() });
    }
    // The CA: same bytes, same fingerprint; its key untouched.
    expect(await fingerprintOf(join(pk, ca.certPath))).toBe(caPrint);
    expect((await readFile(join(pk, ca.keyPath))).equals(before.get(ca.keyPath)!)).toBe(true);

    // Backups: one timestamped folder holding exactly the replaced files, byte-equal to the old ones, modes kept.
    expect(report.backupDir).toMatch(/\/backup-\d{4}-\d{2}-\d{2}T[\d-]+Z$/);
    const backedUp = (await readdir(report.backupDir!)).sort();
    expect(backedUp).toEqual([...report.changed].sort());
    for (const f of backedUp) {
      expect((await readFile(join(report.backupDir!, f))).equals(before.get(f)!), f).toBe(true);
      expect((await stat(join(report.backupDir!, f))).mode & 0o777).toBe((await stat(join(pki, f))).mode & 0o777);
    }
    // Kubeconfigs embed the new certificates (and the same keys and CA).
    for (const kc of instances.kubeconfigs) {
      const cert = instances.certs.find((c) => c.name === kc.certName)!;
      const e = await embedded(join(pk, kc.path));
      expect(e.cert.equals(await readFile(join(pk, cert.certPath))), kc.path).toBe(true);
      expect(e.key.equals(await readFile(join(pk, cert.keyPath))), kc.path).toBe(true);
      expect(e.ca.equals(await readFile(join(pk, ca.certPath))), kc.path).toBe(true);
      expect((await stat(join(pk, kc.path))).mode & 0o777).toBe(0o600);
    }
    // Every component that reads a renewed file is told to restart, on the nodes that hold it.
    const masters = cluster.nodes.filter((x) => x.role === 'controlplane').map((x) => x.name);
    expect(report.restart.find((r) => r.component === 'kube-apiserver')!.nodes).toEqual(masters);
    expect(report.restart.map((r) => r.component).sort()).toEqual(['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-proxy', 'kube-scheduler', 'kubelet']);
    expect(report.clients.map((r) => r.component).sort()).toEqual(['etcdctl', 'kubectl']);

    const check = await checkJson(config, pk);
    expect(check.exitCode, JSON.stringify(check.report.summary)).toBe(0);
  });

  it('--new-key: new keys (old ones backed up), kubeconfig carries the new key, the rest untouched', async () => {
    const pk = await fresh();
    const admin = certInstance(cluster, 'admin');
    const sa = certInstance(cluster, 'service-account');
    const before = await snapshot(pk);
    const { exitCode, report } = await renewJson(['--config', config, '--out', pk, '--new-key', 'admin', 'service-account']);
    expect(exitCode).toBe(0);
    expect(report.renewed.map((r) => [r.name, r.newKey])).toEqual([['admin', true], ['service-account', true]]);
    expect(report.changed.sort()).toEqual([admin.keyPath, admin.certPath, 'admin.kubeconfig', sa.keyPath, sa.certPath].sort());
    // A new token-signing key has consequences: said before anyone restarts the apiserver.
    expect(report.warnings).toHaveLength(1);
    expect(report.warnings[0]).toMatch(/^service-account\.key signs service-account tokens: .*--service-account-key-file$/);
    const key = await readFile(join(pk, admin.keyPath));
    expect(key.equals(before.get(admin.keyPath)!)).toBe(false);
    expect((await stat(join(pk, admin.keyPath))).mode & 0o777).toBe(0o600);
    expect((await readFile(join(report.backupDir!, admin.keyPath))).equals(before.get(admin.keyPath)!)).toBe(true);
    expect((await embedded(join(pk, 'admin.kubeconfig'))).key.equals(key)).toBe(true);
    const after = await snapshot(pk);
    for (const [file, bytes] of before) if (!report.changed.includes(file)) expect(after.get(file)!.equals(bytes), file).toBe(true);
    expect((await checkJson(config, pk)).exitCode).toBe(0);
  });

  it('--expiring-within renews only those that expire soon; the text output names changed files and restarts', async () => {
    const pk = await fresh();
    const etcd = certInstance(cluster, 'etcd-server');
    await resign(pk, etcd, { days: 10 });
    expect((await checkJson(config, pk)).exitCode).toBe(1);
    const r = await kubePki(['renew', '--config', config, '--out', pk, '--expiring-within', '30']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Renewed 1 of 1 certificate in .* with the existing CA \(keys kept; SANs from .*cluster\.yaml\):$/m);
    expect(r.stdout).toContain(`Changed files (kube-pki distribute sends only these): ${etcd.certPath}\n`);
    const masters = cluster.nodes.filter((x) => x.role === 'controlplane').map((x) => x.name).join(', ');
    expect(r.stdout).toContain(`  kube-apiserver on ${masters} (${etcd.certPath})\n`);
    expect(r.stdout).toContain(`  etcd on ${masters} (${etcd.certPath})\n`);
    const days = (new Date((await x509(join(pk, etcd.certPath))).validTo).getTime() - Date.now()) / 86400_000;
    expect(Math.round(days)).toBe(etcd.days);
    expect((await checkJson(config, pk)).exitCode).toBe(0);
    const again = await renewJson(['--config', config, '--out', pk, '--expiring-within', '30']);
    expect(again.report.result).toBe('nothing');
    expect(again.report.renewed).toEqual([]);
  });

  it('takes the SANs from the current description, not from the old certificate', async () => {
    const pk = await fresh();
    const yaml = DEFAULT_CLUSTER_YAML.replace('extraSANs: []', 'extraSANs: [api.example.test, 192.168.5.99]');
    await mkdir(join(dir, `desc-${n}`));
    const { config: changed } = await labCluster(join(dir, `desc-${n}`), yaml);
    const { exitCode } = await renewJson(['--config', changed, '--out', pk, 'kube-apiserver']);
    expect(exitCode).toBe(0);
    const sans = (await x509(join(pk, 'kube-apiserver.crt'))).subjectAltName ?? '';
    expect(sans).toContain('DNS:api.example.test');
    expect(sans).toContain('IP Address:192.168.5.99');
  });

  it('exits 2 and changes nothing on bad input: a CA, an unknown name, no selection, names with --all, a missing CA key', async () => {
    const pk = await fresh();
    const before = await snapshot(pk);
    const cases: [string[], string][] = [
      [['ca'], 'renew: "ca" is a CA; renew never renews a CA'],
      [['no-such-cert'], 'renew: unknown certificate "no-such-cert"; known: admin, kube-controller-manager,'],
      [[], 'name the certificates to renew, or give --all or --expiring-within DAYS'],
      [['admin', '--all'], 'give certificate names or --all, not both'],
      [['--expiring-within', '0'], '"0" is not a whole number of 1 or more'],
    ];
    for (const [args, message] of cases) {
      const r = await kubePki(['renew', '--config', config, '--out', pk, ...args]);
      expect(r.exitCode, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toContain(message);
    }
    await rm(join(pk, 'ca.key'));
    const noKey = await kubePki(['renew', '--config', config, '--out', pk, '--all']);
    expect(noKey.exitCode).toBe(2);
    expect(noKey.stderr).toContain('ca.key: the CA key is missing or unreadable; renew signs with it');
    const after = await snapshot(pk);
    before.delete('ca.key');
    expect([...after.keys()].sort()).toEqual([...before.keys()].sort());
    for (const [file, bytes] of before) expect(after.get(file)!.equals(bytes), file).toBe(true);
    expect((await readdir(pk)).some((f) => f.startsWith('backup-'))).toBe(false);
  });

  it('an unknown name: the names offered are the ones renew takes (no CA), and each of them renews', async () => {
    const r = await kubePki(['renew', '--config', config, '--out', pki, 'no-such-cert']);
    expect(r.exitCode).toBe(2);
    const offered = /; known: (.*)$/m.exec(r.stderr)![1]!.split(', ');
    expect(offered).toEqual(instancesFor(cluster).certs.filter((c) => c.caName).map((c) => c.name));
    expect(offered).not.toContain('ca');
    for (const name of offered) {
      const dry = await kubePki(['renew', '--config', config, '--out', pki, '--dry-run', name]);
      expect(dry.exitCode, `${name}: ${dry.stderr}`).toBe(0);
    }
  });

  it('--dry-run prints the openssl commands and writes nothing', async () => {
    const pk = await fresh();
    const before = await snapshot(pk);
    const r = await kubePki(['renew', '--config', config, '--out', pk, '--dry-run', 'worker-1']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain('Would renew 1 certificate in');
    expect(r.stdout).toContain('Kubeconfigs to re-render: worker-1.kubeconfig');
    expect(r.stdout).toMatch(/openssl ca -batch -config "\$KUBE_PKI_CA_DB\/\.ca-config\.cnf" -in worker-1\.csr -cert ca\.crt -keyfile ca\.key -out worker-1\.crt/);
    expect(r.stdout).not.toMatch(/genrsa/);
    const after = await snapshot(pk);
    for (const [file, bytes] of before) expect(after.get(file)!.equals(bytes), file).toBe(true);
  });

  it('stops rather than renew from a stale plan: a certificate another run replaced meanwhile is found', async () => {
    const pk = await fresh();
    const instances = instancesFor(cluster);
    const planned = await inspectDisk(pk, instances);
    const renewed = ['admin', 'kube-proxy'].map((name) => ({
      name, file: `${name}.crt`, keyFile: `${name}.key`, newKey: false, after: null,
      before: { serial: planned.certs.get(name)!.facts!.serial, notAfter: planned.certs.get(name)!.facts!.notAfter.toISOString() },
    }));
    expect(replacedMeanwhile(renewed, planned)).toEqual([]);
    // Another run re-issues admin between renew's first look and its lock.
    const other = await renewJson(['--config', config, '--out', pk, 'admin']);
    expect(other.exitCode, other.stderr).toBe(0);
    expect(replacedMeanwhile(renewed, await inspectDisk(pk, instances)).map((r) => r.name)).toEqual(['admin']);
  });
});
