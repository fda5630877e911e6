import { X509Certificate } from 'node:crypto';
import { chmod, mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exposition } from '../src/metrics/exposition.js';
import { RENEWAL_RECORD } from '../src/model/files.js';
import type { CheckReport } from '../src/check/report.js';
import { checkJson, copyPki, genPki, labCluster } from './check-fixtures.js';
import { kubePki, tempDir } from './helpers/cli.js';

// check --format prometheus: promtool (Debian's prometheus package) accepts what it writes, and each
// x509_cert_* value is the date of the certificate it names, read back with node:crypto.

const KUBEADM = `profile: kubeadm
key: { algorithm: ecdsa, curve: P-256 }
apiServer: { endpoint: 192.168.5.30, port: 6443 }
nodes:
  - { name: master-1, address: 192.168.5.11, role: controlplane }
  - { name: master-2, address: 192.168.5.12, role: controlplane }
  - { name: worker-1, address: 192.168.5.21, role: worker }
  - { name: loadbalancer, address: 192.168.5.30, role: loadbalancer }
`;

interface Series {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of an exposition text (our own output: one label set per line, values plain numbers). */
function samples(text: string): Series[] {
  return text
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((line) => {
      const m = /^([a-z_0-9]+)(?:\{(.*)\})? (\S+)$/.exec(line);
      if (!m) throw new Error(`not a sample line: ${line}`);
      const labels: Record<string, string> = {};
      for (const l of (m[2] ?? '').matchAll(/([A-Za-z_]+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = JSON.parse(`"${l[2]}"`);
      return { name: m[1]!, labels, value: Number(m[3]) };
    });
}

const promtoolMetrics = (text: string) => execa('promtool', ['check', 'metrics'], { input: text, reject: false });
const seconds = (date: string) => Math.floor(new Date(date).getTime() / 1000);

/** The certificate a series names: a PEM file's (by serial, a chain file holds several) or a kubeconfig's embedded one. */
async function certOf(s: Series): Promise<X509Certificate> {
  const text = await readFile(s.labels.filepath!, 'utf8');
  if (!s.labels.embedded_kind) {
    const all = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)!.map((b) => new X509Certificate(b));
    return all.find((c) => BigInt(`0x${c.serialNumber}`).toString() === s.labels.serial_number)!;
  }
  const doc = parse(text);
  const entry = s.labels.embedded_kind === 'cluster' ? doc.clusters.find((c: { name: string }) => c.name === s.labels.embedded_key).cluster['certificate-authority-data'] : doc.users.find((u: { name: string }) => u.name === s.labels.embedded_key).user['client-certificate-data'];
  return new X509Certificate(Buffer.from(entry, 'base64'));
}

describe('check --format prometheus', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  const pkis: Record<string, { config: string; pki: string }> = {};

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('kube-pki-metrics-'));
    for (const [profile, yaml] of [['hardway', undefined], ['kubeadm', KUBEADM]] as const) {
      await mkdir(join(dir, profile));
      const { config } = await labCluster(join(dir, profile), yaml);
      pkis[profile] = { config, pki: await genPki(join(dir, profile), config) };
    }
  });
  afterAll(() => cleanup());

