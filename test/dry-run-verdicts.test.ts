import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubePki, tempDir } from './helpers/cli.js';
import { changedFiles, hashes, ROOT_HARDWAY_YAML } from './helpers/rotation.js';

// A dry run makes every check the real run makes and exits as it would (issue 22, item 13): under a
// root CA, no or a wrong passphrase is exit 2 in both.

describe('dry runs give the real run\'s verdict', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let config: string;
  let out: string;
  let wrong: string;
  const NO_ENV = { KUBE_PKI_CA_PASSPHRASE_FILE: '' };

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    const pass = join(dir, 'root.pass');
    await writeFile(pass, 'the root passphrase 22\n', { mode: 0o600 });
    wrong = join(dir, 'wrong.pass');
    await writeFile(wrong, 'not it\n', { mode: 0o600 });
    config = join(dir, 'cluster.yaml');
    await writeFile(config, ROOT_HARDWAY_YAML);
    out = join(dir, 'pki');
    const gen = await kubePki(['gen', '--config', config, '--out', out, '--ca-passphrase-file', pass]);
    expect(gen.exitCode, gen.stderr).toBe(0);
  });
  afterAll(() => cleanup());

  it.each([
    ['rotate-ca start', ['rotate-ca', 'start']],
    ['gen --replace-ca', ['gen', '--replace-ca']],
  ])('%s: no or a wrong passphrase is exit 2 with and without --dry-run, nothing written', async (_label, verb) => {
    const before = await hashes(out);
    for (const extra of [[], ['--ca-passphrase-file', wrong]]) {
      const verdicts = [];
      for (const dry of [['--dry-run'], []]) {
        const r = await kubePki([...verb, ...dry, ...extra, '--config', config, '--out', out], { env: NO_ENV });
        verdicts.push({ exit: r.exitCode, says: extra.length ? r.stderr.includes('cannot decrypt root-ca.key') : r.stderr.includes('--ca-passphrase-file') });
      }
      expect(verdicts, `${verb.join(' ')} ${extra.join(' ')}`).toEqual([
        { exit: 2, says: true },
        { exit: 2, says: true },
      ]);
    }
    expect(changedFiles(before, await hashes(out))).toEqual([]);
  }, 60_000);
});

describe('a passphrase file that works but is risky gets a warning naming the problem', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => ({ dir, cleanup } = await tempDir()));
  afterAll(() => cleanup());

  it('CRLF line ending and a mode others can read: two warnings; a clean 0600 file: none', async () => {
    const config = join(dir, 'cluster.yaml');
    await writeFile(config, ROOT_HARDWAY_YAML);
    const risky = join(dir, 'risky.pass');
    await writeFile(risky, 'crlf secret 21\r\n', { mode: 0o644 });
    const clean = join(dir, 'clean.pass');
    await writeFile(clean, 'crlf secret 21\n', { mode: 0o600 });
    const run = (pass: string) => kubePki(['gen', '--dry-run', '--config', config, '--out', join(dir, 'pki'), '--ca-passphrase-file', pass]);
    const r = await run(risky);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain(`warning: --ca-passphrase-file ${JSON.stringify(risky)}: its first line ends with a carriage return (CRLF`);
    expect(r.stderr).toContain(`readable or writable by others (mode 644)`);
    expect(r.stderr).not.toContain('crlf secret 21');
    const ok = await run(clean);
    expect(ok.exitCode, ok.stderr).toBe(0);
    expect(ok.stderr).not.toContain('warning:');
  });
});
