import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RotateReport } from '../src/rotate/rotate.js';
import { copyPki, genPki, labCluster } from './check-fixtures.js';
import { kubePki, tempDir } from './helpers/cli.js';
import { cert, changedFiles, hashes, issued, kubeconfigParts, mismatchedPairs, pemCerts, KUBEADM_YAML } from './helpers/rotation.js';

// rotate-ca abort (issue 22): back to the old CA, one overlap at a time, keys kept. From start it
// ends trust in the new CA (the bundle keeps its name with the old CA alone); from reissue it goes
// back to phase start (the old CA signs again and re-signs every leaf, both CAs still trusted).

const LEAVES = ['admin', 'kube-controller-manager', 'kube-proxy', 'kube-scheduler', 'kube-apiserver', 'apiserver-kubelet-client', 'etcd-server', 'service-account', 'worker-1', 'worker-2'];
const KUBECONFIGS = ['admin', 'kube-controller-manager', 'kube-scheduler', 'kube-proxy', 'worker-1', 'worker-2'].map((k) => `${k}.kubeconfig`);
const fingerprints = async (file: string) => pemCerts(await readFile(file)).map((c) => c.fingerprint256);

describe('rotate-ca abort on the hard way', () => {
  let dir: string;
  let config: string;
  let base: string;
  let cleanup: () => Promise<void>;
  const rotate = (args: string[], pki: string) => kubePki(['rotate-ca', ...args, '--config', config, '--out', pki]);
  const json = async (args: string[], pki: string) => {
    const r = await rotate([...args, '--json'], pki);
    expect(r.exitCode, `${args.join(' ')}: ${r.stdout}\n${r.stderr}`).toBe(0);
    return JSON.parse(r.stdout) as RotateReport;
  };
  const check = async (pki: string) => {
    const r = await kubePki(['check', '--config', config, '--out', pki]);
    expect(r.exitCode, r.stdout).toBe(0);
  };
  const rootCaFile = async (pki: string) => {
    const r = await kubePki(['flags', 'kube-controller-manager', '--config', config, '--dir', pki, '--json']);
    return (JSON.parse(r.stdout) as Record<string, { flag: string; path: string }[]>)['kube-controller-manager']!.find((f) => f.flag === '--root-ca-file')!.path;
  };

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    ({ config } = await labCluster(dir));
    base = await genPki(dir, config);
  }, 60_000);
  afterAll(() => cleanup());

  it('before start and during finish abort exits 2 and writes nothing', async () => {
    const pki = await copyPki(base, join(dir, 'refused'));
    let before = await hashes(pki);
    const early = await rotate(['abort'], pki);
    expect(early.exitCode).toBe(2);
    expect(early.stderr).toContain('rotate-ca abort: CA ca has no rotation under way: nothing to abort');
    expect(changedFiles(before, await hashes(pki))).toEqual([]);
    await json(['start'], pki);
    await json(['reissue'], pki);
    // finish killed after its first step (the bundle retired): the folder is in phase finish.
    const killed = await kubePki(['rotate-ca', 'finish', '--config', config, '--out', pki], { env: { KUBE_PKI_TEST_STOP_AFTER_RENAME: '1' } });
    expect(killed.signal).toBe('SIGKILL');
    before = await hashes(pki);
    const late = await rotate(['abort'], pki);
    expect(late.exitCode).toBe(2);
    expect(late.stderr).toContain('is in the finish phase: trust in the old CA is ending, there is no way back');
    expect(changedFiles(before, await hashes(pki))).toEqual([]);
  });

  it('from start: the old CA alone is trusted again, nothing re-issued, the new CA archived; abort again changes nothing', async () => {
    const pki = await copyPki(base, join(dir, 'from-start'));
    const before = await hashes(pki);
    const oldCa = await cert(join(pki, 'ca.crt'));
    await json(['start'], pki);
    const newCa = await cert(join(pki, 'ca-new.crt'));
    const abort = await json(['abort'], pki);
    expect(abort.cas[0]).toEqual(expect.objectContaining({ state: 'none' }));
    expect(abort.restart[0]).toEqual({ node: 'master-1', components: ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler'] });
    expect(abort.notes).toEqual([expect.stringContaining('ca-bundle.crt now holds only the old CA, the same as ca.crt, and stays on the nodes')]);
    expect((await readdir(pki)).filter((f) => /^ca-/.test(f))).toEqual(['ca-bundle.crt']);
    expect(await fingerprints(join(pki, 'ca-bundle.crt'))).toEqual([oldCa.fingerprint256]);
    for (const k of KUBECONFIGS) expect((await kubeconfigParts(join(pki, k))).cas.map((c) => c.fingerprint256), k).toEqual([oldCa.fingerprint256]);
    // Only the bundle is new: every certificate, key and CA is as before start.
    expect(changedFiles(before, await hashes(pki))).toEqual(['ca-bundle.crt']);
    expect((await readFile(join(abort.backupDir!, 'ca-new.crt'))).equals(Buffer.from(newCa.toString()))).toBe(true);
    expect(await rootCaFile(pki)).toBe(join(pki, 'ca.crt'));
    await check(pki);
    const snapshot = await hashes(pki);
    const again = await rotate(['abort'], pki);
    expect(again.exitCode).toBe(0);
    expect(again.stdout).toContain('Nothing to do');
    expect(changedFiles(snapshot, await hashes(pki))).toEqual([]);
  });

  it('from reissue: back to phase start with the old CA signing every leaf (keys kept), then a second abort trusts only the old CA', async () => {
    const pki = await copyPki(base, join(dir, 'from-reissue'));
    const oldCa = await cert(join(pki, 'ca.crt'));
    const [oldCrt, oldKey] = await Promise.all([readFile(join(pki, 'ca.crt')), readFile(join(pki, 'ca.key'))]);
    const keys = new Map(await Promise.all(LEAVES.map(async (l) => [l, await readFile(join(pki, `${l}.key`))] as const)));
    await json(['start'], pki);
    const newCa = await cert(join(pki, 'ca-new.crt'));
    await json(['reissue'], pki);

    const abort = await json(['abort'], pki);
    expect(abort.cas[0]).toEqual(expect.objectContaining({ state: 'start', complete: true }));
    expect(abort.notes).toEqual([expect.stringContaining('ca: back in phase start')]);
    expect(abort.restart[0]!.components).toEqual(['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler']);
    expect((await readFile(join(pki, 'ca.crt'))).equals(oldCrt)).toBe(true);
    expect((await readFile(join(pki, 'ca.key'))).equals(oldKey)).toBe(true);
    expect((await cert(join(pki, 'ca-new.crt'))).fingerprint256).toBe(newCa.fingerprint256);
    expect((await readdir(pki)).filter((f) => /^ca-old/.test(f))).toEqual([]);
    for (const l of LEAVES) {
      expect(issued(await cert(join(pki, `${l}.crt`)), oldCa), l).toBe(true);
      expect((await readFile(join(pki, `${l}.key`))).equals(keys.get(l)!), `${l}.key kept`).toBe(true);
    }
    for (const k of KUBECONFIGS) {
      const parts = await kubeconfigParts(join(pki, k));
      expect(parts.cas.map((c) => c.fingerprint256), k).toEqual([oldCa.fingerprint256, newCa.fingerprint256]);
      expect(issued(parts.client, oldCa), k).toBe(true);
    }
    expect(await rootCaFile(pki)).toBe(join(pki, 'ca-bundle.crt')); // still both trusted
    expect(await mismatchedPairs(pki)).toEqual([]);
    await check(pki);

    const second = await json(['abort'], pki);
    expect(second.cas[0]).toEqual(expect.objectContaining({ state: 'none' }));
    expect(await fingerprints(join(pki, 'ca-bundle.crt'))).toEqual([oldCa.fingerprint256]);
    expect((await readdir(pki)).filter((f) => /^ca-(new|old)/.test(f))).toEqual([]);
    await check(pki);
    // A new rotation can begin from there: the bundle's name is reused.
    await json(['start'], pki);
    expect(await fingerprints(join(pki, 'ca-bundle.crt'))).toHaveLength(2);
  });
});

