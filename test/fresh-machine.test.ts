import { execa } from 'execa';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, tempDir } from './helpers/cli.js';

// The README's one test command on a fresh machine: scripts/test.sh installs what the tests use, then runs them.

describe('scripts/test.sh (the set-up on a fresh machine)', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => ({ dir, cleanup } = await tempDir('kube-pki-setup-')));
  afterAll(() => cleanup());

  it('passes shellcheck, and .ci/run calls exactly it', async () => {
    const r = await execa('shellcheck', ['--shell=bash', 'scripts/test.sh', '.ci/run'], { cwd: ROOT, reject: false });
    expect(r.stdout).toBe('');
    expect(r.exitCode).toBe(0);
    const ci = (await readFile(join(ROOT, '.ci/run'), 'utf8')).split('\n').filter((l) => l && !l.startsWith('#'));
    expect(ci.at(-1)).toBe('exec scripts/test.sh');
  });

  it('the README shows it as the test command', async () => {
    const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
    const quickStart = readme.slice(readme.indexOf('## Quick start'), readme.indexOf('## Commands'));
    expect(quickStart).toMatch(/^scripts\/test\.sh\s/m);
    const tests = readme.slice(readme.indexOf('## Tests'), readme.indexOf('## Performance'));
    expect(tests).toMatch(/^scripts\/test\.sh\s/m);
  });

  it('on a machine that has every package, installs nothing: apt-get is never called', async () => {
    // An apt-get earlier on PATH that fails loudly: the script must see every package installed already.
    const fakeApt = join(dir, 'apt-get');
    await writeFile(fakeApt, '#!/bin/sh\necho "apt-get called: $*" >&2\nexit 99\n');
    await chmod(fakeApt, 0o755);
    const r = await execa(join(ROOT, 'scripts/test.sh'), ['--setup-only'], { cwd: ROOT, reject: false, env: { PATH: `${dir}:${process.env.PATH}` } });
    expect(r.stderr).not.toContain('apt-get called');
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain('everything the tests use is installed');
  });

  it('installs what is missing: apt-get update first, then the missing package (a package this machine lacks)', async () => {
    // dpkg-query that reports one package missing, apt-get that records its calls: the order and the arguments.
    const log = join(dir, 'apt.log');
    await writeFile(join(dir, 'apt-get'), `#!/bin/sh\necho "$*" >> ${log}\n`);
    await writeFile(join(dir, 'dpkg-query'), `#!/bin/sh\nfor a; do last=$a; done\n[ "$last" = graphviz ] && exit 1\nexec /usr/bin/dpkg-query "$@"\n`);
    await writeFile(join(dir, 'sudo'), '#!/bin/sh\nexec "$@"\n');
    for (const f of ['apt-get', 'dpkg-query', 'sudo']) await chmod(join(dir, f), 0o755);
    const r = await execa(join(ROOT, 'scripts/test.sh'), ['--setup-only'], { cwd: ROOT, reject: false, env: { PATH: `${dir}:${process.env.PATH}` } });
    expect(r.exitCode).toBe(0);
    const calls = (await readFile(log, 'utf8')).trim().split('\n');
    expect(calls[0]).toBe('update -qq');
    expect(calls[1]).toMatch(/^install -y -qq --no-install-recommends graphviz$/);
  });
});
