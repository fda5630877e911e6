import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RotateReport } from '../src/rotate/rotate.js';
import { copyPki, genPki, labCluster, openssl } from './check-fixtures.js';
import { kubePki, tempDir } from './helpers/cli.js';
import { cert, issued, mismatchedPairs, KUBEADM_YAML } from './helpers/rotation.js';

// rotate-ca reissue (issue 22): --new-keys never replaces the service-account key (a CA rotation must
// not invalidate every token), and a leaf re-issued long after start never outlives the new CA.

const DAY = 24 * 60 * 60 * 1000;

describe('rotate-ca reissue on the hard way', () => {
  let dir: string;
  let config: string;
  let base: string;
  let cleanup: () => Promise<void>;
  const rotate = (args: string[], pki: string) => kubePki(['rotate-ca', ...args, '--config', config, '--out', pki, '--json']);
  const ok = async (args: string[], pki: string) => {
    const r = await rotate(args, pki);
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
    return { report: JSON.parse(r.stdout) as RotateReport, stderr: String(r.stderr) };
  };

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    ({ config } = await labCluster(dir));
    base = await genPki(dir, config);
  }, 60_000);
  afterAll(() => cleanup());

  it('--new-keys gives every leaf a new key but service-account.key, which only gets a new certificate', async () => {
    const pki = await copyPki(base, join(dir, 'new-keys'));
    const [saKey, adminKey] = await Promise.all(['service-account.key', 'admin.key'].map((f) => readFile(join(pki, f))));
    await ok(['start'], pki);
    const { report } = await ok(['reissue', '--new-keys'], pki);
    expect((await readFile(join(pki, 'service-account.key'))).equals(saKey!)).toBe(true);
    expect((await readFile(join(pki, 'admin.key'))).equals(adminKey!)).toBe(false);
    const ca = await cert(join(pki, 'ca.crt'));
    expect(issued(await cert(join(pki, 'service-account.crt')), ca)).toBe(true);
    expect(report.changed).not.toContain('service-account.key');
    expect(await mismatchedPairs(pki)).toEqual([]);
  });

  it('a leaf re-issued when the new CA has less life left than validityDays.leaf is capped to the CA, with a warning', async () => {
    const pki = await copyPki(base, join(dir, 'capped'));
    await ok(['start'], pki);
    // The new CA as if made long ago: same key, 500 of its 1000 days left (the leaves ask for 1000).
    await openssl(['x509', '-in', 'ca-new.crt', '-signkey', 'ca-new.key', '-days', '500', '-out', 'ca-new.crt'], pki);
    await ok(['start'], pki); // the bundle and kubeconfigs follow the new CA certificate
    const { report, stderr } = await ok(['reissue'], pki);
    const ca = await cert(join(pki, 'ca.crt'));
    const caEnd = new Date(ca.validTo).getTime();
    expect(caEnd).toBeLessThan(Date.now() + 501 * DAY);
    for (const leaf of ['admin', 'kube-apiserver', 'worker-1']) {
      const c = await cert(join(pki, `${leaf}.crt`));
      expect(issued(c, ca), leaf).toBe(true);
      expect(new Date(c.validTo).getTime(), leaf).toBeLessThanOrEqual(caEnd);
    }
    expect(report.warnings.some((w) => w.startsWith('admin: valid for 499 days instead of validityDays.leaf (1000): capped to the remaining life of its CA ca.crt'))).toBe(true);
    expect(stderr).toContain('warning: admin: valid for 499 days');
  });
});

describe('rotate-ca reissue on the kubeadm layout', () => {
  let dir: string;
  let config: string;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    ({ config } = await labCluster(dir, KUBEADM_YAML));
  });
  afterAll(() => cleanup());

  it('every phase, --new-keys included, leaves sa.key and sa.pub alone in _cluster and every tree', async () => {
    const pki = await genPki(dir, config);
    const files = ['_cluster/pki/sa.key', '_cluster/pki/sa.pub', 'cp-1/pki/sa.key', 'cp-1/pki/sa.pub', 'cp-2/pki/sa.key'];
    const before = await Promise.all(files.map((f) => readFile(join(pki, f))));
    const apiserverKey = await readFile(join(pki, 'cp-1/pki/apiserver.key'));
    for (const args of [['start'], ['reissue', '--new-keys'], ['finish']]) {
      const r = await kubePki(['rotate-ca', ...args, '--config', config, '--out', pki, '--json']);
      expect(r.exitCode, `${args.join(' ')}: ${r.stdout}\n${r.stderr}`).toBe(0);
      const after = await Promise.all(files.map((f) => readFile(join(pki, f))));
      after.forEach((b, i) => expect(b.equals(before[i]!), `${args[0]}: ${files[i]}`).toBe(true));
    }
    expect((await readFile(join(pki, 'cp-1/pki/apiserver.key'))).equals(apiserverKey)).toBe(false); // --new-keys did its work
  });
});
