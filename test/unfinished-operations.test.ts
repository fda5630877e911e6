import { access, mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubePki, tempDir } from './helpers/cli.js';
import { hashes } from './helpers/rotation.js';
import { SMALL_CLUSTER } from './helpers/small-cluster.js';
import { defaultCluster } from '../src/cluster/load.js';
import { runLocked } from '../src/exec/run-locked.js';
import { instancesFor } from '../src/pki.js';

// Every operation sees what an earlier one left unfinished (issue 22, item 3): a gen --replace-ca
// killed half-way leaves a new CA beside leaves the old one signed; only gen may finish that.

describe('an unfinished operation is refused or rolled forward by every other', () => {
  let dir: string;
  let config: string;
  let cleanup: () => Promise<void>;
  const cli = (args: string[], pki: string, env: Record<string, string> = {}) => kubePki([...args, '--config', config, '--out', pki], { env });

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    config = join(dir, 'cluster.yaml');
    await writeFile(config, SMALL_CLUSTER);
  });
  afterAll(() => cleanup());

  it('after a killed gen --replace-ca: rotate-ca, renew, renew-ca, csr and distribute refuse (dry runs too) and name gen; gen finishes it', async () => {
    const pki = join(dir, 'replacing');
    expect((await cli(['gen'], pki)).exitCode).toBe(0);
    const killed = await cli(['gen', '--replace-ca'], pki, { KUBE_PKI_TEST_STOP_AFTER_RENAME: '4' });
    expect(killed.signal, killed.stderr).toBe('SIGKILL');
    await access(join(pki, '.kube-pki-replacing-ca.json'));
    const before = await hashes(pki);
    for (const args of [
      ['rotate-ca', 'start'],
      ['rotate-ca', 'start', '--dry-run'],
      ['rotate-ca', 'reissue'],
      ['rotate-ca', 'finish'],
      ['renew', '--all'],
      ['renew', '--all', '--dry-run'],
      ['renew-ca'],
      ['renew-ca', '--dry-run'],
      ['csr'],
      ['distribute', '--dry-run'],
    ]) {
      const r = await cli(args, pki);
      expect(r.exitCode, `${args.join(' ')}: ${r.stdout}${r.stderr}`).toBe(2);
      expect(r.stderr).toContain('an interrupted kube-pki gen --replace-ca left ca replaced');
      expect(r.stderr).toContain('run kube-pki gen with the same --config and --out');
    }
    expect(await hashes(pki)).toEqual(before);
    expect((await cli(['gen'], pki)).exitCode).toBe(0);
    const start = await cli(['rotate-ca', 'start', '--json'], pki);
    expect(start.exitCode, start.stderr).toBe(0);
  }, 120_000);

  it('runLocked checks under the lock, before it plans: a replacement recorded after the command started is seen', async () => {
    const pki = join(dir, 'under-lock');
    await mkdir(pki, { mode: 0o700 });
    await writeFile(join(pki, '.kube-pki-replacing-ca.json'), '{"cas":["ca"]}\n', { mode: 0o600 });
    let planned = false;
    const plan = async () => ((planned = true), { profile: 'hardway', items: [] });
    const run = runLocked(plan, pki, { operation: 'renew', instances: instancesFor(defaultCluster()), silent: true });
    await expect(run).rejects.toThrow(/renew: an interrupted kube-pki gen --replace-ca left ca replaced/);
    expect(planned).toBe(false);
    expect(await readdir(pki)).toEqual(['.kube-pki-replacing-ca.json']); // the lock released
  });

  it('a dry run cannot roll an interrupted install forward: it says the real run will complete it first', async () => {
    const pki = join(dir, 'promised');
    expect((await cli(['gen'], pki)).exitCode).toBe(0);
    // The second step boundary: the CA's pair promised, its first file renamed into place.
    const killed = await cli(['gen', '--replace-ca'], pki, { KUBE_PKI_TEST_STOP_AFTER_RENAME: '2' });
    expect(killed.signal).toBe('SIGKILL');
    const dry = await cli(['gen', '--dry-run'], pki);
    expect(dry.exitCode, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/^note: an interrupted run had promised to install ca\.(key|crt), ca\.(crt|key); the real run completes that first/m);
    expect((await cli(['gen'], pki)).exitCode).toBe(0);
    expect((await cli(['gen', '--dry-run'], pki)).stdout).not.toContain('an interrupted run');
  }, 120_000);

  it('mid-rotation, gen refuses alike with and without --dry-run or --force, and names rotate-ca', async () => {
    const pki = join(dir, 'rotating');
    expect((await cli(['gen'], pki)).exitCode).toBe(0);
    expect((await cli(['rotate-ca', 'start'], pki)).exitCode).toBe(0);
    for (const args of [['gen'], ['gen', '--dry-run'], ['gen', '--force', '--dry-run'], ['gen', '--force'], ['renew', '--all', '--dry-run']]) {
      const r = await cli(args, pki);
      expect(r.exitCode, `${args.join(' ')}: ${r.stdout}${r.stderr}`).toBe(2);
      expect(r.stderr).toContain('a CA rotation is under way here');
    }
  }, 120_000);
});
