import { chmod, copyFile, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubePki, tempDir } from './helpers/cli.js';
import { hashes } from './helpers/rotation.js';
import { KUBEADM_YAML } from './helpers/rotation.js';
import { SMALL_CLUSTER } from './helpers/small-cluster.js';

// One rule for the output folder, whatever its spelling and whatever the command (issue 22, items 15
// and 18): the folder is judged, not the text that names it, and a folder that is not a PKI gets
// gen's answer from check and renew too.

describe('the output folder: one rule for every spelling and every command', () => {
  let dir: string;
  let config: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    config = join(dir, 'cluster.yaml');
    await writeFile(config, SMALL_CLUSTER);
  });
  afterAll(() => cleanup());

  const emptyFolder = async (name: string) => {
    const path = join(dir, name);
    await mkdir(path);
    await chmod(path, 0o755);
    return path;
  };
  const note = (path: string) => `note: ${path} has mode 755 and holds private keys`;

  it('an empty 0755 folder as "." and as "./e2/": the same note and exit 0, dry run or not', async () => {
    const viaDot = await emptyFolder('e1');
    const viaName = await emptyFolder('e2');
    const dot = await kubePki(['gen', '--dry-run', '--config', config, '--out', '.'], { cwd: viaDot });
    const named = await kubePki(['gen', '--dry-run', '--config', config, '--out', './e2/'], { cwd: dir });
    expect([dot.exitCode, named.exitCode], dot.stderr + named.stderr).toEqual([0, 0]);
    expect(dot.stdout).toContain(note(viaDot));
    expect(named.stdout).toContain(note(viaName));
    const real = await kubePki(['gen', '--config', config, '--out', '.'], { cwd: viaDot });
    expect(real.exitCode, real.stderr).toBe(0);
    expect(real.stdout).toContain(note(viaDot));
    expect(await readdir(viaName)).toEqual([]);
  });

  it('a folder others use is refused by the dry run as by the real run', async () => {
    const sticky = await emptyFolder('sticky');
    await chmod(sticky, 0o1777);
    for (const dry of [['--dry-run'], []]) {
      const r = await kubePki(['gen', ...dry, '--config', config, '--out', sticky]);
      expect(r.exitCode, r.stdout).toBe(2);
      expect(r.stderr).toContain('cannot hold private keys');
    }
    expect(await readdir(sticky)).toEqual([]);
  });

  it('csr says what gen says about a 0755 folder, and refuses a folder that is not a PKI', async () => {
    const pki = join(dir, 'pki-for-csr');
    expect((await kubePki(['gen', '--config', config, '--out', pki])).exitCode).toBe(0);
    const external = await emptyFolder('external');
    await copyFile(join(pki, 'ca.crt'), join(external, 'ca.crt'));
    const r = await kubePki(['csr', '--config', config, '--out', external]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain(note(external));

    const project = await emptyFolder('csr-project');
    await writeFile(join(project, 'README.md'), '# mine\n');
    const p = await kubePki(['csr', '--config', config, '--out', project]);
    expect(p.exitCode).toBe(2);
    expect(p.stderr).toContain(`--out ${project}: the folder holds other things (README.md) and no kube-pki PKI`);
    expect(await readdir(project)).toEqual(['README.md']);
  });

  it('check and renew pointed at a project with node_modules give gen\'s answer and read nothing inside', async () => {
    const project = join(dir, 'project');
    const fixture = join(project, 'node_modules', 'some-package', 'test', 'fixtures');
    await mkdir(fixture, { recursive: true });
    const pki = join(dir, 'pki-for-fixture');
    expect((await kubePki(['gen', '--config', config, '--out', pki])).exitCode).toBe(0);
    for (const f of ['ca.crt', 'admin.crt', 'admin.key']) await copyFile(join(pki, f), join(fixture, f));
    await writeFile(join(project, 'package.json'), '{}\n');
    const before = await hashes(project);
    for (const args of [['check'], ['check', '--json'], ['renew', '--all'], ['renew', '--all', '--dry-run'], ['gen', '--dry-run']]) {
      const r = await kubePki([...args, '--config', config, '--out', project]);
      expect(r.exitCode, `${args.join(' ')}: ${r.stdout}`).toBe(2);
      expect(r.stderr).toContain(`--out ${project}: the folder holds other things (node_modules, package.json) and no kube-pki PKI`);
    }
    expect(await hashes(project)).toEqual(before);
  });

  it('check still reads a node\'s copy of its tree in place (as /etc/kubernetes/pki)', async () => {
    const kubeadm = join(dir, 'kubeadm.yaml');
    await writeFile(kubeadm, KUBEADM_YAML);
    const pki = join(dir, 'kubeadm-pki');
    expect((await kubePki(['gen', '--config', kubeadm, '--out', pki])).exitCode).toBe(0);
    const r = await kubePki(['check', join(pki, 'cp-1', 'pki'), '--config', kubeadm, '--json']);
    expect(r.stderr).not.toContain('no kube-pki PKI');
    expect(JSON.parse(r.stdout)).toHaveProperty('cas');
    await rm(pki, { recursive: true });
  }, 60_000);
});
