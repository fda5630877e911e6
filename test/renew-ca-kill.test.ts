import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RenewCaReport } from '../src/rotate/renew-ca.js';
import { subjectDer } from '../src/inspect/der.js';
import { copyPki, genPki, labCluster } from './check-fixtures.js';
import { kubePki, tempDir } from './helpers/cli.js';
import { cert, issued, kubeconfigParts, mismatchedPairs, KUBEADM_YAML } from './helpers/rotation.js';

// renew-ca killed at step boundaries (the executor's KUBE_PKI_TEST_STOP_AFTER_RENAME: after the Nth
// file renamed into place), then run again: it completes (a renewal again, from the files as they
// are), the CA keeps its key, subject and key identifier, every kubeconfig and tree copy holds the
// CA certificate, check is clean; never a key beside a certificate it does not match.

const LEAVES = ['admin', 'kube-controller-manager', 'kube-proxy', 'kube-scheduler', 'kube-apiserver', 'apiserver-kubelet-client', 'etcd-server', 'service-account', 'worker-1', 'worker-2'];
const KUBECONFIGS = ['admin', 'kube-controller-manager', 'kube-proxy', 'kube-scheduler', 'worker-1', 'worker-2'];

describe('renew-ca killed at any moment completes when run again', () => {
  let dir: string;
  let config: string;
  let base: string;
  let withBundle: string;
  let cleanup: () => Promise<void>;
  const renewCa = (pki: string, env: Record<string, string> = {}) => kubePki(['renew-ca', '--config', config, '--out', pki, '--json'], { env });

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('kube-pki-renew-ca-kill-'));
    ({ config } = await labCluster(dir));
    base = await genPki(dir, config, 'base');
    // A folder after a finished rotation: the bundle kept under its name must never disagree with ca.crt.
    withBundle = await copyPki(base, join(dir, 'base-bundle'));
    for (const phase of ['start', 'reissue', 'finish']) expect((await kubePki(['rotate-ca', phase, '--config', config, '--out', withBundle])).exitCode).toBe(0);
  }, 180_000);
  afterAll(() => cleanup());

  async function complete(pki: string, from: string): Promise<void> {
    const ca = await cert(join(pki, 'ca.crt'));
    const original = await cert(join(from, 'ca.crt'));
    expect(subjectDer(ca.raw).equals(subjectDer(original.raw))).toBe(true);
    expect(ca.publicKey.export({ type: 'spki', format: 'der' }).equals(original.publicKey.export({ type: 'spki', format: 'der' }))).toBe(true);
    for (const l of LEAVES) expect(issued(await cert(join(pki, `${l}.crt`)), ca), l).toBe(true);
    for (const k of KUBECONFIGS) expect((await kubeconfigParts(join(pki, `${k}.kubeconfig`))).cas.map((c) => c.fingerprint256), k).toEqual([ca.fingerprint256]);
    const check = await kubePki(['check', '--config', config, '--out', pki]);
    expect(check.exitCode, check.stdout).toBe(0);
  }

  for (const [label, from, points] of [
    ['fresh folder', () => base, [1, 2, 4, 7]],
    ['after a rotation (ca-bundle.crt kept)', () => withBundle, [1, 2, 3]],
  ] as const) {
    it(`${label}: killed after rename ${points.join(', ')}`, async () => {
      for (const n of points) {
        const pki = await copyPki(from(), join(dir, `${label.split(' ')[0]}-${n}`));
        const killed = await renewCa(pki, { KUBE_PKI_TEST_STOP_AFTER_RENAME: String(n) });
        expect(killed.signal, `kill point ${n}: ${killed.stdout}\n${killed.stderr}`).toBe('SIGKILL');
        expect(await mismatchedPairs(pki), `killed after ${n}`).toEqual([]);
        const again = await renewCa(pki);
        expect(again.exitCode, `${again.stdout}\n${again.stderr}`).toBe(0);
        expect((JSON.parse(again.stdout) as RenewCaReport).result).toBe('ok');
        expect(await mismatchedPairs(pki)).toEqual([]);
        await complete(pki, from());
        // The CA certificate and the kept bundle are promised together (rolled forward by the next run): one again.
        if (from() === withBundle) expect(await readFile(join(pki, 'ca-bundle.crt'), 'utf8')).toBe(await readFile(join(pki, 'ca.crt'), 'utf8'));
      }
    }, 300_000);
  }
});

describe('renew-ca on node trees killed at any moment', () => {
  let dir: string;
  let config: string;
  let base: string;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('kube-pki-renew-ca-kill-kubeadm-'));
    ({ config } = await labCluster(dir, KUBEADM_YAML));
    base = await genPki(dir, config, 'base');
  }, 120_000);
  afterAll(() => cleanup());

  it('killed after rename 2, 5, 9, 14 completes: every tree holds the renewed CAs, check clean', async () => {
    for (const n of [2, 5, 9, 14]) {
      const pki = await copyPki(base, join(dir, `trees-${n}`));
      const killed = await kubePki(['renew-ca', '--config', config, '--out', pki], { env: { KUBE_PKI_TEST_STOP_AFTER_RENAME: String(n) } });
      expect(killed.signal, `kill point ${n}`).toBe('SIGKILL');
      expect(await mismatchedPairs(pki)).toEqual([]);
      const again = await kubePki(['renew-ca', '--config', config, '--out', pki]);
      expect(again.exitCode, `${again.stdout}\n${again.stderr}`).toBe(0);
      for (const file of ['pki/ca.crt', 'pki/etcd/ca.crt', 'pki/front-proxy-ca.crt']) {
        const ca = await readFile(join(pki, '_cluster', file), 'utf8');
        for (const node of ['cp-1', 'cp-2']) expect(await readFile(join(pki, node, file), 'utf8'), `${node}/${file} after ${n}`).toBe(ca);
      }
      const check = await kubePki(['check', '--config', config, '--out', pki]);
      expect(check.exitCode, check.stdout).toBe(0);
    }
  }, 300_000);
});
