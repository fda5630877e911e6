import { execa } from 'execa';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { limiter } from '../src/util/limit.js';
import { CLI, tempDir } from './helpers/cli.js';

// The CA's key gates every signature: gen asks for a core for it before anything else and keeps
// that core for the CA's request and certificate (the critical path first).
describe('the order a run uses its cores in', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => ({ dir, cleanup } = await tempDir()));
  afterAll(() => cleanup());

  it('the limiter starts an urgent task ahead of the ordinary ones waiting, each lane in order', async () => {
    const limit = limiter(1);
    const started: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const task = (name: string, wait?: Promise<void>) => async () => {
      started.push(name);
      await wait;
    };
    const all = [limit(task('first', gate)), limit(task('a')), limit(task('b')), limit(task('ca-1'), true), limit(task('c')), limit(task('ca-2'), true)];
    release();
    await Promise.all(all);
    expect(started).toEqual(['first', 'ca-1', 'ca-2', 'a', 'b', 'c']);
  });

  it('gen: the CA key is the first openssl genrsa, its certificate comes before any leaf certificate', async () => {
    const trace = join(dir, 'trace');
    const out = join(dir, 'pki');
    const r = await execa('strace', ['-f', '-qq', '-s', '512', '-o', trace, '-e', 'trace=execve', '-e', 'signal=none', process.execPath, CLI, 'gen', '--out', out], {
      reject: false,
      env: { CI: '1' },
    });
    expect(r.exitCode, r.stderr).toBe(0);
    const runs = [...(await readFile(trace, 'utf8')).matchAll(/execve\("[^"]*openssl", \["[^"]*", "(genrsa|req|ca)", [^\]]*?"[^"]*\/\.kube-pki-tmp\/([a-z0-9-]+)-[A-Za-z0-9]{6}\//g)].map(
      (m) => `${m[1]} ${m[2]}`,
    );
    expect(runs).toHaveLength(33);
    expect(runs[0]).toBe('genrsa ca');
    const caCert = runs.indexOf('ca ca'); // openssl ca signs (its -startdate backdates)
    expect(runs.findIndex((r) => r.startsWith('ca ') && r !== 'ca ca')).toBeGreaterThan(caCert);
    // The CA keeps its core for its request and certificate: no leaf key waiting takes it in between
    // (the other core may start one thing meanwhile).
    expect(caCert - runs.indexOf('req ca')).toBeLessThanOrEqual(2);
  });
});
