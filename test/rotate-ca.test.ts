import { readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RotateReport } from '../src/rotate/rotate.js';
import { copyPki, genPki, labCluster } from './check-fixtures.js';
import { kubePki, tempDir } from './helpers/cli.js';
import { cert, changedFiles, hashes, issued, kubeconfigParts, mismatchedPairs, pemCerts, KUBEADM_YAML } from './helpers/rotation.js';

// rotate-ca at the CLI: phases in order, each one harmless to run again, the file layout per phase
// (signing pair vs trust bundle), the restart order, and check/gen/renew/flags mid-rotation.

const HARDWAY_LEAVES = ['admin', 'kube-controller-manager', 'kube-proxy', 'kube-scheduler', 'kube-apiserver', 'apiserver-kubelet-client', 'etcd-server', 'service-account', 'worker-1', 'worker-2'];
const HARDWAY_KUBECONFIGS = ['admin', 'kube-controller-manager', 'kube-scheduler', 'kube-proxy', 'worker-1', 'worker-2'].map((k) => `${k}.kubeconfig`);

describe('rotate-ca on the hard-way lab (one CA, flat folder)', () => {
  let dir: string;
  let config: string;
  let out: string;
  let cleanup: () => Promise<void>;
  const rotate = (args: string[], pki = out) => kubePki(['rotate-ca', ...args, '--config', config, '--out', pki]);
  const json = async (args: string[], pki = out) => {
    const r = await rotate([...args, '--json'], pki);
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
    return JSON.parse(r.stdout) as RotateReport;
  };
  const check = (pki = out) => kubePki(['check', '--config', config, '--out', pki]);

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    ({ config } = await labCluster(dir));
    out = await genPki(dir, config);
  });
  afterAll(() => cleanup());

  it('refuses phases out of order (exit 2) and says what to run', async () => {
    const pki = await copyPki(out, join(dir, 'order'));
    const before = await hashes(pki);
    for (const phase of ['reissue', 'finish']) {
      const r = await rotate([phase], pki);
      expect(r.exitCode, phase).toBe(2);
      expect(r.stderr).toMatch(/no rotation under way.*: run kube-pki rotate-ca start first/);
    }
    expect(changedFiles(before, await hashes(pki))).toEqual([]);
    expect((await rotate(['start'], pki)).exitCode).toBe(0);
    const early = await rotate(['finish'], pki);
    expect(early.exitCode).toBe(2);
    expect(early.stderr).toContain('run kube-pki rotate-ca reissue first');
    expect((await rotate(['reissue'], pki)).exitCode).toBe(0);
    const back = await rotate(['start'], pki);
    expect(back.exitCode).toBe(2);
    expect(back.stderr).toContain('already in the reissue phase');
    expect(changedFiles(before, await hashes(pki)).length).toBeGreaterThan(0);
  });

  it('refuses an unknown --ca and an external CA without its key, changing nothing', async () => {
    const unknown = await rotate(['start', '--ca', 'etcd-ca']);
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toContain('--ca "etcd-ca": not a CA of this cluster; one of: ca');
    const pki = await copyPki(out, join(dir, 'external'));
    await rm(join(pki, 'ca.key'));
    const before = await hashes(pki);
    const named = await rotate(['start', '--ca', 'ca'], pki);
    expect(named.exitCode).toBe(2);
    expect(named.stderr).toContain('ca is an external CA: ca.crt is here without its key');
    const all = await rotate(['start'], pki);
    expect(all.exitCode).toBe(2);
    expect(all.stderr).toContain('no CA here that kube-pki made');
    expect(changedFiles(before, await hashes(pki))).toEqual([]);
  });

  it('--dry-run prints the files, openssl commands and restarts, and writes nothing', async () => {
    const pki = await copyPki(out, join(dir, 'dry'));
    const before = await hashes(pki);
    const r = await rotate(['start', '--dry-run'], pki);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain('nothing is written');
    expect(r.stdout).toMatch(/openssl genrsa -out ca-new\.key 2048/);
    expect(r.stdout).toContain('awk 1 ca.crt ca-new.crt > ca-bundle.crt');
    expect(r.stdout).toMatch(/1\. master-1: etcd, kube-apiserver, kube-controller-manager/);
    expect(changedFiles(before, await hashes(pki))).toEqual([]);
    expect((await rotate(['start'], pki)).exitCode).toBe(0);
    const reissue = await rotate(['reissue', '--dry-run'], pki);
    expect(reissue.stdout).toMatch(/openssl ca -batch -config "\$KUBE_PKI_CA_DB\/\.ca-config\.cnf" -in admin\.csr -cert ca\.crt -keyfile ca\.key/);
    expect(reissue.stdout).toContain('rm -f ca.crt');
  });

  it('start → reissue → finish: trust both, sign with the new, trust only the new; each phase harmless to repeat', async () => {
    const pki = await copyPki(out, join(dir, 'rotation'));
    const oldCa = await cert(join(pki, 'ca.crt'));
    const leavesBefore = new Map(await Promise.all(HARDWAY_LEAVES.map(async (l) => [l, await readFile(join(pki, `${l}.crt`))] as const)));
    const keysBefore = new Map(await Promise.all(HARDWAY_LEAVES.map(async (l) => [l, await readFile(join(pki, `${l}.key`))] as const)));

    // start: a new CA beside the old, the bundle (old + new), kubeconfigs embed the bundle; no leaf re-issued.
    const start = await json(['start'], pki);
    expect(start.cas).toEqual([expect.objectContaining({ name: 'ca', state: 'start', complete: true })]);
    expect(start.cas[0]!.signedByOld).toHaveLength(HARDWAY_LEAVES.length + HARDWAY_KUBECONFIGS.length);
    expect(start.restart.map((r) => r.node)).toEqual(['master-1', 'master-2', 'worker-1', 'worker-2']);
    const newCa = await cert(join(pki, 'ca-new.crt'));
    expect(newCa.fingerprint256).not.toBe(oldCa.fingerprint256);
    expect((await cert(join(pki, 'ca.crt'))).fingerprint256).toBe(oldCa.fingerprint256);
    expect(pemCerts(await readFile(join(pki, 'ca-bundle.crt'))).map((c) => c.fingerprint256)).toEqual([oldCa.fingerprint256, newCa.fingerprint256]);
    for (const l of HARDWAY_LEAVES) expect((await readFile(join(pki, `${l}.crt`))).equals(leavesBefore.get(l)!)).toBe(true);
    for (const k of HARDWAY_KUBECONFIGS) expect((await kubeconfigParts(join(pki, k))).cas.map((c) => c.fingerprint256)).toEqual([oldCa.fingerprint256, newCa.fingerprint256]);
    expect(await mismatchedPairs(pki)).toEqual([]);
    const checked = await check(pki);
    expect(checked.exitCode, checked.stdout).toBe(0);
    let snapshot = await hashes(pki);
    expect((await json(['start'], pki)).changed).toEqual([]);
    expect(changedFiles(snapshot, await hashes(pki))).toEqual([]);

    // Mid-rotation, gen and renew refuse to cut in (a second CA replacement above all).
    for (const args of [['gen', '--replace-ca'], ['gen'], ['renew', '--all']]) {
      const r = await kubePki([...args, '--config', config, '--out', pki]);
      expect(r.exitCode, args.join(' ')).toBe(2);
      expect(r.stderr).toContain('a CA rotation is under way here: ca (phase start)');
    }
    expect(changedFiles(snapshot, await hashes(pki))).toEqual([]);

    // reissue: ca.crt/ca.key become the new pair, the old one waits as ca-old.*, every leaf signed by the new CA, keys kept.
    const reissue = await json(['reissue'], pki);
    expect(reissue.cas[0]).toEqual(expect.objectContaining({ state: 'reissue', complete: true, signedByOld: [] }));
    expect((await cert(join(pki, 'ca.crt'))).fingerprint256).toBe(newCa.fingerprint256);
    expect((await cert(join(pki, 'ca-old.crt'))).fingerprint256).toBe(oldCa.fingerprint256);
    for (const l of HARDWAY_LEAVES) {
      expect(issued(await cert(join(pki, `${l}.crt`)), newCa), l).toBe(true);
      expect((await readFile(join(pki, `${l}.key`))).equals(keysBefore.get(l)!), `${l}.key kept`).toBe(true);
    }
    for (const k of HARDWAY_KUBECONFIGS) {
      const parts = await kubeconfigParts(join(pki, k));
      expect(parts.cas).toHaveLength(2);
      expect(issued(parts.client, newCa), k).toBe(true);
    }
    expect(reissue.restart.find((r) => r.node === 'master-1')!.components).toEqual(['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler']);
    expect(await mismatchedPairs(pki)).toEqual([]);
    expect((await check(pki)).exitCode).toBe(0);
    snapshot = await hashes(pki);
    expect((await json(['reissue'], pki)).changed).toEqual([]);
    expect(changedFiles(snapshot, await hashes(pki))).toEqual([]);

    // finish: the bundle keeps its name with the new CA alone (components still started with it keep
    // working until their restart), kubeconfigs embed the new CA alone, the old CA is archived, not deleted.
    const finish = await json(['finish'], pki);
    expect(finish.cas[0]).toEqual(expect.objectContaining({ state: 'none' }));
    const files = await readdir(pki);
    expect(files.filter((f) => /^ca-(bundle|new|old)/.test(f))).toEqual(['ca-bundle.crt']);
    expect(pemCerts(await readFile(join(pki, 'ca-bundle.crt'))).map((c) => c.fingerprint256)).toEqual([newCa.fingerprint256]);
    expect(finish.notes).toEqual([expect.stringContaining('ca-bundle.crt now holds only the new CA, the same as ca.crt, and stays on the nodes')]);
    expect(finish.backupDir).toBeTruthy();
    expect((await readFile(join(finish.backupDir!, 'ca-old.crt'))).equals(Buffer.from(oldCa.toString()))).toBe(true);
    expect((await readFile(join(finish.backupDir!, 'ca-old.key'))).length).toBeGreaterThan(0);
    for (const k of HARDWAY_KUBECONFIGS) expect((await kubeconfigParts(join(pki, k))).cas.map((c) => c.fingerprint256)).toEqual([newCa.fingerprint256]);
    const clean = await check(pki);
    expect(clean.exitCode, clean.stdout).toBe(0);
    snapshot = await hashes(pki);
    const again = await rotate(['finish'], pki);
    expect(again.exitCode).toBe(0);
    expect(again.stdout).toContain('Nothing to do');
    expect(changedFiles(snapshot, await hashes(pki))).toEqual([]);
  });

  it('check: a leaf of the old CA is a warning during the overlap and an error after finish', async () => {
    const pki = await copyPki(out, join(dir, 'check'));
    const oldAdmin = await readFile(join(pki, 'admin.crt'));
    await json(['start'], pki);
    await json(['reissue'], pki);
    await writeFile(join(pki, 'admin.crt'), oldAdmin);
    const during = await check(pki);
    expect(during.exitCode).toBe(1);
    expect(during.stdout).toContain('signed by the CA being replaced');
    const status = await json(['status'], pki);
    expect(status.cas[0]!.signedByOld).toContain('admin.crt');
    expect(status.cas[0]!.complete).toBe(false);
    await json(['reissue'], pki); // re-issues it again
    await json(['finish'], pki);
    await writeFile(join(pki, 'admin.crt'), oldAdmin);
    const after = await check(pki);
    expect(after.exitCode).toBe(1);
    expect(after.stdout).toContain('not signed by its CA ca.crt');
  });

  it('flags name the bundle for trust and the single pair for signing during the overlap only', async () => {
    const pki = await copyPki(out, join(dir, 'flags'));
    const flags = async () => {
      const r = await kubePki(['flags', 'kube-controller-manager', '--config', config, '--dir', pki, '--json']);
      expect(r.exitCode, r.stderr).toBe(0);
      return Object.fromEntries((JSON.parse(r.stdout) as Record<string, { flag: string; path: string }[]>)['kube-controller-manager']!.map((f) => [f.flag, f.path]));
    };
    expect((await flags())['--root-ca-file']).toBe(join(pki, 'ca.crt'));
    await json(['start'], pki);
    for (const phase of ['start', 'reissue'] as const) {
      if (phase === 'reissue') await json(['reissue'], pki);
      const f = await flags();
      expect(f['--root-ca-file']).toBe(join(pki, 'ca-bundle.crt'));
      expect(f['--cluster-signing-cert-file']).toBe(join(pki, 'ca.crt'));
      expect(f['--cluster-signing-key-file']).toBe(join(pki, 'ca.key'));
    }
    await json(['finish'], pki);
    expect((await flags())['--root-ca-file']).toBe(join(pki, 'ca.crt'));
  });
});


