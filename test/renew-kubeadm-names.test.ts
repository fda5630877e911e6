import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RenewReport } from '../src/renew/renew.js';
import { kubePki } from './helpers/cli.js';
import { generated } from './helpers/kubeadm.js';

// renew takes `kubeadm certs renew`'s names in profile kubeadm: each renews exactly its certificates
// (every control plane's unless a node is named) and the kubeconfigs that embed them.

const YAML = `profile: kubeadm
key: { algorithm: ecdsa, curve: P-256 }
apiServer: { endpoint: 192.168.35.30, port: 6443 }
nodes:
  - { name: cp-1, address: 192.168.35.11, role: controlplane }
  - { name: cp-2, address: 192.168.35.12, role: controlplane }
  - { name: worker-1, address: 192.168.35.21, role: worker }
`;

/** What each kubeadm name must renew here: certificates, then the kubeconfigs rewritten. */
const EXPECTED: Record<string, [string[], string[]]> = {
  'admin.conf': [['cp-1/admin', 'cp-2/admin'], ['cp-1/admin.conf', 'cp-2/admin.conf']],
  'super-admin.conf': [['super-admin'], ['cp-1/super-admin.conf']],
  'controller-manager.conf': [['cp-1/controller-manager', 'cp-2/controller-manager'], ['cp-1/controller-manager.conf', 'cp-2/controller-manager.conf']],
  'scheduler.conf': [['cp-1/scheduler', 'cp-2/scheduler'], ['cp-1/scheduler.conf', 'cp-2/scheduler.conf']],
  apiserver: [['cp-1/apiserver', 'cp-2/apiserver'], []],
  'apiserver-etcd-client': [['apiserver-etcd-client'], []],
  'apiserver-kubelet-client': [['apiserver-kubelet-client'], []],
  'front-proxy-client': [['front-proxy-client'], []],
  'etcd-healthcheck-client': [['etcd-healthcheck-client'], []],
  'etcd-peer': [['cp-1/etcd-peer', 'cp-2/etcd-peer'], []],
  'etcd-server': [['cp-1/etcd-server', 'cp-2/etcd-server'], []],
  // A node named the way renew already takes one.
  'cp-2/admin.conf': [['cp-2/admin'], ['cp-2/admin.conf']],
  'cp-1/etcd-peer': [['cp-1/etcd-peer'], []],
};

describe('renew with kubeadm names', () => {
  let dir: string;
  let out: string;
  let config: string;
  let cleanup: () => Promise<void>;
  const renew = (args: string[], cfg = config) => kubePki(['renew', ...args, '--config', cfg, '--out', out]);
  const dryRun = async (args: string[]) => {
    const r = await renew([...args, '--dry-run', '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as RenewReport;
  };

  beforeAll(async () => {
    ({ dir, out, config, cleanup } = await generated(YAML));
    // notAfter has one-second resolution: a renewal must not land in the second gen ran.
    await new Promise((r) => setTimeout(r, 1100));
  });
  afterAll(() => cleanup());

  it.each(Object.entries(EXPECTED))('%s renews exactly its certificates and kubeconfigs', async (name, [certs, kubeconfigs]) => {
    const report = await dryRun([name]);
    expect(report.renewed.map((r) => r.name).sort()).toEqual([...certs].sort());
    expect(report.kubeconfigs.map((k) => k.name).sort()).toEqual([...kubeconfigs].sort());
  });

  it('all is --all; it takes no other name', async () => {
    const all = await dryRun(['all']);
    const dashAll = await dryRun(['--all']);
    expect(all.renewed.map((r) => r.name)).toEqual(dashAll.renewed.map((r) => r.name));
    expect(all.renewed.length).toBeGreaterThan(15);
    const both = await renew(['all', 'apiserver']);
    expect(both.exitCode).toBe(2);
    expect(both.stderr).toMatch(/renew: give all \(or --all\) alone/);
  });

  it('an unknown name is still exit 2 listing the known names, kubeadm\'s among them', async () => {
    const r = await renew(['admin.cnf']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/renew: unknown certificate "admin\.cnf"; known: .*cp-1\/apiserver.*admin\.conf, super-admin\.conf.*etcd-server, all/);
  });

  it('renews admin.conf for real: both control planes\' admin certificates, nothing else', async () => {
    const r = await renew(['admin.conf', '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as RenewReport;
    expect(report.result).toBe('ok');
    expect(report.renewed.map((c) => c.name).sort()).toEqual(['cp-1/admin', 'cp-2/admin']);
    for (const c of report.renewed) expect(c.after!.serial).not.toBe(c.before.serial);
    expect(report.changed.sort()).toEqual(['_cluster/kubeconfig/admin-cp-1.crt', '_cluster/kubeconfig/admin-cp-2.crt', 'cp-1/admin.conf', 'cp-2/admin.conf']);
  });

  it('layout v1.27 has no super-admin.conf; profile hardway takes no kubeadm name', async () => {
    const v127 = join(dir, 'v127.yaml');
    await writeFile(v127, `${YAML}kubeadmLayout: v1.27\n`);
    const r = await renew(['super-admin.conf'], v127);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/unknown certificate "super-admin\.conf"; known: (?!.*super-admin\.conf).*admin\.conf/);
    const hardway = join(dir, 'hardway.yaml');
    await writeFile(hardway, YAML.replace('profile: kubeadm', 'profile: hardway'));
    const h = await renew(['admin.conf'], hardway);
    expect(h.exitCode).toBe(2);
    expect(h.stderr).toMatch(/unknown certificate "admin\.conf"; known: (?!.*, all$)/m);
  });
});
