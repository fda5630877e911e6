import { chmod, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { checkOpenssl, runOpenssl } from '../src/openssl/run.js';
import { opensslBinary, spawnOpenssl } from '../src/openssl/spawn.js';
import { CLI, tempDir } from './helpers/cli.js';

// The openssl processes of a run start through node:child_process (src/openssl/spawn.ts): what
// openssl says on failure must still reach the user, whichever way it failed.
describe('running openssl', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  const path = process.env.PATH;
  beforeAll(async () => ({ dir, cleanup } = await tempDir()));
  afterAll(() => cleanup());
  afterEach(() => {
    process.env.PATH = path;
  });

  /** A folder holding an `openssl` that runs SCRIPT (a stand-in where the real one cannot fail on cue). */
  async function fakeOpenssl(name: string, script: string): Promise<string> {
    const bin = join(dir, name);
    await mkdir(bin, { recursive: true });
    await writeFile(join(bin, 'openssl'), `#!/bin/sh\n${script}\n`);
    await chmod(join(bin, 'openssl'), 0o755);
    return bin;
  }

  it('a failing step: its name, exit code and openssl own words; stderr kept in the step folder only', async () => {
    const cwd = join(dir, 'step');
    await mkdir(cwd);
    const error = await runOpenssl(['req', '-new', '-key', 'no-such.key', '-subj', '/CN=x', '-out', 'x.csr'], cwd).catch((e: Error) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/^openssl req failed \(exit 1\): .*no-such\.key/);
    expect(await readdir(cwd)).toEqual(['.openssl-stderr']);
  });

  it('a step that succeeds writes its output and says nothing', async () => {
    const cwd = join(dir, 'ok');
    await mkdir(cwd);
    await runOpenssl(['genrsa', '-out', 'k.key', '2048'], cwd);
    expect((await readdir(cwd)).sort()).toEqual(['.openssl-stderr', 'k.key']);
  });

  it('openssl killed by a signal is reported as such', async () => {
    process.env.PATH = await fakeOpenssl('killed', 'kill -9 $$');
    const error = await runOpenssl(['genrsa', '-out', 'k.key', '2048'], dir).catch((e: Error) => e);
    expect((error as Error).message).toMatch(/^openssl genrsa failed \(killed by SIGKILL\)/);
  });

  it('retries a failed key generation once (openssl#18321), then reports it', async () => {
    const count = join(dir, 'count');
    process.env.PATH = await fakeOpenssl('flaky', `echo x >>'${count}'\necho "genrsa: transient failure" >&2\nexit 1`);
    const error = await runOpenssl(['genrsa', '-out', 'k.key', '2048'], dir, { retries: 1 }).catch((e: Error) => e);
    expect((error as Error).message).toBe('openssl genrsa failed (exit 1): genrsa: transient failure');
    expect(await readFile(count, 'utf8')).toBe('x\nx\n');
  });

  it('no openssl on PATH (relative entries are not searched): the same clear error as before', async () => {
    process.env.PATH = `${join(dir, 'empty')}:bin:.`;
    expect(opensslBinary()).toBeUndefined();
    await expect(runOpenssl(['version'], dir)).rejects.toThrow('openssl was not found on PATH');
    await expect(checkOpenssl()).rejects.toThrow('openssl was not found on PATH');
    expect((await spawnOpenssl(['version'], dir)).missing).toBe(true);
  });

  it('finds openssl on PATH again when PATH changes, and reads its version', async () => {
    process.env.PATH = `${join(dir, 'empty')}`;
    expect(opensslBinary()).toBeUndefined();
    process.env.PATH = path;
    expect(opensslBinary()).toMatch(/\/openssl$/);
    expect(await checkOpenssl()).toMatch(/^OpenSSL 3\./);
  });

  it('kube-pki stopped by SIGTERM takes its openssl processes with it', async () => {
    const out = join(dir, 'stopped');
    const config = join(dir, 'twenty.yaml');
    const workers = Array.from({ length: 20 }, (_, i) => `  - { name: worker-${i + 1}, address: 10.1.0.${i + 1}, role: worker }`);
    await writeFile(config, ['apiServer: { endpoint: 10.0.0.11 }', 'nodes:', '  - { name: master-1, address: 10.0.0.11, role: controlplane }', ...workers, ''].join('\n'));
    const run = execa(process.execPath, [CLI, 'gen', '--config', config, '--out', out], { reject: false, env: { CI: '1' } });
    const running = () => execa('pgrep', ['-f', `genrsa -out ${out}/`], { reject: false });
    for (let i = 0; i < 200 && (await running()).exitCode !== 0; i++) await new Promise((r) => setTimeout(r, 25));
    expect((await running()).exitCode, 'an openssl genrsa of the run').toBe(0);
    run.kill('SIGTERM');
    expect((await run).signal).toBe('SIGTERM');
    expect((await running()).stdout, 'openssl processes left behind').toBe('');
  }, 60_000);
});
