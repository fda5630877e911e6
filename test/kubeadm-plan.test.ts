import { describe, expect, it } from 'vitest';
import { parseCluster } from '../src/cluster/load.js';
import type { Cluster } from '../src/model/cluster.js';
import { EXIT, UserError } from '../src/errors.js';
import { flags } from '../src/cli/flags.js';
import { emptyDisk, type CertState, type DiskState } from '../src/inspect/disk.js';
import { genKeyArgs } from '../src/openssl/commands.js';
import { instancesFor } from '../src/pki.js';
import { planCsrs } from '../src/plan/csr.js';
import { SHARED_DIR, type Instances } from '../src/model/instances.js';
import { planPki } from '../src/plan/plan.js';
import type { PlanItem, Step } from '../src/model/steps.js';
import { WORKER_FILES, controlPlaneFiles } from './helpers/kubeadm.js';

// The kubeadm catalog and the pure planner, without openssl: paths, copies, re-run decisions,
// the external-CA rules and the CSR plan.

const yaml = (extra = '', endpoint = '127.0.3.230') => `profile: kubeadm
clusterDomain: k8s.corp.example
apiServer: { endpoint: "${endpoint}" }
${extra}
nodes:
  - { name: cp-1, address: 127.0.3.211, role: controlplane }
  - { name: cp-2, address: 127.0.3.212, role: controlplane }
  - { name: cp-3, address: 127.0.3.213, role: controlplane }
  - { name: worker-1, address: 127.0.3.221, role: worker }
  - { name: worker-2, address: "fd00::222", role: worker }
  - { name: lb, address: 127.0.3.230, role: loadbalancer }
`;

const cluster = (extra = '', endpoint?: string): Cluster => parseCluster(yaml(extra, endpoint), 'test.yaml');

/** Every output path of the instances, grouped by the first path segment. */
function byTree(i: Instances): Map<string, string[]> {
  const paths = [
    ...i.certs.flatMap((c) => [c.certPath, c.keyPath]),
    ...i.keyPairs.flatMap((k) => [k.keyPath, k.pubPath]),
    ...i.kubeconfigs.map((k) => k.path),
    ...i.copies.flatMap((c) => c.files.map((f) => f.to)),
  ];
  const trees = new Map<string, string[]>();
  for (const p of paths) {
    const [head, ...rest] = p.split('/');
    trees.set(head!, [...(trees.get(head!) ?? []), rest.join('/')].sort());
  }
  return trees;
}

const cert = (over: Partial<CertState> = {}): CertState => ({ keyExists: true, keyUnreadable: false, certExists: true, problems: [], ...over });

/** A disk on which every certificate, key pair and copy exists and is right. */
function completeDisk(i: Instances): DiskState {
  const disk = emptyDisk();
  for (const c of i.certs) disk.certs.set(c.name, cert());
  for (const k of i.keyPairs) disk.keyPairs.set(k.name, { keyExists: true, keyUnreadable: false, pubExists: true, pubMatches: true });
  for (const k of i.kubeconfigs) disk.kubeconfigs.set(k.name, { exists: true, current: true });
  for (const f of i.copies.flatMap((c) => c.files)) disk.copies!.set(f.to, { sourceExists: true, targetExists: true, same: true });
  return disk;
}

/** The UserError a call throws (the test fails if it throws nothing or something else). */
function thrown(call: () => unknown): UserError {
  try {
    call();
  } catch (err) {
    if (err instanceof UserError) return err;
    throw err;
  }
  throw new Error('expected a UserError');
}

const item = (items: PlanItem[], name: string): PlanItem => {
  const found = items.find((i) => i.name === name);
  if (!found) throw new Error(`no plan item ${name}`);
  return found;
};

