import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CLUSTER_YAML } from '../src/cluster/default.js';
import { kubePki, tempDir } from './helpers/cli.js';

describe('kube-pki init', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => ({ dir, cleanup } = await tempDir()));
  afterAll(() => cleanup());

  it('writes the built-in lab to cluster.yaml, which gen then uses without --config', async () => {
    const r = await kubePki(['init'], { cwd: dir });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(await readFile(join(dir, 'cluster.yaml'), 'utf8')).toBe(DEFAULT_CLUSTER_YAML);
    // An edit to ./cluster.yaml is what the next `npm run certs` follows.
    await writeFile(join(dir, 'cluster.yaml'), DEFAULT_CLUSTER_YAML.replace('worker-2, address: 192.168.5.22', 'worker-2, address: 192.168.5.23'));
    const dry = await kubePki(['gen', '--dry-run', '--json'], { cwd: dir });
    expect(dry.exitCode, dry.stderr).toBe(0);
    const plan = JSON.parse(dry.stdout);
    expect(plan.source).toBe('cluster.yaml');
    expect(plan.items.find((i: { name: string }) => i.name === 'worker-2').sans.ip).toEqual(['192.168.5.23']);
  });

  it('leaves the validity to the profile: switching the written file to profile: kubeadm gives kubeadm\'s 3650/365 days', async () => {
    const r = await kubePki(['init', 'switch.yaml'], { cwd: dir });
    expect(r.exitCode, r.stderr).toBe(0);
    const written = await readFile(join(dir, 'switch.yaml'), 'utf8');
    expect(written).not.toMatch(/^validityDays:/m);
    const explain = async (name: string) => {
      const e = await kubePki(['explain', name, '--config', 'switch.yaml'], { cwd: dir });
      expect(e.exitCode, e.stderr).toBe(0);
      return e.stdout.split('\n')[0];
    };
    expect(await explain('ca')).toMatch(/, valid 1000 days /);
    expect(await explain('kube-apiserver')).toMatch(/, valid 1000 days /);
    await writeFile(join(dir, 'switch.yaml'), written.replace(/^profile: hardway /m, 'profile: kubeadm '));
    expect(await explain('ca')).toMatch(/, valid 3650 days /);
    expect(await explain('apiserver-kubelet-client')).toMatch(/, valid 365 days /);
  });

  it('never overwrites an existing file without --force', async () => {
    await writeFile(join(dir, 'mine.yaml'), 'profile: hardway\n');
    const r = await kubePki(['init', 'mine.yaml'], { cwd: dir });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('mine.yaml already exists; give --force to overwrite it');
    expect(await readFile(join(dir, 'mine.yaml'), 'utf8')).toBe('profile: hardway\n');
    expect((await kubePki(['init', 'mine.yaml', '--force'], { cwd: dir })).exitCode).toBe(0);
    expect(await readFile(join(dir, 'mine.yaml'), 'utf8')).toBe(DEFAULT_CLUSTER_YAML);
  });
});
