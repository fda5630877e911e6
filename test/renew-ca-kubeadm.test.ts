import { cp, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubePki, tempDir } from './helpers/cli.js';
import { k8sBins, type K8sBins } from './helpers/k8s-bins.js';
import { SERVICE_CIDR, kubeadm, kubeadmConfig, kubeadmDescription, treeHashes } from './helpers/kubeadm-plane.js';

// kubeadm itself (v1.37.2, built from Kubernetes' code) judges a tree after renew-ca renewed all three
// CAs, its certificates backdated by openssl ca: `init phase certs all` and `kubeconfig` take every file as
// existing and valid (nothing regenerated, no warning), and `certs check-expiration` shows the CAs' new
// ends. Offline: kubeadm runs chrooted into a copy of the tree (--rootfs), with the lab's addresses.

describe('kubeadm takes the files renew-ca leaves', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let bins: K8sBins;

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('kube-pki-renew-ca-kubeadm-'));
    bins = await k8sBins();
  });
  afterAll(() => cleanup());

  it('init phase certs all and kubeconfig all change nothing; check-expiration lists the renewed CAs with their new end', async () => {
    const ip = (host: number) => `192.168.5.${host}`;
    const config = join(dir, 'cluster.yaml');
    await writeFile(config, kubeadmDescription({ masters: 1, workers: [], ip }));
    const out = join(dir, 'pki');
    expect((await kubePki(['gen', '--config', config, '--out', out])).exitCode).toBe(0);
    const renewed = await kubePki(['renew-ca', '--config', config, '--out', out, '--json']);
    expect(renewed.exitCode, renewed.stderr).toBe(0);
    const report = JSON.parse(renewed.stdout) as { cas: { name: string; after: { notAfter: string } }[] };
    expect(report.cas.map((c) => c.name).sort()).toEqual(['ca', 'etcd-ca', 'front-proxy-ca']);

    const rootfs = join(dir, 'rootfs');
    const etc = join(rootfs, 'etc/kubernetes');
    await mkdir(join(rootfs, 'etc'), { recursive: true });
    await cp(join(out, 'cp-1'), etc, { recursive: true, preserveTimestamps: true });
    await writeFile(join(rootfs, 'kubeadm.yaml'), kubeadmConfig({ node: 'cp-1', ip: ip(11), lb: ip(30), serviceCIDR: SERVICE_CIDR, ecdsa: true, version: 'v1.37.2' }));
    const run = (args: string[]) => kubeadm(bins, [...args, '--config', '/kubeadm.yaml', '--rootfs', rootfs]);
    const certs = await run(['init', 'phase', 'certs', 'all']);
    expect(certs.exitCode, certs.output).toBe(0);
    const kubeconfigs = await run(['init', 'phase', 'kubeconfig', 'all']);
    expect(kubeconfigs.exitCode, kubeconfigs.output).toBe(0);
    expect(Object.fromEntries(await treeHashes(etc)), `${certs.output}\n${kubeconfigs.output}`).toEqual(Object.fromEntries(await treeHashes(join(out, 'cp-1'))));
    expect(certs.output).not.toMatch(/Generating|W\d{4}/);
    expect(kubeconfigs.output).not.toMatch(/Writing|W\d{4}/);

    const expiration = await run(['certs', 'check-expiration']);
    expect(expiration.exitCode, expiration.output).toBe(0);
    expect(expiration.output).not.toMatch(/MISSING|invalid/);
    // kubeadm prints "Sep 01, 2029 11:26 UTC" for each CA: the renewed certificate's end.
    const month = (iso: string) => new Date(iso).toLocaleString('en-US', { month: 'short', timeZone: 'UTC' });
    for (const [name, row] of [['ca', 'ca'], ['etcd-ca', 'etcd-ca'], ['front-proxy-ca', 'front-proxy-ca']]) {
      const end = new Date(report.cas.find((c) => c.name === name)!.after.notAfter);
      const day = String(end.getUTCDate()).padStart(2, '0');
      expect(expiration.output, name).toMatch(new RegExp(`^${row}\\s+${month(end.toISOString())} ${day}, ${end.getUTCFullYear()} `, 'm'));
    }
  }, 300_000);
});
