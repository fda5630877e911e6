import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RotateReport } from '../src/rotate/rotate.js';
import { copyPki, genPki, labCluster } from './check-fixtures.js';
import { kubePki, tempDir } from './helpers/cli.js';
import { cert, issued, mismatchedPairs, pemCerts, KUBEADM_YAML } from './helpers/rotation.js';

// Each phase killed at several points (after the Nth file renamed into place or removed, so also
// between the renames of one pair), then run again: it completes, and no key ever sits beside a
// certificate it does not match. The hook is the executor's KUBE_PKI_TEST_STOP_AFTER_RENAME.

const LEAVES = ['admin', 'kube-controller-manager', 'kube-proxy', 'kube-scheduler', 'kube-apiserver', 'apiserver-kubelet-client', 'etcd-server', 'service-account', 'worker-1', 'worker-2'];
const KILL_POINTS = { start: [1, 2, 3, 5], reissue: [1, 2, 3, 4, 5, 6, 7, 9, 15], finish: [1, 2, 5, 8] } as const;

describe('rotate-ca killed at any moment completes when run again', () => {
  let dir: string;
  let config: string;
  const bases: Record<string, string> = {};
  let cleanup: () => Promise<void>;
  const rotate = (phase: string, pki: string, env: Record<string, string> = {}) => kubePki(['rotate-ca', phase, '--config', config, '--out', pki, '--json'], { env });

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    ({ config } = await labCluster(dir));
    // The folder as each phase finds it: fresh; started; re-issued.
    bases.start = await genPki(dir, config, 'base-start');
    bases.reissue = await copyPki(bases.start, join(dir, 'base-reissue'));
    expect((await rotate('start', bases.reissue)).exitCode).toBe(0);
    bases.finish = await copyPki(bases.reissue, join(dir, 'base-finish'));
    expect((await rotate('reissue', bases.finish)).exitCode).toBe(0);
  }, 120_000);
  afterAll(() => cleanup());

  const complete = {
    start: async (pki: string) => {
      const bundle = pemCerts(await readFile(join(pki, 'ca-bundle.crt')));
      expect(bundle.map((c) => c.fingerprint256)).toEqual([(await cert(join(pki, 'ca.crt'))).fingerprint256, (await cert(join(pki, 'ca-new.crt'))).fingerprint256]);
    },
    reissue: async (pki: string) => {
      const ca = await cert(join(pki, 'ca.crt'));
      for (const l of LEAVES) expect(issued(await cert(join(pki, `${l}.crt`)), ca), l).toBe(true);
      expect((await cert(join(pki, 'ca-old.crt'))).fingerprint256).not.toBe(ca.fingerprint256);
    },
    finish: async (pki: string) => {
      const ca = await cert(join(pki, 'ca.crt'));
      for (const l of LEAVES) expect(issued(await cert(join(pki, `${l}.crt`)), ca), l).toBe(true);
    },
  };

  for (const phase of ['start', 'reissue', 'finish'] as const) {
    it(`${phase}: killed after rename ${KILL_POINTS[phase].join(', ')}`, async () => {
      for (const n of KILL_POINTS[phase]) {
        const pki = await copyPki(bases[phase]!, join(dir, `${phase}-${n}`));
        const killed = await rotate(phase, pki, { KUBE_PKI_TEST_STOP_AFTER_RENAME: String(n) });
        expect(killed.signal, `${phase} kill point ${n}`).toBe('SIGKILL');
        expect(await mismatchedPairs(pki), `${phase} killed after ${n}`).toEqual([]);
        const again = await rotate(phase, pki);
        expect(again.exitCode, `${again.stdout}\n${again.stderr}`).toBe(0);
        const report = JSON.parse(again.stdout) as RotateReport;
        expect(report.cas[0]!.state).toBe(phase === 'finish' ? 'none' : phase);
        expect(report.cas[0]!.complete).toBe(true);
        expect(await mismatchedPairs(pki)).toEqual([]);
        await complete[phase](pki);
        const check = await kubePki(['check', '--config', config, '--out', pki]);
        expect(check.exitCode, `${phase} ${n}: ${check.stdout}`).toBe(0);
      }
    }, 240_000);
  }
});


describe('rotate-ca on node trees killed at any moment (the CA pair copied into each tree)', () => {
  let dir: string;
  let config: string;
  let base: string;
  let cleanup: () => Promise<void>;
  const rotate = (phase: string, pki: string, env: Record<string, string> = {}) => kubePki(['rotate-ca', phase, '--config', config, '--out', pki, '--json'], { env });

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    ({ config } = await labCluster(dir, KUBEADM_YAML));
    base = await genPki(dir, config);
    expect((await rotate('start', base)).exitCode).toBe(0);
  }, 120_000);
  afterAll(() => cleanup());

  it('reissue killed after rename 8, 10, 12, 16, 20, 30 completes; every tree holds the new pair', async () => {
    for (const n of [8, 10, 12, 16, 20, 30]) {
      const pki = await copyPki(base, join(dir, `reissue-${n}`));
      const killed = await rotate('reissue', pki, { KUBE_PKI_TEST_STOP_AFTER_RENAME: String(n) });
      expect(killed.signal, `kill point ${n}`).toBe('SIGKILL');
      expect(await mismatchedPairs(pki), `killed after ${n}`).toEqual([]);
      const again = await rotate('reissue', pki);
      expect(again.exitCode, `${again.stdout}\n${again.stderr}`).toBe(0);
      expect((JSON.parse(again.stdout) as RotateReport).cas.every((c) => c.state === 'reissue' && c.complete)).toBe(true);
      expect(await mismatchedPairs(pki)).toEqual([]);
      const ca = await cert(join(pki, '_cluster/pki/ca.crt'));
      for (const node of ['cp-1', 'cp-2']) {
        expect((await cert(join(pki, node, 'pki/ca.crt'))).fingerprint256).toBe(ca.fingerprint256);
        expect(issued(await cert(join(pki, node, 'pki/apiserver.crt')), ca)).toBe(true);
      }
      const check = await kubePki(['check', '--config', config, '--out', pki]);
      expect(check.exitCode, `${n}: ${check.stdout}`).toBe(0);
    }
  }, 300_000);
});