  for (const profile of ['hardway', 'kubeadm']) {
    it(`${profile}: promtool accepts the metrics file; every certificate and kubeconfig is there with its own dates`, async () => {
      const { config, pki } = pkis[profile]!;
      const prom = join(dir, `${profile}.prom`);
      const r = await kubePki(['check', '--config', config, '--out', pki, '--format', 'prometheus', '--metrics-file', prom]);
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.stdout).toBe('');
      const text = await readFile(prom, 'utf8');
      const lint = await promtoolMetrics(text);
      expect(lint.exitCode, lint.stdout + lint.stderr).toBe(0);
      expect((await stat(prom)).mode & 0o777).toBe(0o644);
      // Nothing left behind in the folder: the temporary file was renamed into place.
      expect((await readdir(dir)).filter((f) => f.includes('.prom.tmp'))).toEqual([]);

      const all = samples(text);
      const notAfter = all.filter((s) => s.name === 'x509_cert_not_after');
      const { report } = await checkJson(config, pki);
      const files = [...report.cas, ...report.certificates].map((c) => join(pki, c.file));
      // Every certificate file, and each kubeconfig twice (its cluster's CA and its user's certificate).
      expect(new Set(notAfter.filter((s) => !s.labels.embedded_kind).map((s) => s.labels.filepath))).toEqual(new Set(files));
      for (const k of report.kubeconfigs) {
        const kinds = notAfter.filter((s) => s.labels.filepath === join(pki, k.file)).map((s) => s.labels.embedded_kind).sort();
        expect(kinds, k.file).toEqual(['cluster', 'user']);
      }
      for (const s of notAfter) {
        const cert = await certOf(s);
        expect(s.value, s.labels.filepath).toBe(seconds(cert.validTo));
        expect(s.labels.subject_CN).toBe(/^CN=(.*)$/m.exec(cert.subject)![1]);
        expect(s.labels.issuer_CN).toBe(/^CN=(.*)$/m.exec(cert.issuer)![1]);
        const before = all.find((b) => b.name === 'x509_cert_not_before' && JSON.stringify(b.labels) === JSON.stringify(s.labels))!;
        expect(before.value).toBe(seconds(cert.validFrom));
        expect(all.find((b) => b.name === 'x509_cert_expired' && JSON.stringify(b.labels) === JSON.stringify(s.labels))!.value).toBe(0);
      }
      const problems = Object.fromEntries(all.filter((s) => s.name === 'kube_pki_check_problems').map((s) => [s.labels.severity, s.value]));
      expect(problems).toEqual({ error: report.summary.errors, warning: report.summary.warnings, note: report.summary.notes });
      expect(all.find((s) => s.name === 'x509_read_errors')!.value).toBe(0);
    });
  }

  it("problems: counted by severity, check's exit code unchanged, stdout without --metrics-file", async () => {
    const { config, pki: source } = pkis.hardway!;
    const pki = await copyPki(source, join(dir, 'problems'));
    await chmod(join(pki, 'admin.key'), 0o644);
    // A file named as a certificate that holds none: check's error, the exporter's read error.
    await writeFile(join(pki, 'junk.crt'), 'not a certificate\n');
    const { exitCode, report } = await checkJson(config, pki);
    expect(exitCode).toBe(1);
    const r = await kubePki(['check', '--config', config, '--out', pki, '--format', 'prometheus']);
    expect(r.exitCode).toBe(1);
    const problems = Object.fromEntries(samples(r.stdout).filter((s) => s.name === 'kube_pki_check_problems').map((s) => [s.labels.severity, s.value]));
    expect(problems.error! + problems.warning!).toBeGreaterThan(0);
    expect(problems).toEqual({ error: report.summary.errors, warning: report.summary.warnings, note: report.summary.notes });
    expect(samples(r.stdout).find((s) => s.name === 'x509_read_errors')!.value).toBe(1);
    // execa strips the last line feed of what it captured; the format needs it back.
    const lint = await promtoolMetrics(`${r.stdout}\n`);
    expect(lint.exitCode, lint.stdout + lint.stderr + r.stdout).toBe(0);
  });

  it("renew records its success (not on a dry run); the metric is that record's time", async () => {
    const { config, pki: source } = pkis.hardway!;
    const pki = await copyPki(source, join(dir, 'renewed'));
    const metrics = async () => samples((await kubePki(['check', '--config', config, '--out', pki, '--format', 'prometheus'])).stdout);
    expect((await metrics()).some((s) => s.name === 'kube_pki_last_renewal_success_timestamp_seconds')).toBe(false);
    expect((await kubePki(['renew', '--config', config, '--out', pki, '--all', '--dry-run'])).exitCode).toBe(0);
    await expect(stat(join(pki, RENEWAL_RECORD))).rejects.toThrow();
    // Nothing expires within a day: a run with nothing to do is a success too.
    const r = await kubePki(['renew', '--config', config, '--out', pki, '--expiring-within', '1', '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).result).toBe('nothing');
    const record = JSON.parse(await readFile(join(pki, RENEWAL_RECORD), 'utf8'));
    expect(record).toEqual({ succeededAt: expect.any(String), expiringWithin: 1, renewed: [] });
    expect((await stat(join(pki, RENEWAL_RECORD))).mode & 0o777).toBe(0o644);
    const renewed = await kubePki(['renew', '--config', config, '--out', pki, 'admin']);
    expect(renewed.exitCode, renewed.stderr).toBe(0);
    const after = JSON.parse(await readFile(join(pki, RENEWAL_RECORD), 'utf8'));
    expect(after.renewed).toEqual(['admin']);
    const series = (await metrics()).filter((s) => s.name === 'kube_pki_last_renewal_success_timestamp_seconds');
    expect(series).toEqual([{ name: 'kube_pki_last_renewal_success_timestamp_seconds', labels: { out_dir: pki }, value: seconds(after.succeededAt) }]);
    // check still sees the folder as gen made it: the record is no finding.
    expect((await checkJson(config, pki)).exitCode).toBe(0);
  });

  it('bad input: exit 2 naming the option and value, nothing written', async () => {
    const { config, pki } = pkis.hardway!;
    const cases: [string[], RegExp][] = [
      [['--metrics-file', join(dir, 'x.prom')], /--metrics-file .*needs --format prometheus/],
      [['--format', 'prometheus', '--metrics-file', join(dir, 'x.txt')], /--metrics-file ".*x\.txt": .*\*\.prom/],
      [['--format', 'prometheus', '--metrics-file', join(dir, 'no-such', 'x.prom')], /--metrics-file ".*": the folder .*no-such does not exist/],
      [['--format', 'prometheus', '--json'], /--json and --format prometheus/],
      [['--format', 'yaml'], /--format.*yaml/],
    ];
    for (const [args, message] of cases) {
      const r = await kubePki(['check', '--config', config, '--out', pki, ...args]);
      expect(r.exitCode, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
      // --json asks for JSON even when kube-pki refuses (src/cli.ts); else nothing on stdout.
      if (args.includes('--json')) expect(JSON.parse(r.stdout)).toMatchObject({ result: 'error', exitCode: 2 });
      else expect(r.stdout).toBe('');
    }
    await expect(stat(join(dir, 'x.prom'))).rejects.toThrow();
    await expect(stat(join(dir, 'x.txt'))).rejects.toThrow();
  });
});

describe('the exposition format', () => {
  it('escapes label values and help text; promtool parses them back', async () => {
    const text = exposition([{ name: 'x509_cert_not_after', type: 'gauge', help: 'a \\ help\nline', samples: [{ labels: { filepath: '/p/a "b"\\c\nd', subject_CN: '', issuer_CN: 'ca' }, value: 1700000000 }] }]);
    expect(text).toBe(
      '# HELP x509_cert_not_after a \\\\ help\\nline\n# TYPE x509_cert_not_after gauge\nx509_cert_not_after{filepath="/p/a \\"b\\"\\\\c\\nd",issuer_CN="ca"} 1700000000\n',
    );
    expect(samples(text)[0]!.labels.filepath).toBe('/p/a "b"\\c\nd');
    const r = await promtoolMetrics(text);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    // A broken line is refused: promtool is a real judge here.
    expect((await promtoolMetrics(text.replace('\\"b\\"', '"b"'))).exitCode).not.toBe(0);
  });
});

// The type check keeps the metrics' input (metrics/metrics.ts CheckedFolder) in step with check's report.
const _fits: import('../src/metrics/metrics.js').CheckedFolder = {} as CheckReport;
void _fits;
