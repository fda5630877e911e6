import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { readFile, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { genPki, labCluster } from './check-fixtures.js';
import { kubePki, tempDir } from './helpers/cli.js';
import { hashes, changedFiles, KUBEADM_YAML } from './helpers/rotation.js';

// rotate-sa on real folders made by gen, both profiles: the files of each phase, the flags each phase
// prints, the restart lists, the refusals (out of order; other operations while it is unfinished, and
// it while a CA rotation is), dry runs that write nothing, what distribute sends, and check's view.

const spki = (k: Buffer | KeyObject) => createPublicKey(k).export({ type: 'spki', format: 'der' }).toString('base64');
const keyOf = async (file: string) => spki(createPrivateKey(await readFile(file)));
const pubOf = async (file: string) => spki(await readFile(file));

interface SaReport {
  command: string;
  result: string;
  state: string;
  complete: boolean;
  next: string;
  changed: string[];
  backupDir: string | null;
  restart: { node: string; components: string[] }[];
}

function saFlags(stdout: string, component: string): string[] {
  const json = JSON.parse(stdout) as Record<string, { flag: string; path: string }[]>;
  return (json[component] ?? []).filter((f) => f.flag.startsWith('--service-account-')).map((f) => `${f.flag}=${f.path}`);
}

describe('rotate-sa, hard way: start, promote, finish', () => {
  let dir: string;
  let config: string;
  let pki: string;
  let cleanup: () => Promise<void>;
  const rotate = (args: string[]) => kubePki(['rotate-sa', ...args, '--config', config, '--out', pki]);
  const flags = async (component: string) => saFlags((await kubePki(['flags', component, '--config', config, '--out', pki, '--dir', '/pki', '--json'])).stdout, component);
  const json = (stdout: string) => JSON.parse(stdout) as SaReport;

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    ({ config } = await labCluster(dir));
    pki = await genPki(dir, config);
  }, 120_000);
  afterAll(() => cleanup());

  it('refuses promote and finish before start (exit 2, nothing written); status says none', async () => {
    const before = await hashes(pki);
    for (const phase of ['promote', 'finish']) {
      const r = await rotate([phase]);
      expect(r.exitCode, r.stderr).toBe(2);
      expect(r.stderr).toContain('run kube-pki rotate-sa start first');
    }
    const s = await rotate(['status', '--json']);
    expect(json(s.stdout)).toMatchObject({ state: 'none', complete: true });
    expect(changedFiles(before, await hashes(pki))).toEqual([]);
  });

  it('start --dry-run writes nothing; start makes the new pair, both keys verify, the old one signs', async () => {
    const before = await hashes(pki);
    const dry = await rotate(['start', '--dry-run']);
    expect(dry.exitCode, dry.stderr).toBe(0);
    expect(dry.stdout).toContain('service-account-new.crt');
    expect(changedFiles(before, await hashes(pki))).toEqual([]);

    const oldKey = await keyOf(join(pki, 'service-account.key'));
    const r = await rotate(['start', '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).not.toContain('PRIVATE KEY');
    const report = json(r.stdout);
    expect(report).toMatchObject({ state: 'start', complete: true, result: 'ok' });
    expect(report.changed.sort()).toEqual(['service-account-new.crt', 'service-account-new.key']);
    expect(report.restart).toEqual([
      { node: 'master-1', components: ['kube-apiserver'] },
      { node: 'master-2', components: ['kube-apiserver'] },
    ]);
    const newKey = await keyOf(join(pki, 'service-account-new.key'));
    expect(newKey).not.toBe(oldKey);
    expect(await pubOf(join(pki, 'service-account-new.crt'))).toBe(newKey);
    expect((await stat(join(pki, 'service-account-new.key'))).mode & 0o777).toBe(0o600);
    expect(await flags('kube-apiserver')).toEqual([
      '--service-account-key-file=/pki/service-account.crt',
      '--service-account-key-file=/pki/service-account-new.crt',
      '--service-account-signing-key-file=/pki/service-account.key',
    ]);
    expect(await flags('kube-controller-manager')).toEqual(['--service-account-private-key-file=/pki/service-account.key']);
    // Run again: nothing left to do, nothing changed.
    const mid = await hashes(pki);
    expect((await rotate(['start'])).exitCode).toBe(0);
    expect(changedFiles(mid, await hashes(pki))).toEqual([]);
    const check = await kubePki(['check', '--config', config, '--out', pki]);
    expect(check.exitCode, check.stdout).toBe(0);
    expect(check.stdout).toContain('service-account-new.key: the new service-account key pair of the rotation under way (rotate-sa phase start');
    expect(check.stdout).not.toContain('Not in the catalog');
    for (const name of ['service-account', 'service-account-new.crt']) {
      const explain = await kubePki(['explain', name, '--config', config, '--out', pki]);
      expect(explain.exitCode, explain.stderr).toBe(0);
      expect(explain.stdout).toContain('TOKEN KEY ROTATION');
      expect(explain.stdout).toContain('now: the apiservers verify tokens with service-account.crt and service-account-new.crt; service-account.key signs them (rotate-sa phase start');
    }
  });

  it('while it is unfinished, gen, renew and rotate-ca refuse (exit 2) naming rotate-sa; distribute sends the new pair to control planes only', async () => {
    for (const args of [['gen'], ['renew', 'admin'], ['rotate-ca', 'start'], ['gen', '--dry-run']]) {
      const r = await kubePki([...args, '--config', config, '--out', pki]);
      expect(r.exitCode, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toContain('kube-pki rotate-sa status');
    }
    const d = await kubePki(['distribute', '--config', config, '--out', pki, '--dry-run', '--json']);
    expect(d.exitCode, d.stderr).toBe(0);
    const nodes = JSON.parse(d.stdout) as { nodes: { node: string; files: { local: string }[] }[] };
    const sends = (node: string) => nodes.nodes.find((n) => n.node === node)!.files.map((f) => f.local);
    expect(sends('master-1')).toEqual(expect.arrayContaining(['service-account-new.key', 'service-account-new.crt']));
    expect(sends('worker-1')).not.toContain('service-account-new.key');
  });

  it('promote: no file changes, the new key signs (apiserver and controller manager), both verify; finish before promote is refused', async () => {
    const early = await rotate(['finish']);
    expect(early.exitCode, early.stderr).toBe(2);
    expect(early.stderr).toContain('run kube-pki rotate-sa promote first');
    const before = await hashes(pki);
    const r = await rotate(['promote', '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(json(r.stdout)).toMatchObject({ state: 'promote', complete: true, changed: [] });
    expect(json(r.stdout).restart.map((x) => x.components)).toEqual([
      ['kube-apiserver', 'kube-controller-manager'],
      ['kube-apiserver', 'kube-controller-manager'],
    ]);
    expect(changedFiles(before, await hashes(pki)).filter((f) => !f.startsWith('.kube-pki'))).toEqual([]);
    expect(await flags('kube-apiserver')).toEqual([
      '--service-account-key-file=/pki/service-account.crt',
      '--service-account-key-file=/pki/service-account-new.crt',
      '--service-account-signing-key-file=/pki/service-account-new.key',
    ]);
    expect(await flags('kube-controller-manager')).toEqual(['--service-account-private-key-file=/pki/service-account-new.key']);
    const start = await rotate(['start']);
    expect(start.exitCode).toBe(2);
    expect(start.stderr).toContain('already in the promote phase: run kube-pki rotate-sa finish');
  });

  it('finish: the new pair becomes the current one, the old is archived, the copy stays; flags name one key; finish again does nothing', async () => {
    const oldKey = await keyOf(join(pki, 'service-account.key'));
    const newKey = await keyOf(join(pki, 'service-account-new.key'));
    const r = await rotate(['finish', '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    const report = json(r.stdout);
    expect(report).toMatchObject({ state: 'none', complete: true });
    expect(report.changed.sort()).toEqual(['service-account.crt', 'service-account.key']);
    expect(await keyOf(join(pki, 'service-account.key'))).toBe(newKey);
    expect(await pubOf(join(pki, 'service-account.crt'))).toBe(newKey);
    expect(await keyOf(join(pki, 'service-account-new.key'))).toBe(newKey);
    expect(await keyOf(join(report.backupDir!, 'service-account.key'))).toBe(oldKey);
    expect((await readdir(pki)).filter((f) => f.startsWith('.kube-pki-rotate'))).toEqual([]);
    expect(await flags('kube-apiserver')).toEqual(['--service-account-key-file=/pki/service-account.crt', '--service-account-signing-key-file=/pki/service-account.key']);
    expect(await flags('kube-controller-manager')).toEqual(['--service-account-private-key-file=/pki/service-account.key']);
    const again = await rotate(['finish', '--json']);
    expect(again.exitCode).toBe(0);
    expect(json(again.stdout).result).toBe('nothing');
    const check = await kubePki(['check', '--config', config, '--out', pki]);
    expect(check.exitCode, check.stdout).toBe(0);
    expect(check.stdout).toContain('a copy of the current service-account pair left by rotate-sa finish');
    // gen and renew run again.
    expect((await kubePki(['gen', '--config', config, '--out', pki])).exitCode).toBe(0);
  });

  it('a second rotation replaces the retired copy with a new key; once the copy is deleted, distribute no longer sends it', async () => {
    const current = await keyOf(join(pki, 'service-account.key'));
    const r = await rotate(['start', '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(await keyOf(join(pki, 'service-account-new.key'))).not.toBe(current);
    expect((await rotate(['promote'])).exitCode).toBe(0);
    expect((await rotate(['finish'])).exitCode).toBe(0);
    await rm(join(pki, 'service-account-new.key'));
    await rm(join(pki, 'service-account-new.crt'));
    const d = await kubePki(['distribute', '--config', config, '--out', pki, '--dry-run', '--json']);
    const m1 = (JSON.parse(d.stdout) as { nodes: { node: string; files: { local: string }[] }[] }).nodes.find((n) => n.node === 'master-1')!;
    expect(m1.files.map((f) => f.local)).not.toContain('service-account-new.key');
    const status = await rotate(['status', '--json']);
    expect(json(status.stdout)).toMatchObject({ state: 'none' });
  });
});

describe('rotate-sa, hard way: a new pair without its record is a leftover, never the new key', () => {
  let dir: string;
  let config: string;
  let pki: string;
  let cleanup: () => Promise<void>;
  const rotate = (args: string[]) => kubePki(['rotate-sa', ...args, '--config', config, '--out', pki]);

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    ({ config } = await labCluster(dir));
    pki = await genPki(dir, config);
  }, 120_000);
  afterAll(() => cleanup());

  it('record deleted after start: no rotation under way, check warns, start backs the pair up and makes a fresh key', async () => {
    expect((await rotate(['start'])).exitCode).toBe(0);
    const stray = await keyOf(join(pki, 'service-account-new.key'));
    await rm(join(pki, '.kube-pki-rotate-sa.json'));
    const status = await rotate(['status', '--json']);
    expect(JSON.parse(status.stdout)).toMatchObject({ state: 'none' });
    const check = await kubePki(['check', '--config', config, '--out', pki]);
    expect(check.exitCode).toBe(1);
    expect(check.stdout).toContain('service-account-new.key: a service-account key pair that is neither the current one nor a rotation');
    const promote = await rotate(['promote']);
    expect(promote.exitCode).toBe(2);
    const start = await rotate(['start', '--json']);
    expect(start.exitCode, start.stderr).toBe(0);
    const report = JSON.parse(start.stdout) as SaReport;
    const fresh = await keyOf(join(pki, 'service-account-new.key'));
    expect(fresh).not.toBe(stray);
    expect(await keyOf(join(report.backupDir!, 'service-account-new.key'))).toBe(stray);
    expect((await kubePki(['check', '--config', config, '--out', pki])).exitCode).toBe(0);
  });
});

describe('rotate-sa, kubeadm: the pair in _cluster and in each control plane tree', () => {
  let dir: string;
  let config: string;
  let pki: string;
  let cleanup: () => Promise<void>;
  const rotate = (args: string[]) => kubePki(['rotate-sa', ...args, '--config', config, '--out', pki, '--json']);

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    ({ config } = await labCluster(dir, KUBEADM_YAML));
    pki = await genPki(dir, config);
  }, 120_000);
  afterAll(() => cleanup());

  it('start puts sa-new.* beside sa.* on control planes only; promote signs with it; finish makes it sa.* everywhere', async () => {
    const oldKey = await keyOf(join(pki, '_cluster/pki/sa.key'));
    const start = await rotate(['start']);
    expect(start.exitCode, start.stderr).toBe(0);
    expect((JSON.parse(start.stdout) as SaReport).changed.sort()).toEqual(
      ['_cluster/pki/sa-new.key', '_cluster/pki/sa-new.pub', 'cp-1/pki/sa-new.key', 'cp-1/pki/sa-new.pub', 'cp-2/pki/sa-new.key', 'cp-2/pki/sa-new.pub'].sort(),
    );
    const newKey = await keyOf(join(pki, '_cluster/pki/sa-new.key'));
    for (const t of ['_cluster', 'cp-1', 'cp-2']) {
      expect(await keyOf(join(pki, t, 'pki/sa-new.key'))).toBe(newKey);
      expect(await pubOf(join(pki, t, 'pki/sa-new.pub'))).toBe(newKey);
    }
    await expect(stat(join(pki, 'worker-1/pki/sa-new.key'))).rejects.toThrow();
    const apiserver = saFlags((await kubePki(['flags', 'kube-apiserver', '--config', config, '--out', pki, '--json'])).stdout, 'kube-apiserver');
    expect(apiserver).toEqual([
      '--service-account-key-file=/etc/kubernetes/pki/sa.pub',
      '--service-account-key-file=/etc/kubernetes/pki/sa-new.pub',
      '--service-account-signing-key-file=/etc/kubernetes/pki/sa.key',
    ]);
    const d = await kubePki(['distribute', '--config', config, '--out', pki, '--dry-run', '--json']);
    const nodes = (JSON.parse(d.stdout) as { nodes: { node: string; files: { path: string }[] }[] }).nodes;
    expect(nodes.find((n) => n.node === 'cp-2')!.files.map((f) => f.path)).toEqual(expect.arrayContaining(['pki/sa-new.key', 'pki/sa-new.pub']));

    expect((await rotate(['promote'])).exitCode).toBe(0);
    const explain = await kubePki(['explain', 'sa.pub', '--config', config, '--out', pki, '--json']);
    expect(explain.exitCode, explain.stderr).toBe(0);
    expect(JSON.parse(explain.stdout)).toMatchObject({
      name: 'sa',
      tokenKey: { state: 'promote', verifyWith: ['_cluster/pki/sa.pub', '_cluster/pki/sa-new.pub'], signsWith: '_cluster/pki/sa-new.key' },
    });
    const explainText = await kubePki(['explain', 'sa', '--config', config, '--out', pki]);
    expect(explainText.stdout).toContain('kube-apiserver           --service-account-key-file /etc/kubernetes/pki/sa.pub  (on cp-1, cp-2)');
    const kcm = saFlags((await kubePki(['flags', 'kube-controller-manager', '--config', config, '--out', pki, '--json'])).stdout, 'kube-controller-manager');
    expect(kcm).toEqual(['--service-account-private-key-file=/etc/kubernetes/pki/sa-new.key']);

    const finish = await rotate(['finish']);
    expect(finish.exitCode, finish.stderr).toBe(0);
    const report = JSON.parse(finish.stdout) as SaReport;
    expect(report.restart.map((r) => r.node)).toEqual(['cp-1', 'cp-2']);
    for (const t of ['_cluster', 'cp-1', 'cp-2']) {
      expect(await keyOf(join(pki, t, 'pki/sa.key'))).toBe(newKey);
      expect(await pubOf(join(pki, t, 'pki/sa.pub'))).toBe(newKey);
    }
    expect(await keyOf(join(report.backupDir!, '_cluster/pki/sa.key'))).toBe(oldKey);
    const check = await kubePki(['check', '--config', config, '--out', pki]);
    expect(check.exitCode, check.stdout).toBe(0);
  });

  it('refuses to start while a CA rotation is under way (exit 2, naming rotate-ca)', async () => {
    expect((await kubePki(['rotate-ca', 'start', '--config', config, '--out', pki, '--ca', 'front-proxy-ca'])).exitCode).toBe(0);
    const before = await hashes(pki);
    const r = await rotate(['start']);
    expect(r.exitCode, r.stderr).toBe(2);
    expect(r.stderr).toContain('rotate-ca');
    expect(changedFiles(before, await hashes(pki))).toEqual([]);
  });
});
