import { chmod, copyFile, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Cluster } from '../src/model/cluster.js';
import { instancesFor } from '../src/pki.js';
import { kubePki, tempDir } from './helpers/cli.js';
import { certInstance, checkJson, copyPki, genPki, labCluster, onlyProblemRow, otherCa, resign, resignExpired, rows } from './check-fixtures.js';

describe('kube-pki check', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let config: string;
  let cluster: Cluster;
  let pki: string;
  let other: { crt: string; key: string };
  let n = 0;
  /** A fresh copy of the generated PKI to break in one way. */
  const fresh = () => copyPki(pki, join(dir, `case-${++n}`));

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('kube-pki-check-'));
    ({ config, cluster } = await labCluster(dir));
    [pki, other] = await Promise.all([genPki(dir, config), otherCa(join(dir, 'other'))]);
  });
  afterAll(() => cleanup());

  it('passes a fresh PKI: exit 0, every catalog entry recognised by file name, JSON as documented', async () => {
    const { exitCode, report, stderr } = await checkJson(config, pki);
    expect(exitCode, stderr).toBe(0);
    const instances = instancesFor(cluster);
    expect(report.result).toBe('ok');
    expect(report.outDir).toBe(pki);
    expect(report.profile).toBe(cluster.profile);
    expect(report.warnDays).toBe(30);
    expect(report.summary).toEqual({
      cas: instances.certs.filter((c) => !c.caName).length,
      certificates: instances.certs.filter((c) => c.caName).length,
      kubeconfigs: instances.kubeconfigs.length,
      errors: 0,
      warnings: 0,
      notes: 0,
    });
    expect(report.catalog.missing).toEqual([]);
    expect(report.catalog.unknown).toEqual([]);
    expect(report.catalog.recognised.map((r) => r.name).sort()).toEqual([...instances.certs, ...instances.kubeconfigs].map((i) => i.name).sort());
    expect(report.catalog.recognised.every((r) => r.by === 'file')).toBe(true);
    for (const row of rows(report)) expect(row.status, `${row.file}: ${JSON.stringify(row.problems)}`).toBe('ok');

    const api = report.certificates.find((r) => r.catalog === 'kube-apiserver')!;
    const inst = certInstance(cluster, 'kube-apiserver');
    expect(api.file).toBe(inst.certPath);
    expect(api.keyFile).toBe(inst.keyPath);
    expect(api.ca).toBe(certInstance(cluster, 'ca').certPath);
    expect(api.sans).toEqual(inst.sans);
    expect(api.sanCheck).toEqual({ missing: [], unexpected: [] });
    expect(api.extendedKeyUsage).toEqual(inst.usages.extendedKeyUsage);
    expect(api.keyUsage).toEqual(inst.usages.keyUsage);
    expect(api.residualDays).toBe(inst.days - 1);
    expect(new Date(api.notAfter!).getTime()).toBeGreaterThan(Date.now() + (inst.days - 1) * 86400_000);
    expect(report.cas[0]!.keyUsage).toEqual(certInstance(cluster, 'ca').usages.keyUsage);
    const kc = report.kubeconfigs.find((r) => r.catalog === 'admin.kubeconfig')!;
    expect(kc.server).toBe(instancesFor(cluster).kubeconfigs.find((k) => k.name === 'admin.kubeconfig')!.server);
    expect(kc.server).toBe(kc.expectedServer);
    expect(kc.user).toBe(certInstance(cluster, 'admin').subject.cn);
  });

  it('prints kubeadm-like tables: certificates with EXPIRES, RESIDUAL TIME, CERTIFICATE AUTHORITY and STATUS, then the CAs', async () => {
    const r = await kubePki(['check', '--config', config, '--out', pki]);
    expect(r.exitCode, r.stderr).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines.find((l) => l.startsWith('CERTIFICATE ')) ?? '').toMatch(/^CERTIFICATE +EXPIRES +RESIDUAL TIME +CERTIFICATE AUTHORITY +STATUS$/);
    expect(lines.find((l) => l.startsWith('CERTIFICATE AUTHORITY ')) ?? '').toMatch(/^CERTIFICATE AUTHORITY +EXPIRES +RESIDUAL TIME +STATUS$/);
    const days = certInstance(cluster, 'admin').days;
    const residual = days - 1 < 365 ? `${days - 1}d` : `${Math.floor((days - 1) / 365)}y`;
    expect(r.stdout).toMatch(new RegExp(`^admin\\.crt +[A-Z][a-z]{2} \\d{2}, \\d{4} \\d{2}:\\d{2} UTC +${residual} +ca\\.crt +ok$`, 'm'));
    expect(r.stdout).toMatch(/^admin\.kubeconfig +.* ca\.crt +ok$/m);
    expect(r.stdout).toContain('All good: 1 CA, 10 certificates, 6 kubeconfigs.');
  });

  it('finds an apiserver certificate made with a cnf that lacks the load balancer IP', async () => {
    const pk = await fresh();
    const api = certInstance(cluster, 'kube-apiserver');
    const lb = cluster.apiServer.endpoint;
    expect(api.sans.ip).toContain(lb);
    await resign(pk, { ...api, sans: { ...api.sans, ip: api.sans.ip.filter((ip) => ip !== lb) } });
    const { exitCode, report } = await checkJson(config, pk);
    expect(exitCode).toBe(1);
    const row = onlyProblemRow(report);
    expect(row.file).toBe(api.certPath);
    expect(row.problems).toEqual([{ severity: 'error', code: 'san-missing', message: `SANs missing: ${lb}` }]);
    expect(report.certificates.find((r) => r.file === api.certPath)!.sanCheck).toEqual({ missing: [lb], unexpected: [] });
  });

  it('finds a leaf signed by another CA', async () => {
    const pk = await fresh();
    const cert = certInstance(cluster, 'apiserver-kubelet-client');
    await resign(pk, cert, { caCrt: other.crt, caKey: other.key });
    const { exitCode, report } = await checkJson(config, pk);
    expect(exitCode).toBe(1);
    const row = onlyProblemRow(report);
    expect(row.file).toBe(cert.certPath);
    expect(row.ca).toBeNull();
    expect(row.problems.map((p) => p.code)).toEqual(['chain']);
    expect(row.problems[0]!.message).toBe('not signed by its CA ca.crt (CN=KUBERNETES-CA): its issuer CN=OTHER-CA is not in this folder');
  });

  it('finds a key that belongs to another certificate', async () => {
    const pk = await fresh();
    const cert = certInstance(cluster, 'apiserver-kubelet-client');
    await copyFile(join(pk, certInstance(cluster, 'etcd-server').keyPath), join(pk, cert.keyPath));
    const { exitCode, report } = await checkJson(config, pk);
    expect(exitCode).toBe(1);
    const row = onlyProblemRow(report);
    expect(row.file).toBe(cert.certPath);
    expect(row.problems).toEqual([{ severity: 'error', code: 'key-mismatch', message: `${cert.keyPath} is not this certificate's key (its public key differs)` }]);
  });

  it('finds a client certificate where a server certificate is needed (wrong extendedKeyUsage)', async () => {
    const pk = await fresh();
    const api = certInstance(cluster, 'kube-apiserver');
    await resign(pk, { ...api, usages: { ...api.usages, extendedKeyUsage: ['clientAuth'] } });
    const { exitCode, report } = await checkJson(config, pk);
    expect(exitCode).toBe(1);
    const row = onlyProblemRow(report);
    expect(row.file).toBe(api.certPath);
    expect(row.problems).toEqual([
      { severity: 'error', code: 'eku-wrong', message: 'extendedKeyUsage is clientAuth, but a server certificate needs serverAuth (lacks serverAuth)' },
    ]);
  });

  it('finds a private key with mode 0644', async () => {
    const pk = await fresh();
    const cert = certInstance(cluster, 'etcd-server');
    await chmod(join(pk, cert.keyPath), 0o644);
    const { exitCode, report } = await checkJson(config, pk);
    expect(exitCode).toBe(1);
    const row = onlyProblemRow(report);
    expect(row.file).toBe(cert.certPath);
    expect(row.problems).toEqual([{ severity: 'error', code: 'key-mode', message: `${cert.keyPath} has mode 0644; a private key must be 0600` }]);
  });

  it('warns about a certificate that expires in 10 days (openssl -days 10), and --warn-days moves the threshold', async () => {
    const pk = await fresh();
    const cert = certInstance(cluster, 'etcd-server');
    await resign(pk, cert, { days: 10 });
    const { exitCode, report } = await checkJson(config, pk);
    expect(exitCode).toBe(1);
    expect(report.result).toBe('problems');
    const row = onlyProblemRow(report);
    expect(row.file).toBe(cert.certPath);
    expect(row.status).toBe('warning');
    expect(row.residualDays).toBe(9);
    expect(row.problems.map((p) => p.code)).toEqual(['expires-soon']);
    expect(row.problems[0]!.message).toMatch(/^expires in 9 days \(.+\), within --warn-days 30$/);

    const relaxed = await checkJson(config, pk, ['--warn-days', '5']);
    expect(relaxed.exitCode).toBe(0);
    expect(relaxed.report.certificates.find((r) => r.file === cert.certPath)!.status).toBe('ok');
    const text = await kubePki(['check', '--config', config, '--out', pk]);
    expect(text.stdout).toMatch(new RegExp(`^${cert.certPath.replace('.', '\\.')} +.* 9d +ca\\.crt +warning: expires in 9 days`, 'm'));
  });

  it('finds an expired certificate (openssl ca with dates in the past)', async () => {
    const pk = await fresh();
    const cert = certInstance(cluster, 'service-account');
    await resignExpired(pk, cert, join(dir, `ca-work-${n}`));
    const { exitCode, report } = await checkJson(config, pk);
    expect(exitCode).toBe(1);
    const row = onlyProblemRow(report);
    expect(row.file).toBe(cert.certPath);
    expect(row.notAfter).toBe('2020-03-01T00:00:00.000Z');
    expect(row.problems.map((p) => p.code)).toEqual(['expired']);
    expect(row.problems[0]!.message).toMatch(/^expired on 2020-03-01T00:00:00\.000Z \(\d+ years ago\)$/);
    const text = await kubePki(['check', '--config', config, '--out', pk]);
    expect(text.stdout).toMatch(/^service-account\.crt +Mar 01, 2020 00:00 UTC +expired +ca\.crt +expired on/m);
  });

  it('finds a kubeconfig whose embedded CA is not the CA', async () => {
    const pk = await fresh();
    const file = join(pk, 'admin.kubeconfig');
    const doc = parse(await readFile(file, 'utf8'));
    doc.clusters[0].cluster['certificate-authority-data'] = (await readFile(other.crt)).toString('base64');
    await writeFile(file, stringify(doc), { mode: 0o600 });
    const { exitCode, report } = await checkJson(config, pk);
    expect(exitCode).toBe(1);
    const row = onlyProblemRow(report);
    expect(row.file).toBe('admin.kubeconfig');
    expect(row.ca).toBeNull();
    expect(row.problems.map((p) => p.code)).toEqual(['kubeconfig-ca']);
    expect(row.problems[0]!.message).toMatch(/^embedded CA \(CN=OTHER-CA, SHA-256 [0-9A-F:]+…\) differs from ca\.crt \(CN=KUBERNETES-CA, SHA-256 [0-9A-F:]+…\)$/);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
  });

  it('finds a kubeconfig that still embeds an old certificate, and a wrong server URL', async () => {
    const pk = await fresh();
    const kc = instancesFor(cluster).kubeconfigs.find((k) => k.name === 'kube-proxy.kubeconfig')!;
    await resign(pk, certInstance(cluster, kc.certName));
    const file = join(pk, kc.path);
    const doc = parse(await readFile(file, 'utf8'));
    doc.clusters[0].cluster.server = 'https://10.0.0.1:6443';
    await writeFile(file, stringify(doc), { mode: 0o600 });
    const { exitCode, report } = await checkJson(config, pk);
    expect(exitCode).toBe(1);
    const row = onlyProblemRow(report);
    expect(row.file).toBe(kc.path);
    expect(row.problems.map((p) => p.code)).toEqual(['kubeconfig-server', 'kubeconfig-cert-stale']);
    expect(row.problems[0]!.message).toBe(`server is https://10.0.0.1:6443, expected ${kc.server}`);
    expect(row.problems[1]!.message).toContain(`kube-pki renew ${kc.certName}`);
  });

  it('exits 2 on bad input: a missing folder, a folder without certificates, a bad --warn-days', async () => {
    const missing = await kubePki(['check', '--config', config, '--out', join(dir, 'nope')]);
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toContain(`--out "${join(dir, 'nope')}": no such folder`);
    await mkdir(join(dir, 'empty'));
    const empty = await kubePki(['check', '--config', config, '--out', join(dir, 'empty')]);
    expect(empty.exitCode).toBe(2);
    expect(empty.stderr).toContain('no certificates (*.crt, *.pem) or kubeconfigs');
    const days = await kubePki(['check', '--config', config, '--out', pki, '--warn-days', 'soon']);
    expect(days.exitCode).toBe(2);
    expect(days.stderr).toContain('"soon" is not a whole number of days');
  });
});
