import { copyFile, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubePki, tempDir } from './helpers/cli.js';
import { changedFiles, hashes, KUBEADM_YAML } from './helpers/rotation.js';
import { SMALL_CLUSTER } from './helpers/small-cluster.js';

// A CA key kube-pki made (or held) here and that is gone is lost, an error alike in gen, its dry run,
// check, graph and report (issue 22, item 12); an external CA is declared (externalCAs) or a folder
// that never held the key, and check says what going without the key costs.

type Check = { result: string; cas: { file: string; problems: { severity: string; code: string; message: string }[] }[] };

describe('a missing CA key', () => {
  let dir: string;
  let config: string;
  let cleanup: () => Promise<void>;
  const cli = (args: string[], out: string, cfg = config) => kubePki([...args, '--config', cfg, '--out', out]);
  const caProblems = async (out: string, cfg = config, caFile = 'ca.crt') => {
    const r = await cli(['check', '--json'], out, cfg);
    const report = JSON.parse(r.stdout) as Check;
    return { exitCode: r.exitCode, problems: report.cas.find((c) => c.file === caFile)!.problems };
  };

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    config = join(dir, 'cluster.yaml');
    await writeFile(config, SMALL_CLUSTER);
  });
  afterAll(() => cleanup());

  it('made by kube-pki and moved away: gen, gen --dry-run, check, graph and report all report it, nothing written', async () => {
    const out = join(dir, 'moved');
    expect((await cli(['gen'], out)).exitCode).toBe(0);
    await rename(join(out, 'ca.key'), join(dir, 'ca.key.elsewhere'));
    const before = await hashes(out);
    for (const args of [['gen'], ['gen', '--dry-run'], ['gen', '--force'], ['csr']]) {
      const r = await cli(args, out);
      expect(r.exitCode, `${args.join(' ')}: ${r.stdout}`).toBe(1);
      expect(r.stderr).toContain('ca.key is missing, but this folder held the key of ca.crt');
      expect(r.stdout).not.toContain('ca: kept');
    }
    const renew = await cli(['renew', '--all'], out);
    expect(renew.exitCode).toBe(2); // renew's own words: it signs with that key
    expect(renew.stderr).toContain('ca.key: the CA key is missing');
    const check = await caProblems(out);
    expect(check.exitCode).toBe(1);
    expect(check.problems.filter((p) => p.severity === 'error').map((p) => p.code)).toEqual(['ca-key-lost']);
    expect((await cli(['graph'], out)).exitCode).toBe(1);
    const html = join(dir, 'moved.html');
    const report = await kubePki(['report', '--html', html, '--config', config, '--out', out]);
    expect(report.exitCode).toBe(1);
    expect(await readFile(html, 'utf8')).toMatch(/Problems: 0 missing, 0 stale, 1 with problems/);
    expect(changedFiles(before, await hashes(out))).toEqual([]);
    // Put back, all is well again.
    await rename(join(dir, 'ca.key.elsewhere'), join(out, 'ca.key'));
    expect((await cli(['gen'], out)).exitCode).toBe(0);
  });

  it('without the record (a folder from before it): a kubeadm node tree\'s copy of the key is the evidence', async () => {
    const kubeadm = join(dir, 'kubeadm.yaml');
    await writeFile(kubeadm, KUBEADM_YAML);
    const out = join(dir, 'kubeadm');
    expect((await cli(['gen'], out, kubeadm)).exitCode).toBe(0);
    await rm(join(out, '.kube-pki-ca-keys.json'));
    await rm(join(out, '_cluster/pki/ca.key'));
    const r = await cli(['gen'], out, kubeadm);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('_cluster/pki/ca.key is missing, but this folder held the key of _cluster/pki/ca.crt (cp-1/pki/ca.key holds the same key)');
  }, 60_000);

  it('declared external (externalCAs): a note that says what it costs, exit 0; an unknown name is bad input', async () => {
    const out = join(dir, 'declared');
    expect((await cli(['gen'], out)).exitCode).toBe(0);
    await rm(join(out, 'ca.key'));
    const declared = join(dir, 'declared.yaml');
    await writeFile(declared, `${SMALL_CLUSTER}externalCAs: [ca]\n`);
    const gen = await cli(['gen'], out, declared);
    expect(gen.exitCode, gen.stderr).toBe(0);
    expect(gen.stdout).toMatch(/^ca: kept/m);
    const check = await caProblems(out, declared);
    expect(check.exitCode).toBe(0);
    const note = check.problems.find((p) => p.code === 'ca-key-absent')!;
    expect(note.severity).toBe('note');
    expect(note.message).toContain('(externalCAs)');
    expect(note.message).toContain('the controller-manager cannot sign kubelet');
    const unknown = join(dir, 'unknown.yaml');
    await writeFile(unknown, `${SMALL_CLUSTER}externalCAs: [etcd-ca]\n`);
    const bad = await cli(['gen'], out, unknown);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain('externalCAs[0]: "etcd-ca": is not a CA of the hardway profile (ca)');
  });

  it('a folder that never held the key is an external CA: csr works, check notes the cost', async () => {
    const made = join(dir, 'made');
    expect((await cli(['gen'], made)).exitCode).toBe(0);
    const out = join(dir, 'never-held');
    await mkdir(out, { mode: 0o700 });
    await copyFile(join(made, 'ca.crt'), join(out, 'ca.crt'));
    const csr = await cli(['csr'], out);
    expect(csr.exitCode, csr.stderr).toBe(0);
    const check = await caProblems(out);
    const note = check.problems.find((p) => p.code === 'ca-key-absent')!;
    expect(note.message).toContain('--cluster-signing-key-file');
    expect(check.problems.some((p) => p.code === 'ca-key-lost')).toBe(false);
  });
});
