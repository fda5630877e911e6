import { execa } from 'execa';
import { hostname } from 'node:os';
import { chmod, chown, readFile, readdir, utimes, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { lockOutDir } from '../src/exec/lock.js';
import { CLI, kubePki, tempDir } from './helpers/cli.js';
import { SMALL_CLUSTER } from './helpers/small-cluster.js';

// One kube-pki at a time per output folder: the lock names its owner from its first moment and is
// taken over only when that owner is gone.

const LOCK = '.kube-pki.lock';
const BUSY = /another kube-pki \(pid \d+\) is working in/;

/** The small cluster, its nodes reachable on 127.0.0.1 port 9 (never reached: the lock stops every run first). */
const withSsh = (identity: string) => {
  const c = parse(SMALL_CLUSTER) as { ssh?: object; nodes: { ssh?: object }[] };
  c.ssh = { port: 9, user: 'nobody', identityFile: identity };
  for (const n of c.nodes) n.ssh = { host: '127.0.0.1' };
  return stringify(c);
};

/** Linux start time of a process (field 22 of /proc/PID/stat), as kube-pki records it in the lock. */
async function startTime(pid: number): Promise<string> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]!;
}

describe('the output folder lock', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let config: string;
  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('kube-pki-lock-'));
    config = join(dir, 'cluster.yaml');
    await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'id')]);
    await writeFile(config, withSsh(join(dir, 'id')));
  });
  afterAll(() => cleanup());

  it('two gen started together, 20 times: one works, the other stops with the lock error; the folder is consistent', async () => {
    for (let round = 0; round < 20; round++) {
      const pki = join(dir, `together-${round}`);
      // --concurrency 1: one openssl at a time, a run long enough that both are surely under way at once.
      const args = ['gen', '--config', config, '--out', pki, '--concurrency', '1'];
      const [a, b] = await Promise.all([kubePki(args), kubePki(args)]);
      const codes = [a.exitCode, b.exitCode].sort();
      expect(codes, `round ${round}: ${a.stderr} / ${b.stderr}`).toEqual([0, 1]);
      const loser = a.exitCode === 1 ? a : b;
      expect(loser.stderr).toMatch(BUSY);
      const check = await kubePki(['check', '--config', config, '--out', pki]);
      expect(check.exitCode, `round ${round}: ${check.stdout}`).toBe(0);
      expect((await readdir(pki)).filter((f) => f.startsWith(LOCK))).toEqual([]);
    }
  }, 600_000);

  it('a lock that names no owner is held while it is young, and taken over once it is old', async () => {
    const pki = join(dir, 'ownerless');
    await mkdir(pki, { mode: 0o700 });
    await writeFile(join(pki, LOCK), ''); // as a run cut between creating and writing it leaves it
    const held = await kubePki(['gen', '--config', config, '--out', pki]);
    expect(held.exitCode).toBe(1);
    expect(held.stderr).toMatch(/\.kube-pki\.lock names no owner and is \d+ s old: another kube-pki may be starting/);
    expect(await readdir(pki)).toEqual([LOCK]); // nothing written
    const old = new Date(Date.now() - 5 * 60_000);
    await utimes(join(pki, LOCK), old, old);
    const taken = await kubePki(['gen', '--config', config, '--out', pki]);
    expect(taken.exitCode, taken.stderr).toBe(0);
    expect((await readdir(pki)).filter((f) => f.startsWith(LOCK))).toEqual([]);
  });

  it("is taken over when its owner is gone (a killed run, or a PID now another process's), and held while it runs", async () => {
    const pki = join(dir, 'owners');
    await mkdir(pki, { mode: 0o700 });
    const lock = (owner: object) => writeFile(join(pki, LOCK), `${JSON.stringify(owner)}\n`);
    const me = { pid: process.pid, host: hostname(), started: await startTime(process.pid) };

    await lock(me); // this test process: alive, the same start time
    const held = await kubePki(['gen', '--config', config, '--out', pki]);
    expect(held.exitCode).toBe(1);
    expect(held.stderr).toContain(`another kube-pki (pid ${process.pid}) is working in ${pki}`);
    expect(await readdir(pki)).toEqual([LOCK]);

    await lock({ ...me, host: 'another-machine.invalid' }); // a shared folder: another machine's run is never judged from here
    const elsewhere = await kubePki(['gen', '--config', config, '--out', pki]);
    expect(elsewhere.exitCode).toBe(1);
    expect(elsewhere.stderr).toContain(`another kube-pki (pid ${process.pid} on another-machine.invalid)`);

    await lock({ ...me, started: '1' }); // the same PID, another process: the owner is gone
    const reused = await kubePki(['gen', '--config', config, '--out', pki, '--dry-run']);
    expect(reused.exitCode).toBe(0); // a dry run takes no lock
    const taken = await kubePki(['gen', '--config', config, '--out', pki]);
    expect(taken.exitCode, taken.stderr).toBe(0);

    const gone = execa('true');
    await gone;
    await lock({ pid: gone.pid, host: hostname() }); // a process that has exited
    const again = await kubePki(['gen', '--config', config, '--out', pki]);
    expect(again.exitCode, again.stderr).toBe(0);
    expect((await readdir(pki)).filter((f) => f.startsWith(LOCK))).toEqual([]);
  });

  it('distribute and check --remote read the PKI under the lock: a running gen stops them before they connect', async () => {
    const pki = join(dir, 'remote');
    expect((await kubePki(['gen', '--config', config, '--out', pki])).exitCode).toBe(0);
    await writeFile(join(pki, LOCK), `${JSON.stringify({ pid: process.pid, host: hostname(), started: await startTime(process.pid) })}\n`);
    for (const args of [['distribute'], ['check', '--remote'], ['distribute', '--verify']]) {
      const r = await kubePki([...args, '--config', config, '--out', pki]);
      expect(r.exitCode, `${args.join(' ')}: ${r.stdout}`).toBe(1);
      expect(r.stderr, args.join(' ')).toMatch(BUSY);
    }
  });

  it("a lock this user cannot read (another user's, e.g. a sudo kube-pki's) is held, even when old", async () => {
    const NOBODY = 65534;
    const shared = join(dir, 'shared');
    await mkdir(shared, { mode: 0o755 });
    await chmod(dir, 0o755);
    const pki = join(shared, 'pki');
    await mkdir(pki, { mode: 0o700 });
    await chown(pki, NOBODY, NOBODY);
    const lock = join(pki, LOCK);
    // root's lock, 0600: its owner runs on (this test process), but nobody cannot read that.
    await writeFile(lock, `${JSON.stringify({ pid: process.pid, host: hostname(), started: await startTime(process.pid) })}\n`, { mode: 0o600 });
    const old = new Date(Date.now() - 5 * 60_000);
    await utimes(lock, old, old);
    const r = await execa('node', [CLI, 'gen', '--config', config, '--out', pki], { uid: NOBODY, gid: NOBODY, reject: false, stdin: 'ignore', env: { CI: '1', HOME: shared } });
    expect(r.exitCode, r.stdout + r.stderr).toBe(1);
    expect(r.stderr).toContain(`${lock} belongs to another user (uid 0) and this user cannot read it`);
    expect(await readdir(pki)).toEqual([LOCK]); // still there, nothing written
  });

  it('a lock released while another run looks at it is never reported as naming no owner', async () => {
    const pki = join(dir, 'race');
    await mkdir(pki, { mode: 0o700 });
    let stop = false;
    // One run takes and releases the lock as fast as it can; the other keeps trying to take it.
    const churn = (async () => {
      while (!stop) await (await lockOutDir(pki).catch(() => async () => undefined))();
    })();
    const messages = new Set<string>();
    for (let i = 0; i < 3000; i++) {
      const unlock = await lockOutDir(pki).catch((err: Error) => {
        messages.add(err.message.replace(/\d+/g, 'N'));
        return null;
      });
      await unlock?.();
    }
    stop = true;
    await churn;
    expect([...messages].filter((m) => m.includes('names no owner'))).toEqual([]);
    expect([...messages].every((m) => /another kube-pki \(pid N\) is working in/.test(m)), [...messages].join('\n')).toBe(true);
  });
});
