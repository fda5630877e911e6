import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubePki, tempDir } from './helpers/cli.js';

// kube-pki alerts: promtool (Debian's prometheus package) checks the rules file, and `promtool test rules`
// runs each alert over written series: it fires, and stays quiet, at the right times.

const DAY = 86400;
const A = { filepath: '/pki/a.crt', subject_CN: 'a' };

/** promtool compares annotations too: the timing tests use the rules with their texts removed. */
function withoutAnnotations(rules: string): string {
  const doc = parse(rules);
  for (const r of doc.groups[0].rules) delete r.annotations;
  return stringify(doc);
}

/** Series every 10 minutes from time 0 (promtool's clock), evaluated every 10 minutes. */
function unitTest(rulesFile: string, renewSeries: { labels: string; values: string }[], alerts: unknown[]): string {
  return stringify({
    rule_files: [rulesFile],
    evaluation_interval: '10m',
    tests: [
      {
        interval: '10m',
        input_series: [
          // Expires at 40 days.
          { series: `x509_cert_not_after{filepath="${A.filepath}",subject_CN="${A.subject_CN}"}`, values: `${40 * DAY}x6000` },
          { series: 'kube_pki_check_problems{out_dir="/pki",severity="error"}', values: '0x1000 2x1000' },
          { series: 'kube_pki_check_problems{out_dir="/pki",severity="warning"}', values: '0x2000' },
          { series: 'kube_pki_check_problems{out_dir="/pki",severity="note"}', values: '5x2000' },
          // check --remote: n1's files drift from step 1000; n2 is not reached from step 2000; n3 stays clean.
          { series: 'kube_pki_node_files_drift{out_dir="/pki",node="n1",kind="different"}', values: '0x1000 3x2000' },
          { series: 'kube_pki_node_files_drift{out_dir="/pki",node="n1",kind="missing"}', values: '0x3000' },
          { series: 'kube_pki_node_files_drift{out_dir="/pki",node="n3",kind="different"}', values: '0x3000' },
          ...['n1', 'n3'].map((node) => ({ series: `kube_pki_node_check_success{out_dir="/pki",node="${node}"}`, values: '1x3000' })),
          { series: 'kube_pki_node_check_success{out_dir="/pki",node="n2"}', values: '1x2000 0x1000' },
          ...renewSeries.map((s) => ({ series: `kube_pki_last_renewal_success_timestamp_seconds{${s.labels}}`, values: s.values })),
        ],
        alert_rule_test: alerts,
      },
    ],
  });
}

const at = (evalTime: string, alertname: string, labels: Record<string, string>[] = []) => ({ eval_time: evalTime, alertname, exp_alerts: labels.map((l) => ({ exp_labels: l })) });

const EXPIRY_AND_PROBLEMS = [
  at('5d', 'KubePkiCertificateExpiringSoon'),
  at('5d', 'KubePkiCertificateExpiryCritical'),
  // Under 30 days left from just after day 10: pending for 15 minutes (two evaluations) first.
  at('10d10m', 'KubePkiCertificateExpiringSoon'),
  at('10d20m', 'KubePkiCertificateExpiringSoon'),
  at('10d30m', 'KubePkiCertificateExpiringSoon', [{ ...A, severity: 'warning' }]),
  at('12d', 'KubePkiCertificateExpiringSoon', [{ ...A, severity: 'warning' }]),
  at('12d', 'KubePkiCertificateExpiryCritical'),
  // 5 days left: critical only.
  at('35d', 'KubePkiCertificateExpiringSoon'),
  at('35d', 'KubePkiCertificateExpiryCritical', [{ ...A, severity: 'critical' }]),
  // Expired a day ago: still critical.
  at('41d', 'KubePkiCertificateExpiryCritical', [{ ...A, severity: 'critical' }]),
  // No error until step 1000 (6.9 days); notes never alert.
  at('5d', 'KubePkiCheckProblems'),
  at('8d', 'KubePkiCheckProblems', [{ out_dir: '/pki', finding_severity: 'error', severity: 'warning' }]),
  // Drift: none until step 1000; then n1; from step 2000 also n2, not reached; n3 never.
  at('5d', 'KubePkiNodeDrift'),
  at('8d', 'KubePkiNodeDrift', [{ out_dir: '/pki', node: 'n1', severity: 'warning' }]),
  at('15d', 'KubePkiNodeDrift', [{ out_dir: '/pki', node: 'n1', severity: 'warning' }, { out_dir: '/pki', node: 'n2', severity: 'warning' }]),
];

