import { chmod, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, tempDir } from './helpers/cli.js';

// The CLI runs with a PATH of our choosing: no openssl at all, or one that reports an old version.
async function genWithPath(path: string, out: string) {
  return execa(process.execPath, [CLI, 'gen', '--out', out], { reject: false, stdin: 'ignore', env: { PATH: path, CI: '1' }, extendEnv: false });
}

describe('openssl on the machine', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => ({ dir, cleanup } = await tempDir()));
  afterAll(() => cleanup());

  it('missing: a clear error, exit 1, nothing written', async () => {
    const r = await genWithPath(join(dir, 'empty-bin'), join(dir, 'out-missing'));
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('openssl was not found on PATH');
    await expect(readdir(join(dir, 'out-missing'))).rejects.toThrow(/ENOENT/);
  });

  it('too old: names the version it found and the one it needs', async () => {
    const bin = join(dir, 'old-bin');
    await execa('mkdir', ['-p', bin]);
    // Stands in for an OpenSSL 1.1.1 install: only `openssl version` is ever asked of it.
    await writeFile(join(bin, 'openssl'), '#!/bin/sh\necho "OpenSSL 1.1.1w  11 Sep 2023"\n');
    await chmod(join(bin, 'openssl'), 0o755);
    const r = await genWithPath(bin, join(dir, 'out-old'));
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('OpenSSL 1.1.1 is too old; kube-pki needs OpenSSL 3.0 or newer');
    await expect(readdir(join(dir, 'out-old'))).rejects.toThrow(/ENOENT/);
  });
});
