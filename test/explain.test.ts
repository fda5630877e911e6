import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Cluster } from '../src/model/cluster.js';
import type { ExplainReport } from '../src/explain/explain.js';
import { renderCnf } from '../src/openssl/cnf.js';
import { instancesFor } from '../src/pki.js';
import { kubePki, tempDir } from './helpers/cli.js';
import { certInstance, genPki, labCluster } from './check-fixtures.js';

describe('kube-pki explain', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let config: string;
  let cluster: Cluster;
  /** --out is only read (to show the certificate on disk): by default a folder that does not exist. */
  const explain = async (name: string, extra: string[] = [], out = join(dir, 'no-pki')) => {
    const r = await kubePki(['explain', name, '--config', config, '--out', out, ...extra]);
    expect(r.exitCode, r.stderr).toBe(0);
    return r.stdout;
  };
  const explainJson = async (name: string, out?: string) => JSON.parse(await explain(name, ['--json'], out)) as ExplainReport;

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('kube-pki-explain-'));
    ({ config, cluster } = await labCluster(dir));
  });
  afterAll(() => cleanup());

  it('kube-apiserver: its users and flags, each SAN with its reason, usages, files, the three openssl commands and the cnf', async () => {
    const cert = certInstance(cluster, 'kube-apiserver');
    const r = await explainJson('kube-apiserver');
    expect(r.kind).toBe('server');
    expect(r.signedBy).toBe('ca');
    expect(r.purpose).toBe(cert.spec.explain.purpose);
    expect(r.subject.why).toBe(cert.spec.explain.subject);
    expect(r.sans.why).toBe(cert.spec.explain.sans);
    expect(r.usedBy.map((u) => [u.component, u.flag])).toEqual(cert.spec.uses!.map((u) => [u.component, u.flag]));
    const masters = cluster.nodes.filter((n) => n.role === 'controlplane').map((n) => n.name);
    expect(r.usedBy.every((u) => JSON.stringify(u.nodes) === JSON.stringify(masters))).toBe(true);
    expect(r.sans.entries.map((s) => s.value)).toEqual([...cert.sans.dns, ...cert.sans.ip]);
    const reason = (v: string) => r.sans.entries.find((s) => s.value === v)!.reason;
    expect(reason(cluster.serviceIP)).toContain(`first address of serviceCIDR ${cluster.serviceCIDR}`);
    expect(reason(cluster.apiServer.endpoint)).toContain('apiServer.endpoint');
    const master = cluster.nodes.find((n) => n.role === 'controlplane')!;
    expect(reason(master.address)).toBe(`address of ${master.name} (controlplane)`);
    expect(reason('127.0.0.1')).toContain('loopback');
    expect(reason('kubernetes.default.svc')).toContain('"kubernetes" service');
    expect(r.usages.extendedKeyUsage.map((u) => u.value)).toEqual(['serverAuth']);
    expect(r.usages.keyUsage.map((u) => u.value)).toEqual(cert.usages.keyUsage);
    expect(r.usages.keyUsage.every((u) => u.meaning)).toBe(true);
    expect(r.files.map((f) => [f.path, f.mode])).toEqual([[cert.keyPath, '0600'], [cert.certPath, '0644']]);
    expect(r.commands).toHaveLength(3);
    expect(r.commands[0]).toBe(`openssl genrsa -out ${cert.keyPath} 2048`);
    expect(r.commands[1]).toMatch(/^openssl req -new -key kube-apiserver\.key -subj \/CN=kube-apiserver -out kube-apiserver\.csr -config kube-apiserver\.cnf$/);
    expect(r.commands[2]).toMatch(/^openssl ca -batch -config "\$KUBE_PKI_CA_DB\/\.ca-config\.cnf" -in kube-apiserver\.csr -cert ca\.crt -keyfile ca\.key -out kube-apiserver\.crt -startdate "\$KUBE_PKI_NOT_BEFORE" -days 1000 .*-extensions v3_req$/);
    expect(r.cnf).toEqual({ file: 'kube-apiserver.cnf', content: renderCnf(cert) });
    expect(r.onDisk).toBeNull();

    const text = await explain('kube-apiserver');
    for (const heading of ['WHO USES IT AND FOR WHAT', 'SUBJECT  CN=kube-apiserver', 'SUBJECT ALTERNATIVE NAMES', 'USAGES', 'FILES', 'HOW IT IS MADE'])
      expect(text).toContain(`\n${heading}`);
    expect(text).toMatch(/^ {2}kube-apiserver +--tls-cert-file kube-apiserver\.crt/m);
    expect(text).toMatch(new RegExp(`^  IP:${cluster.serviceIP.replace(/\./g, '\\.')} +first address of serviceCIDR`, 'm'));
    expect(text).toContain('  1. openssl genrsa');
    expect(text).toContain('    [alt_names]');
  });

  it('admin: O=system:masters means cluster-admin; used by kubectl through admin.kubeconfig', async () => {
    const r = await explainJson('admin.crt');
    expect(r.name).toBe('admin');
    expect(r.subject.values).toContainEqual({ field: 'O', value: 'system:masters', meaning: expect.stringContaining('cluster-admin') });
    expect(r.usedBy).toEqual([{ component: 'kubectl', flag: '--kubeconfig', file: 'admin.kubeconfig', nodes: cluster.nodes.filter((n) => n.role === 'controlplane').map((n) => n.name) }]);
    expect(r.sans.entries).toEqual([]);
    expect(r.files.map((f) => f.path)).toEqual(['admin.key', 'admin.crt', 'admin.kubeconfig']);
    expect(r.usages.extendedKeyUsage.map((u) => u.value)).toEqual(['clientAuth']);
  });

  it('a kubelet: system:node: is the Node authorizer; one per worker; shows the certificate on disk once there is one', async () => {
    const pki = await genPki(dir, config);
    const workers = instancesFor(cluster).certs.filter((c) => c.spec.id === 'kubelet');
    const r = await explainJson('kubelet', pki);
    expect(r.name).toBe(workers[0]!.name);
    expect(r.siblings).toEqual(workers.slice(1).map((c) => c.name));
    expect(r.subject.values.find((v) => v.field === 'CN')!.meaning).toContain('Node authorizer');
    expect(r.usedBy.map((u) => `${u.component} ${u.flag} ${u.nodes.join(',')}`)).toContain(`kubelet --kubeconfig ${workers[0]!.name}`);
    expect(r.onDisk?.file).toBe(workers[0]!.certPath);
    expect(r.onDisk?.serial).toMatch(/^[0-9A-F]+$/);
  });

  it('the CA: self-signed, keyCertSign, files on every node, the -selfsign command', async () => {
    const r = await explainJson('ca');
    expect(r.signedBy).toBeNull();
    expect(r.usages.basicConstraints).toMatch(/^critical, CA:TRUE/);
    expect(r.usages.keyUsage.map((u) => u.value)).toContain('keyCertSign');
    expect(r.commands[2]).toMatch(/-selfsign -keyfile ca\.key/);
    const crtFile = r.files.find((f) => f.path === 'ca.crt')!;
    expect(crtFile.nodes.sort()).toEqual(cluster.nodes.filter((n) => n.role !== 'loadbalancer').map((n) => n.name).sort());
  });

  it('the CA: a component is said to read ca.crt where it runs (where its own key or kubeconfig is), not on every node that holds it', async () => {
    const masters = cluster.nodes.filter((n) => n.role === 'controlplane').map((n) => n.name);
    // The lab's kubelets: on the workers, which have a kubelet kubeconfig; the masters have none.
    const workers = cluster.nodes.filter((n) => n.role === 'worker').map((n) => n.name);
    const r = await explainJson('ca');
    const on = (component: string) => [...new Set(r.usedBy.filter((u) => u.component === component).map((u) => u.nodes.join(',')))];
    for (const component of ['kube-apiserver', 'kube-controller-manager', 'etcd', 'etcdctl']) expect(on(component), component).toEqual([masters.join(',')]);
    expect(on('kubelet')).toEqual([workers.join(',')]);
    expect(await explain('ca')).toContain(`kube-apiserver           --client-ca-file ca.crt  (on ${masters.join(', ')})\n`);
  });

  it('an unknown name is bad input (exit 2) and lists the names it knows', async () => {
    const r = await kubePki(['explain', 'nothing-like-this', '--config', config]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('explain: unknown certificate "nothing-like-this"; known: ca, admin');
  });

  it('with rootCA, the names offered for an unknown one include the root CA, which explain takes', async () => {
    const rooted = join(dir, 'rooted.yaml');
    await writeFile(rooted, `${await readFile(config, 'utf8')}rootCA: { encrypt: false }\n`);
    const r = await kubePki(['explain', 'nothing-like-this', '--config', rooted]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('known: root-ca, ca, admin');
    const root = await kubePki(['explain', 'root-ca', '--config', rooted]);
    expect(root.exitCode, root.stderr).toBe(0);
  });
});
