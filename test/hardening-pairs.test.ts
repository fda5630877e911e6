import { X509Certificate, createPrivateKey } from 'node:crypto';
import { chmod, cp, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubePki, tempDir } from './helpers/cli.js';
import { SMALL_CLUSTER } from './helpers/small-cluster.js';

// A run killed between the renames of a key and its certificate: stopped after every rename in turn
// (KUBE_PKI_TEST_STOP_AFTER_RENAME=N makes the CLI SIGKILL itself right after its Nth rename).

const CLUSTER = SMALL_CLUSTER;

const SIGKILL = 'SIGKILL';

/** Every private key in the folder matches its certificate, and every kubeconfig its embedded pair. */
async function pairProblems(pki: string): Promise<string[]> {
  const problems: string[] = [];
  const files = (await readdir(pki)).filter((f) => !f.startsWith('.') && !f.startsWith('backup-'));
  for (const key of files.filter((f) => f.endsWith('.key'))) {
    const crt = key.replace(/\.key$/, '.crt');
    if (!files.includes(crt)) continue;
    const matches = new X509Certificate(await readFile(join(pki, crt))).checkPrivateKey(createPrivateKey(await readFile(join(pki, key))));
    if (!matches) problems.push(`${key} does not match ${crt}`);
  }
  for (const kc of files.filter((f) => f.endsWith('.kubeconfig'))) {
    const user = (parse(await readFile(join(pki, kc), 'utf8')) as { users: { user: Record<string, string> }[] }).users[0]!.user;
    const cert = new X509Certificate(Buffer.from(user['client-certificate-data']!, 'base64'));
    if (!cert.checkPrivateKey(createPrivateKey(Buffer.from(user['client-key-data']!, 'base64')))) problems.push(`${kc}: its key does not match its certificate`);
  }
  return problems;
}

/** Complete and consistent: every pair matches, every certificate is signed by ca.crt; `check` agrees when asked. */
async function assertConsistent(pki: string, config?: string): Promise<void> {
  expect(await pairProblems(pki)).toEqual([]);
  const ca = new X509Certificate(await readFile(join(pki, 'ca.crt')));
  for (const crt of (await readdir(pki)).filter((f) => f.endsWith('.crt') && f !== 'ca.crt'))
    expect(new X509Certificate(await readFile(join(pki, crt))).verify(ca.publicKey), crt).toBe(true);
  if (!config) return;
  const check = await kubePki(['check', '--config', config, '--out', pki]);
  expect(check.exitCode, check.stdout).toBe(0);
}

describe('a key and its certificate are installed together', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let config: string;
  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('kube-pki-pairs-'));
    config = join(dir, 'cluster.yaml');
    await writeFile(config, CLUSTER);
  });
  afterAll(() => cleanup());

  /**
   * Prepares a PKI, then for N = 1, 2, … runs `args` on a fresh copy of it, killed right after its
   * Nth rename, until a run is not killed (N has passed every boundary). After each kill: a plain
   * `gen` completes (exit 0, or 3 for what the interrupted command was still to re-issue unless
   * `plainFinishes`) with every key beside its own certificate; then the same command again leaves a
   * complete, consistent PKI.
   */
  async function killAtEveryRename(
    name: string,
    args: string[],
    { prepare = async () => undefined, plainFinishes = false }: { prepare?: (pki: string) => Promise<void>; plainFinishes?: boolean } = {},
  ): Promise<number> {
    const base = join(dir, `${name}-base`);
    expect((await kubePki(['gen', '--config', config, '--out', base])).exitCode).toBe(0);
    await prepare(base);
    const command = [...args, '--config', config, '--concurrency', '1'];
    for (let n = 1; n < 200; n++) {
      const pki = join(dir, `${name}-${n}`);
      await cp(base, pki, { recursive: true });
      const killed = await kubePki([...command, '--out', pki], { env: { KUBE_PKI_TEST_STOP_AFTER_RENAME: String(n) } });
      if (killed.signal !== SIGKILL) {
        expect(killed.exitCode, killed.stderr).toBe(0);
        await assertConsistent(pki, config);
        await rm(pki, { recursive: true });
        return n - 1;
      }
      const plain = await kubePki(['gen', '--config', config, '--out', pki]);
      expect(plainFinishes ? [0] : [0, 3], `${name}, killed after rename ${n}: gen: ${plain.stdout}${plain.stderr}`).toContain(plain.exitCode);
      expect(await pairProblems(pki), `${name}, killed after rename ${n}, then gen`).toEqual([]);
      if (plainFinishes) await assertConsistent(pki);
      // When the plain gen finished it already, the same command again (a further full run) only now and then: it is slow.
      if (plainFinishes && n % 4 !== 0) {
        await rm(pki, { recursive: true });
        continue;
      }
      const again = await kubePki([...command, '--out', pki]);
      expect(again.exitCode, `${name}, killed after rename ${n}, then again: ${again.stderr}`).toBe(0);
      await assertConsistent(pki, n % 5 === 0 ? config : undefined); // check's own view now and then: it is slower
      await rm(pki, { recursive: true });
    }
    throw new Error(`${name}: still killed after 200 renames`);
  }

  it('gen --replace-ca: the CA key and certificate, killed after every rename; a plain gen then finishes the replacement', async () => {
    expect(await killAtEveryRename('replace-ca', ['gen', '--replace-ca'], { plainFinishes: true })).toBeGreaterThan(10);
  }, 300_000);

  it('gen --force with new keys (keys removed, a SAN added), killed after every rename', async () => {
    const prepare = async (pki: string) => {
      for (const key of ['worker-1.key', 'admin.key', 'kube-apiserver.key']) await rm(join(pki, key));
      await writeFile(config, CLUSTER.replace('extraSANs: []', 'extraSANs: [api.example.internal]'));
    };
    try {
      expect(await killAtEveryRename('force', ['gen', '--force'], { prepare })).toBeGreaterThan(5);
    } finally {
      await writeFile(config, CLUSTER);
    }
  }, 300_000);

  it('renew --new-key (a certificate with a kubeconfig, one without), killed after every rename', async () => {
    expect(await killAtEveryRename('renew', ['renew', 'worker-1', 'kube-apiserver', '--new-key'])).toBeGreaterThan(5);
  }, 300_000);

  it('a key generation that fails once (openssl#18321) is tried again', async () => {
    // An `openssl` earlier on PATH that fails the first key generation only and runs the real one otherwise.
    const bin = join(dir, 'bin');
    await mkdir(bin);
    const marker = join(dir, 'failed-once');
    await writeFile(
      join(bin, 'openssl'),
      `#!/bin/sh\ncase "$1" in genrsa|genpkey) if [ ! -e ${marker} ]; then : > ${marker}; echo "simulated key generation failure" >&2; exit 1; fi;; esac\nexec /usr/bin/openssl "$@"\n`,
    );
    await chmod(join(bin, 'openssl'), 0o755);
    const pki = join(dir, 'retry');
    const r = await kubePki(['gen', '--config', config, '--out', pki, '--concurrency', '1'], { env: { PATH: `${bin}:${process.env.PATH}` } });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(await readFile(marker, 'utf8')).toBe(''); // the wrapper did fail one generation
    await assertConsistent(pki, config);
  });
});