describe('rotate-ca on the kubeadm layout (three CAs, node trees)', () => {
  let dir: string;
  let config: string;
  let out: string;
  let cleanup: () => Promise<void>;
  const json = async (args: string[], pki = out) => {
    const r = await kubePki(['rotate-ca', ...args, '--config', config, '--out', pki, '--json']);
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
    return JSON.parse(r.stdout) as RotateReport;
  };

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    ({ config } = await labCluster(dir, KUBEADM_YAML));
    out = await genPki(dir, config);
  });
  afterAll(() => cleanup());

  it('rotating etcd-ca touches only etcd-ca and its certificates; sa.key/sa.pub are never rotated', async () => {
    const pki = await copyPki(out, join(dir, 'etcd'));
    const before = await hashes(pki);
    const start = await json(['start', '--ca', 'etcd-ca'], pki);
    expect(start.restart).toEqual([
      { node: 'cp-1', components: ['etcd', 'kube-apiserver'] },
      { node: 'cp-2', components: ['etcd', 'kube-apiserver'] },
    ]);
    expect(changedFiles(before, await hashes(pki))).toEqual(
      ['_cluster/pki/etcd/ca-bundle.crt', '_cluster/pki/etcd/ca-new.crt', '_cluster/pki/etcd/ca-new.key', 'cp-1/pki/etcd/ca-bundle.crt', 'cp-2/pki/etcd/ca-bundle.crt'],
    );
    await json(['reissue'], pki); // the CA under rotation by default
    const finish = await json(['finish'], pki);
    expect(finish.cas.map((c) => c.name)).toEqual(['etcd-ca']);
    const changed = changedFiles(before, await hashes(pki));
    const etcdFiles = /(^|\/)pki\/(etcd\/|apiserver-etcd-client\.)/;
    expect(changed.filter((f) => !etcdFiles.test(f))).toEqual([]);
    expect(changed).toContain('cp-1/pki/etcd/server.crt');
    const newCa = await cert(join(pki, '_cluster/pki/etcd/ca.crt'));
    for (const node of ['cp-1', 'cp-2']) {
      expect((await readFile(join(pki, node, 'pki/etcd/ca.crt'))).equals(Buffer.from(newCa.toString()))).toBe(true);
      for (const f of ['pki/etcd/server.crt', 'pki/etcd/peer.crt', 'pki/etcd/healthcheck-client.crt', 'pki/apiserver-etcd-client.crt'])
        expect(issued(await cert(join(pki, node, f)), newCa), `${node}/${f}`).toBe(true);
    }
    expect(await mismatchedPairs(pki)).toEqual([]);
    const checked = await kubePki(['check', '--config', config, '--out', pki]);
    expect(checked.exitCode, checked.stdout).toBe(0);
  });

  it('rotating every CA: kubeconfigs in every tree carry the bundle during the overlap and one CA after', async () => {
    const pki = await copyPki(out, join(dir, 'all'));
    const saBefore = await Promise.all(['_cluster/pki/sa.key', '_cluster/pki/sa.pub', 'cp-1/pki/sa.key'].map((f) => readFile(join(pki, f))));
    const start = await json(['start'], pki);
    expect(start.cas.map((c) => c.name)).toEqual(['ca', 'etcd-ca', 'front-proxy-ca']);
    expect(start.restart.map((r) => r.node)).toEqual(['cp-1', 'cp-2', 'worker-1']);
    expect(start.restart[2]!.components).toEqual(['kubelet']);
    for (const kc of ['cp-1/admin.conf', 'worker-1/kubelet.conf']) expect((await kubeconfigParts(join(pki, kc))).cas).toHaveLength(2);
    expect(pemCerts(await readFile(join(pki, 'worker-1/pki/ca-bundle.crt')))).toHaveLength(2);
    const mid = await kubePki(['check', '--config', config, '--out', pki]);
    expect(mid.exitCode, mid.stdout).toBe(0);
    await json(['reissue'], pki);
    expect((await kubePki(['check', '--config', config, '--out', pki])).exitCode).toBe(0);
    await json(['finish'], pki);
    for (const kc of ['cp-1/admin.conf', 'cp-2/controller-manager.conf', 'worker-1/kubelet.conf']) {
      const parts = await kubeconfigParts(join(pki, kc));
      expect(parts.cas).toHaveLength(1);
      expect(issued(parts.client, parts.cas[0]!)).toBe(true);
    }
    expect(await readdir(join(pki, 'worker-1/pki'))).toEqual(['ca-bundle.crt', 'ca.crt']);
    expect(pemCerts(await readFile(join(pki, 'worker-1/pki/ca-bundle.crt'))).map((c) => c.fingerprint256)).toEqual([(await cert(join(pki, 'worker-1/pki/ca.crt'))).fingerprint256]);
    const saAfter = await Promise.all(['_cluster/pki/sa.key', '_cluster/pki/sa.pub', 'cp-1/pki/sa.key'].map((f) => readFile(join(pki, f))));
    saAfter.forEach((b, i) => expect(b.equals(saBefore[i]!)).toBe(true));
    const clean = await kubePki(['check', '--config', config, '--out', pki]);
    expect(clean.exitCode, clean.stdout).toBe(0);
  });

  it('reissue --new-keys gives every re-issued certificate a new key (old ones backed up), pairs always matching', async () => {
    const pki = await copyPki(out, join(dir, 'new-keys'));
    const files = ['cp-1/pki/etcd/server', 'cp-2/pki/etcd/peer', '_cluster/pki/apiserver-etcd-client'];
    const before = await Promise.all(files.map((f) => readFile(join(pki, `${f}.key`))));
    await json(['start', '--ca', 'etcd-ca'], pki);
    const reissue = await json(['reissue', '--new-keys'], pki);
    const after = await Promise.all(files.map((f) => readFile(join(pki, `${f}.key`))));
    after.forEach((k, i) => expect(k.equals(before[i]!), files[i]).toBe(false));
    expect((await readFile(join(reissue.backupDir!, 'cp-1/pki/etcd/server.key'))).equals(before[0]!)).toBe(true);
    // The tree copies of a shared pair follow their source.
    expect((await readFile(join(pki, 'cp-1/pki/apiserver-etcd-client.key'))).equals(after[2]!)).toBe(true);
    expect(await mismatchedPairs(pki)).toEqual([]);
    expect((await json(['reissue', '--new-keys'], pki)).changed).toEqual([]); // done: nothing again
    expect((await kubePki(['check', '--config', config, '--out', pki])).exitCode).toBe(0);
  });
});
