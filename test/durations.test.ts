import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Cluster } from '../src/model/cluster.js';
import { durationWords, shortDuration } from '../src/util/time.js';
import { kubePki, tempDir } from './helpers/cli.js';
import { DEFAULT_CLUSTER_YAML } from '../src/cluster/default.js';
import { certInstance, checkJson, copyPki, genPki, labCluster, resign } from './check-fixtures.js';

// One wording for lengths of time: the message says what the RESIDUAL TIME column says ("23h" and
// "expires in 23 hours", never "0 days"), singular when it is one ("1 day", never "1 days").

describe('durations in words', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let config: string;
  let cluster: Cluster;
  let pki: string;

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('kube-pki-durations-'));
    ({ config, cluster } = await labCluster(dir));
    pki = await genPki(dir, config);
  });
  afterAll(() => cleanup());

  it('check: a certificate of one day left says "expires in 23 hours" beside 23h, one of two days "expires in 1 day" beside 1d', async () => {
    const cert = certInstance(cluster, 'etcd-server');
    for (const [days, column, words] of [[1, '23h', '23 hours'], [2, '1d', '1 day']] as const) {
      const pk = await copyPki(pki, join(dir, `case-${days}`));
      await resign(pk, cert, { days });
      const { report } = await checkJson(config, pk);
      const row = report.certificates.find((r) => r.file === cert.certPath)!;
      expect(row.problems.map((p) => p.message)).toEqual([expect.stringMatching(new RegExp(`^expires in ${words} \\(.+\\), within --warn-days 30$`))]);
      const text = await kubePki(['check', '--config', config, '--out', pk]);
      expect(text.stdout).toMatch(new RegExp(`^etcd-server\\.crt +.* ${column} +ca\\.crt +warning: expires in ${words} \\(`, 'm'));
    }
  });

  it('a validity of one day reads "1 day" in explain, graph, report and check (never "1 days")', async () => {
    const short = join(dir, 'short.yaml');
    await writeFile(short, DEFAULT_CLUSTER_YAML.replace(/^# validityDays: .*$/m, 'validityDays: { ca: 2, leaf: 1 }'));
    const none = join(dir, 'not-made');
    const explain = await kubePki(['explain', 'admin', '--config', short, '--out', none]);
    expect(explain.stdout.split('\n')[0]).toMatch(/, valid 1 day \(/);
    const graph = await kubePki(['graph', '--config', short, '--out', none]);
    expect(graph.stdout).toMatch(/^ca\.crt .* valid 2 days /m);
    expect(graph.stdout).toMatch(/^├── admin\.crt .* valid 1 day /m);
    const html = join(dir, 'short.html');
    expect((await kubePki(['report', '--html', html, '--config', short, '--out', none])).exitCode).toBe(0);
    const page = await readFile(html, 'utf8');
    expect(page).toContain('>1 day from gen<');
    expect(page).toContain('1 day from when gen makes it');
    const check = await kubePki(['check', '--config', config, '--out', pki, '--warn-days', '1']);
    expect(check.stdout).toContain(', warn within 1 day)');
    for (const text of [explain.stdout, graph.stdout, page, check.stdout]) expect(text).not.toMatch(/\b1 days\b/);
  });

  it('the words and the short form count the same unit, singular for one', () => {
    const now = new Date('2026-01-01T00:00:00Z');
    const later = (ms: number) => new Date(now.getTime() + ms);
    const cases: [number, string, string][] = [
      [1_000, '1s', '1 second'],
      [59_000, '59s', '59 seconds'],
      [60_000, '1m', '1 minute'],
      [3_600_000, '1h', '1 hour'],
      [86_399_000, '23h', '23 hours'],
      [86_400_000, '1d', '1 day'],
      [2 * 86_400_000, '2d', '2 days'],
      [365 * 86_400_000, '1y', '1 year'],
      [3650 * 86_400_000, '10y', '10 years'],
    ];
    for (const [ms, short, words] of cases) {
      expect(shortDuration(later(ms), now), words).toBe(short);
      expect(durationWords(now, later(ms))).toBe(words);
      expect(durationWords(later(ms), now), 'either order').toBe(words);
    }
  });
});
