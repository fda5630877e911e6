import { copyFile, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCluster } from '../src/cluster/load.js';
import type { Cluster } from '../src/model/cluster.js';
import type { ExplainReport } from '../src/explain/explain.js';
import { instancesFor } from '../src/pki.js';
import type { RenewReport } from '../src/renew/renew.js';
import { kubeconfigUses } from '../src/catalog/restart.js';
import { checkJson, copyPki } from './check-fixtures.js';
import { kubePki } from './helpers/cli.js';
import { generated } from './helpers/kubeadm.js';

// check, renew and explain on the kubeadm layout: shared files have one source in _cluster/ and a copy
// in every control plane's tree; the nodes read the copies.

const YAML = `profile: kubeadm
key: { algorithm: ecdsa, curve: P-256 }
apiServer: { endpoint: 192.168.5.30, port: 6443 }
nodes:
  - { name: master-1, address: 192.168.5.11, role: controlplane }
  - { name: master-2, address: 192.168.5.12, role: controlplane }
  - { name: master-3, address: 192.168.5.13, role: controlplane }
  - { name: worker-1, address: 192.168.5.21, role: worker }
  - { name: worker-2, address: 192.168.5.22, role: worker }
  - { name: loadbalancer, address: 192.168.5.30, role: loadbalancer }
`;
const MASTERS = ['master-1', 'master-2', 'master-3'];
const SOURCE = '_cluster/pki/apiserver-kubelet-client';
const inTree = (node: string, ext: string) => `${node}/pki/apiserver-kubelet-client.${ext}`;