describe('kube-pki alerts', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  const rules = async (args: string[] = []) => {
    const r = await kubePki(['alerts', ...args]);
    expect(r.exitCode, r.stderr).toBe(0);
    return `${r.stdout}\n`;
  };
  const promtoolTest = async (name: string, rulesText: string, renew: { labels: string; values: string }[], alerts: unknown[]) => {
    await writeFile(join(dir, `${name}.rules.yml`), withoutAnnotations(rulesText));
    await writeFile(join(dir, `${name}.test.yml`), unitTest(`${name}.rules.yml`, renew, alerts));
    return execa('promtool', ['test', 'rules', join(dir, `${name}.test.yml`)], { reject: false });
  };

  beforeAll(async () => ({ dir, cleanup } = await tempDir('kube-pki-alerts-')));
  afterAll(() => cleanup());

  it('promtool check rules accepts the file (expressions and annotation templates)', async () => {
    await writeFile(join(dir, 'kube-pki.rules.yml'), await rules());
    const r = await execa('promtool', ['check', 'rules', join(dir, 'kube-pki.rules.yml')], { reject: false });
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/SUCCESS: 5 rules found/);
    const names = parse(await readFile(join(dir, 'kube-pki.rules.yml'), 'utf8')).groups[0].rules.map((x: { alert: string }) => x.alert);
    expect(names).toEqual(['KubePkiCertificateExpiringSoon', 'KubePkiCertificateExpiryCritical', 'KubePkiCheckProblems', 'KubePkiRenewalStalled', 'KubePkiNodeDrift']);
  });

  it('expiry (30 and 7 days) and check problems fire and stay quiet at the right times', async () => {
    const r = await promtoolTest('expiry', await rules(), [], EXPIRY_AND_PROBLEMS);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    // The judge is real: a wrong expectation fails.
    const wrong = await promtoolTest('wrong', await rules(), [], [at('5d', 'KubePkiCertificateExpiringSoon', [{ ...A, severity: 'warning' }])]);
    expect(wrong.exitCode).not.toBe(0);
  });

  it('a renewal that has not succeeded for two periods: 14 days by default, 2 × --renew-period', async () => {
    // /stalled: last success at time 0; /fresh: again at day 10.
    const renew = [
      { labels: 'out_dir="/stalled"', values: '0x3000' },
      { labels: 'out_dir="/fresh"', values: `0x1440 ${10 * DAY}x1600` },
    ];
    const stalled = [{ out_dir: '/stalled', severity: 'warning' }];
    const weekly = await promtoolTest('weekly', await rules(), renew, [at('13d', 'KubePkiRenewalStalled'), at('14d10m', 'KubePkiRenewalStalled'), at('15d', 'KubePkiRenewalStalled', stalled), at('20d', 'KubePkiRenewalStalled', stalled)]);
    expect(weekly.exitCode, weekly.stdout + weekly.stderr).toBe(0);
    const daily = await promtoolTest('daily', await rules(['--renew-period', '1d']), renew, [at('1d', 'KubePkiRenewalStalled'), at('3d', 'KubePkiRenewalStalled', [...stalled, { out_dir: '/fresh', severity: 'warning' }]), at('11d', 'KubePkiRenewalStalled', stalled)]);
    expect(daily.exitCode, daily.stdout + daily.stderr).toBe(0);
  });

  it('a bad --renew-period: exit 2 naming it and its value', async () => {
    for (const value of ['0d', 'weekly', '7', '1.5d']) {
      const r = await kubePki(['alerts', '--renew-period', value]);
      expect(r.exitCode, value).toBe(2);
      expect(r.stderr).toContain(`--renew-period`);
      expect(r.stderr).toContain(JSON.stringify(value));
      expect(r.stdout).toBe('');
    }
  });
});
