import { execa } from 'execa';
import { readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, tempDir } from './helpers/cli.js';
import { SMALL_CLUSTER } from './helpers/small-cluster.js';

// Local durability, seen from the system calls: strace records every fsync (-y: with the path of its
// file descriptor), and injects a real EIO into the fsync of one folder (-P: only calls on that path).

/** Runs the CLI under strace; returns the result and the paths fsync was called on. */
async function traced(args: string[], strace: string[], trace: string) {
  const r = await execa('strace', ['-f', '-qq', '-y', '-o', trace, '-e', 'trace=fsync', ...strace, 'node', CLI, ...args], { reject: false, env: { CI: '1' } });
  const synced = [...(await readFile(trace, 'utf8')).matchAll(/fsync\(\d+<([^>]*)>/g)].map((m) => m[1]!);
  return { ...r, synced };
}

describe('local folder syncs', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let config: string;
  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('kube-pki-sync-'));
    config = join(dir, 'cluster.yaml');
    await writeFile(config, SMALL_CLUSTER);
  });
  afterAll(() => cleanup());

  it('new parent folders, backups and their folder are synced, besides each folder a file is renamed into', async () => {
    const pki = join(dir, 'new/parents/pki');
    const first = await traced(['gen', '--config', config, '--out', pki], [], join(dir, 'trace-1'));
    expect(first.exitCode, first.stderr).toBe(0);
    for (const folder of [dir, join(dir, 'new'), join(dir, 'new/parents'), pki]) expect(first.synced, folder).toContain(folder);

    await writeFile(config, SMALL_CLUSTER.replace('extraSANs: []', 'extraSANs: [api.example.internal]'));
    try {
      const forced = await traced(['gen', '--config', config, '--out', pki, '--force'], [], join(dir, 'trace-2'));
      expect(forced.exitCode, forced.stderr).toBe(0);
      const backup = join(pki, (await readdir(pki)).find((f) => f.startsWith('backup-'))!);
      expect(forced.synced).toContain(join(backup, 'kube-apiserver.crt')); // the copy's bytes
      expect(forced.synced).toContain(backup); // its entry in the backup folder
      expect(forced.synced).toContain(pki); // the new backup folder's entry, and the renames
    } finally {
      await writeFile(config, SMALL_CLUSTER);
    }
  });

  it('a folder sync that fails (EIO) is reported as the item\'s error, exit 1', async () => {
    const pki = join(dir, 'eio');
    const gen = await execa('node', [CLI, 'gen', '--config', config, '--out', pki], { reject: false, env: { CI: '1' } });
    expect(gen.exitCode).toBe(0);
    await rm(join(pki, 'admin.kubeconfig'));
    const r = await traced(['gen', '--config', config, '--out', pki], ['-P', pki, '-e', 'inject=fsync:error=EIO'], join(dir, 'trace-3'));
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(`error: admin.kubeconfig: cannot sync the folder ${pki} to disk: EIO`);
  });
});
