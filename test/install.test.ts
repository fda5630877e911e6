import { mkdir, readFile, readdir, realpath } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { ROOT, tempDir } from './helpers/cli.js';

// README "Getting kube-pki on the PATH": the tarball `npm pack` makes installs into an empty global prefix,
// and the `kube-pki` it puts on the PATH works from a folder outside the repository.

const readme = () => readFile(join(ROOT, 'README.md'), 'utf8');
const version = async () => (JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

describe('installing kube-pki (npm pack, npm install -g)', () => {
  it('the README says how: npm link or npm install -g ., the packed tarball, and why npx fails outside the repository', async () => {
    const text = await readme();
    const start = text.indexOf('### Getting `kube-pki` on the PATH');
    expect(start).toBeGreaterThan(0);
    const section = text.slice(start, text.indexOf('\n## ', start));
    expect(section).toMatch(/^npm link\s/m);
    expect(section).toContain('`npm install -g .`');
    expect(section).toMatch(/^npm pack\s/m);
    expect(section).toContain(`npm install -g ./kube-pki-${await version()}.tgz`);
    expect(section).toContain(`npm install -g --prefix ~/.local ./kube-pki-${await version()}.tgz`);
    expect(section).toContain('outside the repository `npx kube-pki` asks the registry');
  });

  it('the packed tarball installs into a clean global prefix; its kube-pki makes and checks a PKI in a folder outside the repository', async () => {
    const { dir, cleanup } = await tempDir('kube-pki-install-');
    try {
      // --ignore-scripts: `prepare` would rebuild dist/ under the other test files; `npm test` has built it.
      const pack = await execa('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: ROOT });
      const [info] = JSON.parse(pack.stdout) as { filename: string; files: { path: string }[] }[];
      expect(info!.filename).toBe(`kube-pki-${await version()}.tgz`);
      const files = info!.files.map((f) => f.path);
      expect(files).toContain('dist/cli.js');
      expect(files).toContain('templates/openssl.cnf.hbs');
      expect(files.filter((f) => /^(src|test|node_modules)\//.test(f))).toEqual([]);

      const prefix = join(dir, 'prefix');
      const work = join(dir, 'work');
      await mkdir(work);
      // Offline: the dependencies come from npm's cache, as `npm ci` left them there.
      const install = await execa('npm', ['install', '-g', '--prefix', prefix, join(dir, info!.filename), '--prefer-offline', '--no-audit', '--no-fund'], {
        cwd: work,
        reject: false,
      });
      expect(install.exitCode, install.stderr).toBe(0);
      const bin = join(prefix, 'bin');
      expect(await readdir(bin)).toEqual(['kube-pki']);
      // A copy of its own in the prefix, not a link back to this checkout.
      const installed = await realpath(join(bin, 'kube-pki'));
      expect(installed).toBe(join(await realpath(prefix), 'lib', 'node_modules', 'kube-pki', 'dist', 'cli.js'));
      expect(relative(ROOT, work).startsWith('..')).toBe(true);

      // The bare command name, found on the PATH, run in the folder outside the repository.
      const env = { PATH: `${bin}:${process.env.PATH}` };
      const gen = await execa('kube-pki', ['gen', '--out', 'pki'], { cwd: work, env, reject: false });
      expect(gen.exitCode, gen.stderr).toBe(0);
      expect(gen.stdout).toContain(`PKI in ${join(await realpath(work), 'pki')} (profile hardway`);
      expect(gen.stdout).toMatch(/: 18 created, 0 re-issued, 0 kept, 0 stale, 0 failed$/m);
      const check = await execa('kube-pki', ['check', '--out', 'pki'], { cwd: work, env, reject: false });
      expect(check.exitCode, check.stderr).toBe(0);
      expect(check.stdout).toContain('All good: 1 CA, 10 certificates, 6 kubeconfigs.');
      // openssl agrees that the installed copy's certificates chain to its CA.
      const verify = await execa('openssl', ['verify', '-CAfile', 'pki/ca.crt', 'pki/kube-apiserver.crt'], { cwd: work, reject: false });
      expect(verify.stdout).toBe('pki/kube-apiserver.crt: OK');
    } finally {
      await cleanup();
    }
  }, 240_000);
});