describe('kubeadm catalog: per-node trees', () => {
  const c = cluster();
  const i = instancesFor(c);
  const trees = byTree(i);

  it('gives each control plane exactly the matrix files, each worker ca.crt and kubelet.conf, the load balancer nothing', () => {
    for (const cp of ['cp-1', 'cp-2', 'cp-3']) expect(trees.get(cp), cp).toEqual(controlPlaneFiles(cp === 'cp-1'));
    for (const w of ['worker-1', 'worker-2']) expect(trees.get(w)).toEqual(WORKER_FILES);
    expect(trees.has('lb')).toBe(false);
    expect([...trees.keys()].sort()).toEqual([SHARED_DIR, 'cp-1', 'cp-2', 'cp-3', 'worker-1', 'worker-2']);
  });

  it('copies every shared file from its single source in _cluster/, and never a CA key to a worker', () => {
    for (const copy of i.copies) {
      for (const f of copy.files) {
        expect(f.from.startsWith(`${SHARED_DIR}/`)).toBe(true);
        expect(f.to).toBe(`${copy.node.name}/${f.from.slice(SHARED_DIR.length + 1)}`);
        expect(f.mode).toBe(f.part === 'key' ? 0o600 : 0o644);
      }
      if (copy.node.role === 'worker') expect(copy.files.map((f) => f.to)).toEqual([`${copy.node.name}/pki/ca.crt`]);
    }
    const workerCopies = i.copies.filter((x) => x.node.role === 'worker').map((x) => x.name);
    expect(workerCopies).toEqual(['worker-1/ca', 'worker-2/ca']);
  });

  it('names kubeconfigs as the documentation does; the load balancer as server, the own apiserver for the controller manager and scheduler', () => {
    const users = new Map(i.kubeconfigs.map((k) => [k.path, k.userName]));
    expect(users.get('cp-2/admin.conf')).toBe('default-admin');
    expect(users.get('cp-1/super-admin.conf')).toBe('default-super-admin');
    expect(users.has('cp-2/super-admin.conf')).toBe(false);
    expect(users.get('cp-2/controller-manager.conf')).toBe('default-controller-manager');
    expect(users.get('cp-2/scheduler.conf')).toBe('default-scheduler');
    expect(users.get('worker-2/kubelet.conf')).toBe('default-auth');
    for (const k of i.kubeconfigs) {
      expect(k.clusterName).toBe('default-cluster');
      expect(k.contextName).toBe('default-system');
      // kubeadm's LocalAPIEndpoint for the node's own components (a control plane's kubelet too), its ControlPlaneEndpoint for the rest.
      const own = /\/(controller-manager|scheduler)\.conf$/.test(k.path) || (k.path.endsWith('/kubelet.conf') && k.node!.role === 'controlplane');
      expect(k.server, k.path).toBe(own ? `https://${k.node!.address}:6443` : 'https://127.0.3.230:6443');
    }
    expect(i.kubeconfigs.find((k) => k.path === 'cp-2/scheduler.conf')!.server).toBe('https://127.0.3.212:6443');
    const kubelet = i.certs.find((x) => x.name === 'worker-2/kubelet')!;
    expect(kubelet.subject).toEqual({ cn: 'system:node:worker-2', o: ['system:nodes'] });
  });

  it('puts an IPv6 endpoint in brackets in every kubeconfig and in the apiserver SANs as an address', () => {
    const v6 = instancesFor(cluster('', 'FD00:0:0::30'));
    for (const k of v6.kubeconfigs.filter((x) => /(admin|super-admin)\.conf$/.test(x.path) || x.node?.role === 'worker')) expect(k.server).toBe('https://[fd00::30]:6443');
    // The controller manager and scheduler of an IPv6 control plane: its own address in brackets.
    const v6Node = instancesFor(parseCluster(yaml('', '127.0.3.230').replace('address: 127.0.3.212', 'address: "FD00::212"'), 'test.yaml'));
    expect(v6Node.kubeconfigs.find((k) => k.path === 'cp-2/controller-manager.conf')!.server).toBe('https://[fd00::212]:6443');
    expect(v6.certs.find((x) => x.name === 'cp-1/apiserver')!.sans.ip).toContain('fd00::30');
  });

  it('keeps CA keys and ECDSA/RSA choices as described: 10-year CAs, 1-year leaves, overridable', () => {
    const ca = i.certs.find((x) => x.name === 'ca')!;
    const leaf = i.certs.find((x) => x.name === 'cp-1/apiserver')!;
    expect([ca.days, leaf.days]).toEqual([3650, 365]);
    const custom = instancesFor(cluster('validityDays: { leaf: 30 }\nkey: { algorithm: ecdsa, curve: P-256 }'));
    const customLeaf = custom.certs.find((x) => x.name === 'cp-1/apiserver')!;
    expect([custom.certs.find((x) => x.name === 'ca')!.days, customLeaf.days]).toEqual([3650, 30]);
    expect(customLeaf.usages.keyUsage).toEqual(['digitalSignature']);
    expect(leaf.usages.keyUsage).toEqual(['digitalSignature', 'keyEncipherment']);
    expect(genKeyArgs(customLeaf.key, { out: 'k' })).toEqual(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', { out: 'k' }]);
    const rsa4096 = instancesFor(cluster('key: { algorithm: rsa, size: 4096 }')).certs[0]!;
    expect(genKeyArgs(rsa4096.key, { out: 'k' })).toEqual(['genrsa', '-out', { out: 'k' }, '4096']);
  });
});

describe('kubeadm planner: copies on re-runs', () => {
  const i = instancesFor(cluster());

  it('on an empty folder, every copy waits for its source and copies each file with its mode', () => {
    const plan = planPki('kubeadm', i);
    const copy = item(plan.items, 'cp-2/ca');
    expect(copy.action).toBe('create');
    expect(copy.needs).toEqual(['ca']);
    expect(copy.steps).toEqual<Step[]>([
      { op: 'copy', from: '_cluster/pki/ca.crt', to: 'cp-2/pki/ca.crt', mode: 0o644 },
      { op: 'copy', from: '_cluster/pki/ca.key', to: 'cp-2/pki/ca.key', mode: 0o600 },
    ]);
    // The copies come after their sources in the plan.
    expect(plan.items.findIndex((x) => x.name === 'ca')).toBeLessThan(plan.items.findIndex((x) => x.name === 'cp-2/ca'));
  });

  it('keeps everything on a complete folder', () => {
    const plan = planPki('kubeadm', i, completeDisk(i));
    expect(plan.items.filter((x) => x.action !== 'keep').map((x) => x.name)).toEqual([]);
  });

  it('copies a missing copy again, reports a differing one as stale, replaces it (after a backup) with --force', () => {
    const disk = completeDisk(i);
    disk.copies!.set('cp-3/pki/etcd/ca.crt', { sourceExists: true, targetExists: false, same: false });
    disk.copies!.set('cp-2/pki/sa.pub', { sourceExists: true, targetExists: true, same: false });
    const plan = planPki('kubeadm', i, disk);
    expect(item(plan.items, 'cp-3/etcd-ca').steps).toEqual([{ op: 'copy', from: '_cluster/pki/etcd/ca.crt', to: 'cp-3/pki/etcd/ca.crt', mode: 0o644 }]);
    const stale = item(plan.items, 'cp-2/sa');
    expect(stale.action).toBe('stale');
    expect(stale.reasons.join()).toMatch(/cp-2\/pki\/sa\.pub differs from _cluster\/pki\/sa\.pub/);
    expect(stale.steps).toEqual([]);
    const forced = item(planPki('kubeadm', i, disk, { force: true }).items, 'cp-2/sa');
    expect(forced.action).toBe('reissue');
    expect(forced.steps).toEqual([
      { op: 'backup', file: 'cp-2/pki/sa.pub' },
      { op: 'copy', from: '_cluster/pki/sa.pub', to: 'cp-2/pki/sa.pub', mode: 0o644 },
    ]);
  });

  it('updates the copies of a re-issued source, but never overwrites a differing copy because the source was lost', () => {
    const disk = completeDisk(i);
    disk.certs.set('front-proxy-client', cert({ problems: ['CN is "x", expected "front-proxy-client"'] }));
    const plan = planPki('kubeadm', i, disk, { force: true });
    expect(item(plan.items, 'front-proxy-client').action).toBe('reissue');
    expect(item(plan.items, 'cp-1/front-proxy-client').steps.filter((s) => s.op === 'copy').map((s) => (s as { to: string }).to)).toEqual(['cp-1/pki/front-proxy-client.crt']);

    // _cluster/ lost: a new CA is made there, but the deployed copies are left alone and reported.
    const lost = completeDisk(i);
    lost.certs.set('etcd-ca', cert({ keyExists: false, certExists: false }));
    for (const cp of ['cp-1', 'cp-2', 'cp-3'])
      for (const ext of ['crt', 'key']) lost.copies!.set(`${cp}/pki/etcd/ca.${ext}`, { sourceExists: false, targetExists: true, same: false });
    const after = planPki('kubeadm', i, lost);
    expect(item(after.items, 'etcd-ca').action).toBe('create');
    expect(item(after.items, 'cp-1/etcd-ca').action).toBe('stale');
    expect(item(after.items, 'cp-1/etcd-ca').steps).toEqual([]);
  });
});

describe('external CA in the planner', () => {
  const i = instancesFor(cluster());
  const keyless = (disk: DiskState) => {
    disk.certs.set('ca', cert({ keyExists: false }));
    for (const cp of ['cp-1', 'cp-2', 'cp-3']) disk.copies!.set(`${cp}/pki/ca.key`, { sourceExists: false, targetExists: false, same: false });
    return disk;
  };

  it('keeps a CA certificate without its key and the certificates signed elsewhere; no CA key is copied', () => {
    const plan = planPki('kubeadm', i, keyless(completeDisk(i)));
    expect(item(plan.items, 'ca').action).toBe('keep');
    expect(item(plan.items, 'cp-1/apiserver').reasons).toEqual(['signed by the external CA ca']);
    expect(plan.items.filter((x) => x.action !== 'keep').map((x) => x.name)).toEqual([]);
  });

  it('fails (exit 1), naming each unsigned certificate and pointing at kube-pki csr', () => {
    const disk = keyless(completeDisk(i));
    disk.certs.set('cp-2/apiserver', cert({ certExists: false }));
    disk.certs.set('cp-3/admin', cert({ keyExists: false, certExists: false }));
    const error = thrown(() => planPki('kubeadm', i, disk));
    expect(error.exitCode).toBe(EXIT.failed);
    expect(error.message).toMatch(/_cluster\/pki\/ca\.crt has no _cluster\/pki\/ca\.key/);
    expect(error.message).toMatch(/cp-2\/apiserver: cp-2\/pki\/apiserver\.crt/);
    expect(error.message).toMatch(/cp-3\/admin: _cluster\/kubeconfig\/admin-cp-3\.crt/);
    expect(error.message).toMatch(/kube-pki csr/);
    expect(error.message).not.toMatch(/cp-1\/apiserver/);
  });

  it('reports a wrong certificate of the external CA as stale: kube-pki cannot re-issue it, even with --force', () => {
    const disk = keyless(completeDisk(i));
    disk.certs.set('cp-3/apiserver', cert({ problems: ['SANs missing: 10.96.0.1'] }));
    const stale = item(planPki('kubeadm', i, disk, { force: true }).items, 'cp-3/apiserver');
    expect(stale.action).toBe('stale');
    expect(stale.reasons.join('; ')).toMatch(/SANs missing: 10\.96\.0\.1; its CA ca has no key here/);
  });

  it('plans keys and requests for the leaves of the key-less CA only, keeping existing keys', () => {
    const disk = keyless(emptyDisk());
    disk.certs.set('cp-1/apiserver', cert({ certExists: false }));
    disk.certs.set('cp-2/admin', cert());
    const { plan, requests } = planCsrs('kubeadm', i, disk);
    const perControlPlane = ['admin', 'apiserver', 'controller-manager', 'kubelet', 'scheduler'];
    expect(requests.map((r) => r.name).sort()).toEqual(
      [
        'apiserver-kubelet-client',
        'super-admin',
        ...['cp-1', 'cp-2', 'cp-3'].flatMap((cp) => perControlPlane.map((id) => `${cp}/${id}`)).filter((n) => n !== 'cp-2/admin'),
        'worker-1/kubelet',
        'worker-2/kubelet',
      ].sort(),
    );
    expect(item(plan.items, 'cp-2/admin').action).toBe('keep');
    const kept = item(plan.items, 'cp-1/apiserver');
    expect(kept.keySteps).toEqual([]);
    expect(kept.outputs).toEqual(['cp-1/pki/apiserver.csr']);
    const fresh = item(plan.items, 'cp-2/apiserver');
    expect(fresh.outputs).toEqual(['cp-2/pki/apiserver.key', 'cp-2/pki/apiserver.csr']);
    expect(fresh.steps.find((s) => s.op === 'write')).toMatchObject({ content: expect.stringMatching(/extendedKeyUsage = serverAuth[\s\S]*DNS\.1 = cp-2/) });
    expect(requests.find((r) => r.name === 'cp-2/apiserver')).toEqual({
      name: 'cp-2/apiserver', csrPath: 'cp-2/pki/apiserver.csr', certPath: 'cp-2/pki/apiserver.crt', keyPath: 'cp-2/pki/apiserver.key', caCertPath: '_cluster/pki/ca.crt',
    });
  });

  it('refuses csr (exit 2) when no CA lacks its key', () => {
    const error = thrown(() => planCsrs('kubeadm', i, completeDisk(i)));
    expect(error.exitCode).toBe(EXIT.badInput);
    expect(error.message).toMatch(/no CA certificate without its key/);
  });
});

describe('flags of the hardway profile', () => {
  const lab = parseCluster(`profile: hardway
apiServer: { endpoint: 127.0.3.230 }
ssh: { user: vagrant }
nodes:
  - { name: master-1, address: 127.0.3.211, role: controlplane }
  - { name: worker-1, address: 127.0.3.221, role: worker }
  - { name: worker-2, address: 127.0.3.222, role: worker }
`, 'lab.yaml');

  it('names the flat files under the folder distribute fills (~/pki of the SSH user), one line per worker where the file is the worker\'s own', () => {
    const text = flags(lab, undefined, {});
    expect(text).toContain('--etcd-certfile=/home/vagrant/pki/etcd-server.crt');
    expect(text).toContain('--service-account-key-file=/home/vagrant/pki/service-account.crt');
    expect(text).toContain('--tls-cert-file=/home/vagrant/pki/worker-2.crt   # on worker-2');
    expect(flags(lab, 'kubelet', { dir: '/srv/pki' }).split('\n')).toContain('--kubeconfig=/srv/pki/worker-1.kubeconfig   # on worker-1');
  });

  it('refuses a relative --dir and an unknown component (exit 2)', () => {
    expect(thrown(() => flags(lab, undefined, { dir: 'pki' })).exitCode).toBe(EXIT.badInput);
    expect(thrown(() => flags(lab, 'kube-nothing', {})).message).toMatch(/"kube-nothing".*one of: kube-apiserver, kube-controller-manager/);
  });
});
