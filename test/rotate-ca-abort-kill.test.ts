import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RotateReport } from '../src/rotate/rotate.js';
import { copyPki, genPki, labCluster } from './check-fixtures.js';
import { kubePki, tempDir } from './helpers/cli.js';
import { cert, issued, mismatchedPairs, pemCerts, KUBEADM_YAML, ROOT_HARDWAY_YAML } from './helpers/rotation.js';

// The new install paths of issue 22 killed at a step boundary (the executor's test hook
// KUBE_PKI_TEST_STOP_AFTER_RENAME: after the Nth rename, removal or written promise), then run
// again: abort from start, abort from reissue, and start adopting a root. Each completes, and no key
// ever sits beside a certificate it does not match. The last boundary of each run is left out: the
// run is complete there, and running abort again is a second abort, not a resumed one.

const LEAVES = ['admin', 'kube-controller-manager', 'kube-proxy', 'kube-scheduler', 'kube-apiserver', 'apiserver-kubelet-client', 'etcd-server', 'service-account', 'worker-1', 'worker-2'];
const PASSPHRASE = 'kill the adoption 22';
const KILL_POINTS = { abortStart: [1, 2, 5, 7, 8], abortReissue: [1, 2, 3, 4, 5, 6, 8, 12, 20, 24], abortTrees: [3, 10, 20, 35, 50, 60], adoptRoot: [1, 2, 3, 4, 5, 6, 7, 10] } as const;

/** Runs `args` killed after each point, then again, and checks the result with `complete`. */
async function killEach(
  points: readonly number[],
  copy: (n: number) => Promise<string>,
  run: (pki: string, env?: Record<string, string>) => ReturnType<typeof kubePki>,
  complete: (pki: string, report: RotateReport) => Promise<void>,
  passphrase?: string,
) {
  for (const n of points) {
    const pki = await copy(n);
    const killed = await run(pki, { KUBE_PKI_TEST_STOP_AFTER_RENAME: String(n) });
    expect(killed.signal, `kill point ${n}: ${killed.stdout}\n${killed.stderr}`).toBe('SIGKILL');
    expect(await mismatchedPairs(pki, passphrase), `killed after ${n}`).toEqual([]);
    const again = await run(pki);
    expect(again.exitCode, `after ${n}: ${again.stdout}\n${again.stderr}`).toBe(0);
    expect(await mismatchedPairs(pki, passphrase)).toEqual([]);
    await complete(pki, JSON.parse(again.stdout) as RotateReport);
  }
}

describe('rotate-ca abort killed at any boundary completes when run again', () => {
  let dir: string;
  let config: string;
  let started: string;
  let reissued: string;
  let cleanup: () => Promise<void>;
  const abort = (pki: string, env: Record<string, string> = {}) => kubePki(['rotate-ca', 'abort', '--config', config, '--out', pki, '--json'], { env });
  const check = async (pki: string) => {
    const r = await kubePki(['check', '--config', config, '--out', pki]);
    expect(r.exitCode, `${pki}: ${r.stdout}`).toBe(0);
  };

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    ({ config } = await labCluster(dir));
    started = await genPki(dir, config, 'started');
    expect((await kubePki(['rotate-ca', 'start', '--config', config, '--out', started])).exitCode).toBe(0);
    reissued = await copyPki(started, join(dir, 'reissued'));
    expect((await kubePki(['rotate-ca', 'reissue', '--config', config, '--out', reissued])).exitCode).toBe(0);
  }, 120_000);
  afterAll(() => cleanup());

  it(`from start: killed after ${KILL_POINTS.abortStart.join(', ')}`, async () => {
    const oldCa = await cert(join(started, 'ca.crt'));
    await killEach(KILL_POINTS.abortStart, (n) => copyPki(started, join(dir, `abort-start-${n}`)), abort, async (pki, report) => {
      expect(report.cas[0]).toEqual(expect.objectContaining({ state: 'none' }));
      expect(pemCerts(await readFile(join(pki, 'ca-bundle.crt'))).map((c) => c.fingerprint256)).toEqual([oldCa.fingerprint256]);
      expect((await readdir(pki)).filter((f) => /^ca-(new|old)/.test(f))).toEqual([]);
      await check(pki);
    });
  }, 240_000);

  it(`from reissue: killed after ${KILL_POINTS.abortReissue.join(', ')}`, async () => {
    const oldCa = await cert(join(started, 'ca.crt'));
    const newCa = await cert(join(started, 'ca-new.crt'));
    await killEach(KILL_POINTS.abortReissue, (n) => copyPki(reissued, join(dir, `abort-reissue-${n}`)), abort, async (pki, report) => {
      expect(report.cas[0]).toEqual(expect.objectContaining({ state: 'start', complete: true }));
      expect((await cert(join(pki, 'ca.crt'))).fingerprint256).toBe(oldCa.fingerprint256);
      expect((await cert(join(pki, 'ca-new.crt'))).fingerprint256).toBe(newCa.fingerprint256);
      for (const l of LEAVES) expect(issued(await cert(join(pki, `${l}.crt`)), oldCa), l).toBe(true);
      await check(pki);
    });
  }, 300_000);
});

