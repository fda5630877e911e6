import { execa } from 'execa';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, kubePki, tempDir } from './helpers/cli.js';

// Ctrl-C (SIGINT) in the middle of a gen: kube-pki says what was interrupted and that running again
// completes it, releases its lock and removes its half-made files; the next run completes the PKI.

describe('an interrupted gen (Ctrl-C)', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let config: string;
  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('kube-pki-interrupt-'));
    config = join(dir, 'cluster.yaml');
    // Twenty workers with RSA keys, one openssl at a time: long enough to be interrupted in the middle.
    const workers = Array.from({ length: 20 }, (_, i) => `  - { name: worker-${i + 1}, address: 10.1.0.${i + 1}, role: worker }`);
    await writeFile(config, ['apiServer: { endpoint: 10.0.0.11 }', 'nodes:', '  - { name: master-1, address: 10.0.0.11, role: controlplane }', ...workers, ''].join('\n'));
  });
  afterAll(() => cleanup());

  it.each(['SIGINT', 'SIGTERM'] as const)('%s: a message, the lock and half-made files gone; gen again completes the PKI', async (signal) => {
    const out = join(dir, `pki-${signal}`);
    const run = execa(process.execPath, [CLI, 'gen', '--config', config, '--out', out, '--concurrency', '1'], { reject: false, env: { CI: '1' } });
    // Interrupted once some files are in place and more are being made.
    const entries = () => readdir(out).catch(() => [] as string[]);
    for (let i = 0; i < 400 && !(await entries()).some((f) => f.endsWith('.kubeconfig')); i++) await new Promise((r) => setTimeout(r, 25));
    expect(await entries()).toContain('.kube-pki.lock');
    run.kill(signal);
    const r = await run;
    expect(r.signal, r.stderr).toBe(signal);
    expect(r.stderr).toContain(`kube-pki: interrupted by ${signal}: kube-pki gen --config ${config} --out ${out} --concurrency 1 (in ${out})`);
    expect(r.stderr).toContain(`the lock ${join(out, '.kube-pki.lock')} is released`);
    expect(r.stderr).toContain('run the same command again: it completes what was begun');
    const left = await readdir(out);
    expect(left).not.toContain('.kube-pki.lock');
    // Half-made files are gone; an item that had promised its files (caught between its renames) stays for the next run.
    const promised = await readdir(join(out, '.kube-pki-tmp')).catch(() => [] as string[]);
    if (r.stderr.includes('had promised their files')) expect(promised.length).toBeGreaterThan(0);
    for (const item of promised) expect(await readdir(join(out, '.kube-pki-tmp', item)), item).toContain('install-intent.json');
    const again = await kubePki(['gen', '--config', config, '--out', out]);
    expect(again.exitCode, again.stderr).toBe(0);
    const check = await kubePki(['check', '--config', config, '--out', out]);
    expect(check.exitCode, check.stdout).toBe(0);
  }, 120_000);
});