describe('kubeadm: check, renew and explain see the copies in the node trees', () => {
  let dir: string;
  let out: string;
  let config: string;
  let cleanup: () => Promise<void>;
  let cluster: Cluster;
  let n = 0;
  const fresh = () => copyPki(out, join(dir, `case-${++n}`));
  const run = async (args: string[]) => {
    const r = await kubePki([...args, '--config', config]);
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
    return r.stdout;
  };
  const renewJson = async (pki: string, names: string[]) => JSON.parse(await run(['renew', ...names, '--out', pki, '--json'])) as RenewReport;
  const explainJson = async (name: string) => JSON.parse(await run(['explain', name, '--out', out, '--json'])) as ExplainReport;

  beforeAll(async () => {
    ({ dir, out, config, cleanup } = await generated(YAML));
    cluster = parseCluster(YAML, config);
    // notAfter has one-second resolution: a renewal must not land in the second gen ran.
    await new Promise((r) => setTimeout(r, 1100));
  });
  afterAll(() => cleanup());

  it('check passes a fresh PKI of 3 control planes and 2 workers', async () => {
    const { exitCode, report } = await checkJson(config, out);
    expect(exitCode).toBe(0);
    // Per control plane: admin, controller-manager and scheduler client certificates; super-admin once.
    expect(report.summary).toEqual({ certificates: 28, cas: 3, kubeconfigs: 15, errors: 0, warnings: 0, notes: 4 });
    // The notes: admin.conf needs the binding of `kube-pki manifests`; super-admin.conf is to be locked away.
    const notes = report.kubeconfigs.flatMap((k) => k.problems.map((p) => [k.file, p.severity, p.code, p.message]));
    expect(notes).toEqual([
      ...MASTERS.map((m) => [`${m}/admin.conf`, 'note', 'caution', expect.stringMatching(/ClusterRoleBinding kubeadm:cluster-admins exists: apply `kube-pki manifests`/)]),
      ['master-1/super-admin.conf', 'note', 'caution', expect.stringMatching(/bypasses RBAC and cannot be revoked: .*lock it away/)],
    ]);
    expect(report.catalog.missing).toEqual([]);
    expect(report.catalog.unknown).toEqual([]);
    expect(report.copies.every((c) => c.status === 'ok')).toBe(true);
  });

  it('check reports a CA key in a worker tree (error), whatever its name, and a stray key elsewhere (warning)', async () => {
    const pki = await fresh();
    await copyFile(join(pki, '_cluster/pki/ca.key'), join(pki, 'worker-1/pki/ca.key'));
    await mkdir(join(pki, 'loadbalancer'));
    await copyFile(join(pki, '_cluster/pki/etcd/ca.key'), join(pki, 'loadbalancer/etcd.bak'));
    await copyFile(join(pki, 'master-1/pki/apiserver.key'), join(pki, 'master-1/pki/apiserver.key.orig.key'));
    const { exitCode, report } = await checkJson(config, pki);
    expect(exitCode).toBe(1);
    expect(report.files.map((f) => [f.file, f.status, f.problems.map((p) => p.code)])).toEqual([
      ['loadbalancer/etcd.bak', 'error', ['ca-key-on-node']],
      ['master-1/pki/apiserver.key.orig.key', 'warning', ['key-not-in-catalog']],
      ['worker-1/pki/ca.key', 'error', ['ca-key-on-node']],
    ]);
    expect(report.files[2]!.problems[0]!.message).toBe('worker-1/pki/ca.key holds the private key of CA ca (_cluster/pki/ca.crt); worker-1 is a worker node and never gets a CA key: remove it');
    expect(report.summary).toMatchObject({ errors: 2, warnings: 1 });
    const text = await kubePki(['check', '--config', config, '--out', pki]);
    expect(text.exitCode).toBe(1);
    expect(text.stdout).toContain('Other files:\n  loadbalancer/etcd.bak holds the private key of CA etcd-ca');
    expect(text.stdout).not.toContain('All good');
  });

  it('check reports a dangling symbolic link as unreadable instead of crashing', async () => {
    const pki = await fresh();
    await symlink('nowhere.crt', join(pki, '_cluster/x.crt'));
    await symlink('nowhere.conf', join(pki, 'worker-2/x.conf'));
    const { exitCode, report, stderr } = await checkJson(config, pki);
    expect(stderr).not.toContain('unexpected error');
    expect(exitCode).toBe(1);
    const row = report.certificates.find((r) => r.file === '_cluster/x.crt')!;
    expect(row.problems.map((p) => [p.code, p.message])).toEqual([['unreadable', expect.stringContaining('_cluster/x.crt: cannot be read (ENOENT')]]);
    expect(report.files.map((f) => [f.file, f.problems.map((p) => p.code)])).toEqual([['worker-2/x.conf', ['unreadable']]]);
    expect(report.summary.errors).toBe(2);
  });

  it('renew updates the copies of a renewed shared certificate in every control-plane tree, with backups, and restarts the apiservers for them', async () => {
    const pki = await fresh();
    const old = await readFile(join(pki, `${SOURCE}.crt`));
    const report = await renewJson(pki, ['apiserver-kubelet-client']);
    const renewed = await readFile(join(pki, `${SOURCE}.crt`));
    expect(renewed.equals(old)).toBe(false);
    for (const node of MASTERS) {
      expect((await readFile(join(pki, inTree(node, 'crt')))).equals(renewed), node).toBe(true);
      expect((await readFile(join(report.backupDir!, inTree(node, 'crt')))).equals(old), node).toBe(true);
    }
    expect(report.copies).toEqual(MASTERS.map((node) => ({ name: `${node}/apiserver-kubelet-client`, file: inTree(node, 'crt') })));
    expect(report.changed.sort()).toEqual([`${SOURCE}.crt`, ...MASTERS.map((node) => inTree(node, 'crt'))].sort());
    // The nodes read the copies, never the source in _cluster/.
    expect(report.restart).toEqual([{ component: 'kube-apiserver', nodes: MASTERS, files: MASTERS.map((node) => inTree(node, 'crt')) }]);
    expect((await checkJson(config, pki)).exitCode).toBe(0);
  });

  it('renew leaves a copy that differs from its source, and says so', async () => {
    const pki = await fresh();
    const foreign = await readFile(join(pki, '_cluster/pki/front-proxy-client.crt'));
    await writeFile(join(pki, inTree('master-2', 'crt')), foreign);
    const report = await renewJson(pki, ['apiserver-kubelet-client']);
    expect(report.copies.map((c) => c.file)).toEqual([inTree('master-1', 'crt'), inTree('master-3', 'crt')]);
    expect((await readFile(join(pki, inTree('master-2', 'crt')))).equals(foreign)).toBe(true);
    expect(report.warnings).toEqual([expect.stringMatching(/^master-2\/apiserver-kubelet-client not updated by renew: master-2\/pki\/apiserver-kubelet-client\.crt differs from/)]);
    expect(report.restart[0]!.nodes).toEqual(['master-1', 'master-3']);
  });

  it('a kubeconfig in a node tree is read on that node only', async () => {
    for (const kc of instancesFor(cluster).kubeconfigs) for (const use of kubeconfigUses(cluster, kc)) expect(use.nodes, kc.name).toEqual([kc.node!.name]);
    // Each control plane's admin.conf embeds a certificate of its own (kubeadm join makes one per node).
    for (const node of MASTERS) {
      const r = await explainJson(`${node}/admin`);
      expect(r.usedBy).toEqual([{ component: 'kubectl', flag: '--kubeconfig', file: `${node}/admin.conf`, nodes: [node] }]);
      expect(r.files.filter((f) => f.path.endsWith('.conf')).map((f) => [f.path, f.nodes])).toEqual([[`${node}/admin.conf`, [node]]]);
      expect(r.siblings).toEqual(MASTERS.filter((m) => m !== node).map((m) => `${m}/admin`));
      expect(r.subject.values).toContainEqual({ field: 'O', value: 'kubeadm:cluster-admins', meaning: expect.stringMatching(/ClusterRoleBinding kubeadm:cluster-admins \(kube-pki manifests/) });
    }
  });

  it('explain super-admin: on the first control plane only, system:masters, and why to lock it away', async () => {
    const r = await explainJson('super-admin');
    expect(r.subject).toMatchObject({ cn: 'kubernetes-super-admin', o: ['system:masters'] });
    expect(r.files.filter((f) => f.path.endsWith('.conf')).map((f) => [f.path, f.nodes])).toEqual([['master-1/super-admin.conf', ['master-1']]]);
    expect(r.caution).toMatch(/bypasses RBAC and cannot be revoked/);
    const text = await run(['explain', 'super-admin', '--out', out]);
    expect(text).toMatch(/\nTAKE CARE\n  super-admin\.conf bypasses RBAC/);
    // The same certificate by its kubeconfig's path.
    expect((await explainJson('master-1/super-admin.conf')).name).toBe('super-admin');
  });

  it('graph and report show super-admin.conf on the first control plane only and each admin.conf under its own certificate', async () => {
    const tree = await run(['graph', '--out', out]);
    const lines = tree.split('\n');
    const child = (parent: string) => lines[lines.findIndex((l) => l.includes(parent)) + 1] ?? '';
    expect(child('_cluster/kubeconfig/super-admin.crt ')).toMatch(/└── master-1\/super-admin\.conf +server https:\/\/192\.168\.5\.30:6443/);
    for (const m of MASTERS) {
      expect(child(`_cluster/kubeconfig/admin-${m}.crt `), m).toMatch(new RegExp(`└── ${m}/admin\\.conf +server https://192\\.168\\.5\\.30:6443`));
      expect(child(`_cluster/kubeconfig/scheduler-${m}.crt `), m).toMatch(new RegExp(`└── ${m}/scheduler\\.conf +server https://192\\.168\\.5\\.1${m.slice(-1)}:6443`));
    }
    expect(lines.filter((l) => l.includes('super-admin.conf')).length).toBe(2);
    const html = join(dir, 'report.html');
    await run(['report', '--html', html, '--out', out]);
    const page = await readFile(html, 'utf8');
    expect(page).toContain('master-1/super-admin.conf');
    expect(page).not.toContain('master-2/super-admin.conf');
    expect(page).toMatch(/TAKE CARE\n  super-admin\.conf bypasses RBAC/);
  });

  it('explain lists where each file of a shared certificate lands on each node, and the copies the components read', async () => {
    const r = await explainJson('apiserver-kubelet-client');
    const lands = (ext: string) => MASTERS.map((node) => ({ node, file: inTree(node, ext), remotePath: `/etc/kubernetes/pki/apiserver-kubelet-client.${ext}` }));
    expect(r.files.map((f) => [f.path, f.onNodes])).toEqual([[`${SOURCE}.key`, lands('key')], [`${SOURCE}.crt`, lands('crt')]]);
    expect(r.usedBy.filter((u) => u.flag === '--kubelet-client-certificate')).toEqual(
      MASTERS.map((node) => ({ component: 'kube-apiserver', flag: '--kubelet-client-certificate', file: inTree(node, 'crt'), nodes: [node] })),
    );
    const text = await run(['explain', 'apiserver-kubelet-client', '--out', out]);
    expect(text).toContain(`    master-2:  /etc/kubernetes/pki/apiserver-kubelet-client.crt  (sent from ${inTree('master-2', 'crt')})\n`);
    // A node's own certificate lands in its own tree.
    const own = await explainJson('master-3/apiserver');
    expect(own.files.map((f) => f.onNodes)).toEqual(['key', 'crt'].map((ext) => [{ node: 'master-3', file: `master-3/pki/apiserver.${ext}`, remotePath: `/etc/kubernetes/pki/apiserver.${ext}` }]));
  });
});