describe('rotate-ca abort on node trees (three CAs) killed at any boundary completes when run again', () => {
  let dir: string;
  let config: string;
  let base: string;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    ({ config } = await labCluster(dir, KUBEADM_YAML));
    base = await genPki(dir, config);
    for (const phase of ['start', 'reissue']) expect((await kubePki(['rotate-ca', phase, '--config', config, '--out', base])).exitCode).toBe(0);
  }, 120_000);
  afterAll(() => cleanup());

  // Some CAs may be back in start when the kill comes: the run again finishes the others and leaves those.
  it(`from reissue: killed after ${KILL_POINTS.abortTrees.join(', ')}; every CA back in start, the trees hold the old pairs`, async () => {
    const abort = (pki: string, env: Record<string, string> = {}) => kubePki(['rotate-ca', 'abort', '--config', config, '--out', pki, '--json'], { env });
    const olds = await Promise.all(['ca', 'etcd/ca', 'front-proxy-ca'].map((c) => readFile(join(base, `_cluster/pki/${c}-old.crt`))));
    await killEach(KILL_POINTS.abortTrees, (n) => copyPki(base, join(dir, `abort-trees-${n}`)), abort, async (pki, report) => {
      expect(report.cas.map((c) => [c.name, c.state, c.complete])).toEqual([['ca', 'start', true], ['etcd-ca', 'start', true], ['front-proxy-ca', 'start', true]]);
      for (const node of ['cp-1', 'cp-2']) {
        const trees = await Promise.all(['ca', 'etcd/ca', 'front-proxy-ca'].map((c) => readFile(join(pki, node, `pki/${c}.crt`))));
        trees.forEach((t, i) => expect(t.equals(olds[i]!), `${node} ${i}`).toBe(true));
        expect(issued(await cert(join(pki, node, 'pki/etcd/peer.crt')), await cert(join(pki, '_cluster/pki/etcd/ca.crt')))).toBe(true);
      }
      const check = await kubePki(['check', '--config', config, '--out', pki]);
      expect(check.exitCode, check.stdout).toBe(0);
    });
  }, 300_000);
});

describe('rotate-ca start adopting a root CA killed at any boundary completes when run again', () => {
  let dir: string;
  let config: string;
  let base: string;
  let passFile: string;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    ({ config } = await labCluster(dir, ROOT_HARDWAY_YAML.split('\n').filter((l) => !l.startsWith('rootCA:')).join('\n')));
    base = await genPki(dir, config);
    await writeFile(config, ROOT_HARDWAY_YAML);
    passFile = join(dir, 'root.pass');
    await writeFile(passFile, `${PASSPHRASE}\n`, { mode: 0o600 });
  }, 60_000);
  afterAll(() => cleanup());

  it(`killed after ${KILL_POINTS.adoptRoot.join(', ')}: one root, the new CA its intermediate, the bundle old + new`, async () => {
    const oldCa = await cert(join(base, 'ca.crt'));
    const start = (pki: string, env: Record<string, string> = {}) =>
      kubePki(['rotate-ca', 'start', '--config', config, '--out', pki, '--json', '--ca-passphrase-file', passFile], { env });
    await killEach(KILL_POINTS.adoptRoot, (n) => copyPki(base, join(dir, `adopt-${n}`)), start, async (pki, report) => {
      expect(report.cas[0]).toEqual(expect.objectContaining({ state: 'start', complete: true }));
      const root = await cert(join(pki, 'root-ca.crt'));
      const newCa = await cert(join(pki, 'ca-new.crt'));
      expect(issued(newCa, root)).toBe(true);
      expect(pemCerts(await readFile(join(pki, 'ca-bundle.crt'))).map((c) => c.fingerprint256)).toEqual([oldCa.fingerprint256, newCa.fingerprint256]);
      expect((await readFile(join(pki, 'root-ca.key'), 'utf8')).startsWith('-----BEGIN ENCRYPTED PRIVATE KEY-----')).toBe(true);
    }, PASSPHRASE);
  }, 300_000);
});