describe('rotate-ca abort on the kubeadm layout', () => {
  let dir: string;
  let config: string;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    ({ config } = await labCluster(dir, KUBEADM_YAML));
  });
  afterAll(() => cleanup());

  it('every CA from reissue, twice: the trees hold the old pairs and old leaves again, sa.key untouched, check clean', async () => {
    const pki = await genPki(dir, config);
    const before = await hashes(pki);
    const json = async (args: string[]) => {
      const r = await kubePki(['rotate-ca', ...args, '--config', config, '--out', pki, '--json']);
      expect(r.exitCode, `${args.join(' ')}: ${r.stdout}\n${r.stderr}`).toBe(0);
      return JSON.parse(r.stdout) as RotateReport;
    };
    await json(['start']);
    await json(['reissue']);
    const first = await json(['abort']);
    expect(first.cas.map((c) => [c.name, c.state, c.complete])).toEqual([['ca', 'start', true], ['etcd-ca', 'start', true], ['front-proxy-ca', 'start', true]]);
    const oldCa = await cert(join(pki, '_cluster/pki/ca.crt'));
    for (const node of ['cp-1', 'cp-2']) {
      expect((await cert(join(pki, node, 'pki/ca.crt'))).fingerprint256).toBe(oldCa.fingerprint256);
      expect(issued(await cert(join(pki, node, 'pki/apiserver.crt')), oldCa)).toBe(true);
    }
    expect(await mismatchedPairs(pki)).toEqual([]);
    expect((await kubePki(['check', '--config', config, '--out', pki])).exitCode).toBe(0);
    await json(['abort']);
    // Keys kept throughout, CAs as before start; leaves re-signed by the old CA.
    const changed = changedFiles(before, await hashes(pki));
    expect(changed.filter((f) => /\.(key|pub)$/.test(f) || /(^|\/)ca\.crt$/.test(f))).toEqual([]);
    expect(changed).toContain('cp-1/pki/ca-bundle.crt');
    expect(issued(await cert(join(pki, 'cp-2/pki/etcd/peer.crt')), await cert(join(pki, '_cluster/pki/etcd/ca.crt')))).toBe(true);
    const clean = await kubePki(['check', '--config', config, '--out', pki]);
    expect(clean.exitCode, clean.stdout).toBe(0);
  });
});
