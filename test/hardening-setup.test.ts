import { execa } from 'execa';
import { chmod, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubePki, tempDir } from './helpers/cli.js';

describe('check DIR', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let pki: string;
  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    pki = join(dir, 'pki-elsewhere');
    expect((await kubePki(['gen', '--out', pki])).exitCode).toBe(0);
  });
  afterAll(() => cleanup());

  it('takes the folder as a positional argument, as --out does', async () => {
    const positional = await kubePki(['check', pki, '--json']);
    expect(positional.exitCode, positional.stderr).toBe(0);
    const flag = await kubePki(['check', '--out', pki, '--json']);
    const strip = (text: string) => ({ ...JSON.parse(text), checkedAt: '' });
    expect(strip(positional.stdout)).toEqual(strip(flag.stdout));
    expect(JSON.parse(positional.stdout).outDir).toBe(pki);
  });

  it('refuses two different folders (exit 2), accepts the same one twice', async () => {
    const both = await kubePki(['check', pki, '--out', join(dir, 'other')]);
    expect(both.exitCode).toBe(2);
    expect(both.stderr).toContain('the folder is given twice');
    expect((await kubePki(['check', pki, '--out', pki])).exitCode).toBe(0);
  });
});

describe('kube-pki script on macOS', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => ({ dir, cleanup } = await tempDir()));
  afterAll(() => cleanup());

  it('needs no GNU-only base64 flag, and its kubeconfigs are still what the tool writes', async () => {
    const r = await kubePki(['script'], { cwd: dir });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).not.toMatch(/base64 -w/);
    await writeFile(join(dir, 'gen-pki.sh'), r.stdout);
    // A BSD base64, as macOS has: no -w option.
    const bin = join(dir, 'bsd-bin');
    await mkdir(bin);
    await writeFile(
      join(bin, 'base64'),
      '#!/bin/sh\nfor a in "$@"; do case "$a" in -w*) echo "base64: illegal option -- w" >&2; exit 64;; esac; done\nexec /usr/bin/base64 "$@"\n',
    );
    await chmod(join(bin, 'base64'), 0o755);
    const out = join(dir, 'by-hand');
    await mkdir(out, { mode: 0o700 });
    const run = await execa('bash', [join(dir, 'gen-pki.sh')], { cwd: out, reject: false, env: { PATH: `${bin}:${process.env.PATH}` } });
    expect(run.exitCode, run.stderr).toBe(0);
    const again = await kubePki(['gen', '--out', out]);
    expect(again.exitCode, again.stdout + again.stderr).toBe(0);
    expect(again.stdout).toContain('0 created, 0 re-issued, 18 kept, 0 stale, 0 failed');
    // Byte for byte: the tool renders the same kubeconfigs from the script's certificates.
    const kubeconfigs = (await readdir(out)).filter((f) => f.endsWith('.kubeconfig'));
    expect(kubeconfigs).toHaveLength(6);
    const byScript = new Map(await Promise.all(kubeconfigs.map(async (f) => [f, await readFile(join(out, f), 'utf8')] as const)));
    for (const f of kubeconfigs) await rm(join(out, f));
    expect((await kubePki(['gen', '--out', out])).exitCode).toBe(0);
    for (const f of kubeconfigs) expect(await readFile(join(out, f), 'utf8'), f).toBe(byScript.get(f));
  });
});
