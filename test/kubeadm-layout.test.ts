import { X509Certificate, createPrivateKey, createPublicKey } from 'node:crypto';
import { readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubePki } from './helpers/cli.js';
import {
  CONTROL_PLANE_FILES,
  MATRIX_CERTS,
  MATRIX_KUBECONFIGS,
  PER_NODE,
  WORKER_FILES,
  cnOn,
  controlPlaneFiles,
  dn,
  expectedUsages,
  generated,
  kubectlView,
  listFiles,
  loadPair,
  opensslFacts,
  type MatrixCluster,
  MATRIX_DESCRIPTION,
} from './helpers/kubeadm.js';

// `gen` with profile kubeadm for 3 control planes (one on IPv6) and 2 workers (one on IPv6), a custom
// cluster domain and a DNS endpoint; every file checked against the matrix (test/helpers/kubeadm.ts).
const CLUSTER = MATRIX_DESCRIPTION;
const CONTROL_PLANES = [
  { name: 'cp-1', address: '127.0.3.131' },
  { name: 'cp-2', address: '127.0.3.132' },
  { name: 'cp-3', address: 'fd00::133' },
];
const WORKERS = ['worker-1', 'worker-2'];
const MATRIX_CLUSTER: MatrixCluster = {
  loadBalancer: ['k8s-api.corp.example', '127.0.3.130'],
  serviceIP: '10.32.0.1',
  domain: 'k8s.corp.example',
  extraSANs: ['api.k8s.corp.example', 'fd00::99'],
};
const DAY = 86_400_000;

describe('kubeadm layout: every file of the matrix', () => {
  let dir: string;
  let out: string;
  let config: string;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    ({ dir, out, config, cleanup } = await generated(CLUSTER));
  });
  afterAll(async () => cleanup());

  it('writes exactly the matrix files in each node tree, and nothing for the load balancer', async () => {
    expect((await readdir(out)).filter((f) => !f.startsWith('.')).sort()).toEqual(['_cluster', 'cp-1', 'cp-2', 'cp-3', 'worker-1', 'worker-2']);
    // super-admin.conf only on the first control plane, as kubeadm init makes it (join does not).
    for (const [i, cp] of CONTROL_PLANES.entries()) expect(await listFiles(join(out, cp.name)), cp.name).toEqual(controlPlaneFiles(i === 0));
    expect(controlPlaneFiles(true)).toEqual([...CONTROL_PLANE_FILES, 'super-admin.conf'].sort());
    for (const w of WORKERS) expect(await listFiles(join(out, w))).toEqual(WORKER_FILES);
  });

  it('has the subjects, issuers, SANs, usages, chains, keys and validity of the matrix on every control plane', async () => {
    for (const cp of CONTROL_PLANES) {
      const tree = join(out, cp.name);
      for (const spec of MATRIX_CERTS) {
        const what = `${cp.name}/${spec.path}`;
        const { cert, keyMatches } = await loadPair(tree, spec.path);
        expect(dn(cert.subject), what).toEqual({ cn: cnOn(spec, cp), o: spec.o });
        expect(keyMatches, what).toBe(true);
        const issuer = spec.ca ? new X509Certificate(await readFile(join(tree, `${spec.ca}.crt`))) : cert;
        expect(cert.issuer, what).toBe(issuer.subject);
        expect(cert.verify(issuer.publicKey), what).toBe(true);

        const facts = await opensslFacts(join(tree, `${spec.path}.crt`));
        const usages = expectedUsages(spec.kind, true);
        expect(facts.basicConstraints, what).toBe(spec.kind === 'ca' ? 'CA:TRUE' : 'CA:FALSE');
        expect(facts.text, what).toMatch(/X509v3 Basic Constraints: critical/);
        expect(facts.text, what).toMatch(/X509v3 Key Usage: critical/);
        expect(facts.keyUsage, what).toEqual(usages.keyUsage);
        expect(facts.extendedKeyUsage, what).toEqual(usages.eku);
        expect([facts.hasSki, facts.hasAki], what).toEqual([true, true]);
        expect([...facts.sans].sort(), what).toEqual([...new Set(spec.sans ? spec.sans(cp, MATRIX_CLUSTER) : [])].sort());

        const days = Math.round((Date.parse(cert.validTo) - Date.parse(cert.validFrom)) / DAY);
        expect(days, what).toBe(spec.kind === 'ca' ? 3650 : 365);
        if (spec.ca) {
          const verify = await execa('openssl', ['verify', '-CAfile', join(tree, `${spec.ca}.crt`), join(tree, `${spec.path}.crt`)], { reject: false, stdin: 'ignore' });
          expect(verify.exitCode, `${what}: ${verify.stderr}`).toBe(0);
        }
      }
    }
  });

  it('gives keys and kubeconfigs mode 0600, certificates and sa.pub 0644, folders 0700', async () => {
    for (const file of await listFiles(out)) {
      const mode = (await stat(join(out, file))).mode & 0o777;
      expect(mode, file).toBe(/\.(crt|pub)$/.test(file) ? 0o644 : 0o600);
    }
    for (const folder of ['', 'cp-1', 'cp-1/pki', 'cp-1/pki/etcd', 'worker-2', 'worker-2/pki', '_cluster/pki']) {
      expect((await stat(join(out, folder))).mode & 0o777, folder).toBe(0o700);
    }
  });

  it('has the same shared CAs, sa key pair and shared clients on every control plane, and per-node certificates of their own', async () => {
    const shared = CONTROL_PLANE_FILES.filter((f) => f.startsWith('pki/') && !PER_NODE.some((p) => f.startsWith(`${p}.`)));
    expect(shared).toContain('pki/ca.key');
    expect(shared).toContain('pki/sa.key');
    for (const file of shared) {
      const [first, ...rest] = await Promise.all(CONTROL_PLANES.map((cp) => readFile(join(out, cp.name, file))));
      for (const other of rest) expect(other.equals(first!), file).toBe(true);
    }
    for (const file of PER_NODE) {
      const keys = await Promise.all(CONTROL_PLANES.map((cp) => readFile(join(out, cp.name, `${file}.key`), 'utf8')));
      expect(new Set(keys).size, file).toBe(3);
    }
    const ca = await readFile(join(out, 'cp-1', 'pki/ca.crt'));
    for (const w of WORKERS) {
      expect((await readFile(join(out, w, 'pki/ca.crt'))).equals(ca)).toBe(true);
      expect((await listFiles(join(out, w))).filter((f) => f.endsWith('.key'))).toEqual([]);
    }
    const der = (pem: Buffer, pub: boolean) => (pub ? createPublicKey(pem) : createPublicKey(createPrivateKey(pem))).export({ type: 'spki', format: 'der' });
    const sa = join(out, 'cp-2', 'pki');
    expect(der(await readFile(join(sa, 'sa.pub')), true).equals(der(await readFile(join(sa, 'sa.key')), false))).toBe(true);
  });

  it('writes kubeconfigs that the real kubectl reads with the documented names, the CA, the right server and client certificate', async () => {
    const nodes = [
      ...CONTROL_PLANES.map((cp, i) => ({ ...cp, files: MATRIX_KUBECONFIGS.filter((k) => i === 0 || !k.firstOnly) })),
      ...WORKERS.map((w) => ({ name: w, address: '', files: MATRIX_KUBECONFIGS.filter((k) => k.file === 'kubelet.conf') })),
    ];
    const serials = new Map<string, Set<string>>();
    for (const node of nodes) {
      const ca = await readFile(join(out, node.name, 'pki/ca.crt'));
      for (const kc of node.files) {
        const what = `${node.name}/${kc.file}`;
        const view = await kubectlView(join(out, node.name, kc.file));
        // kubeadm: admin and super-admin to the ControlPlaneEndpoint; controller manager, scheduler and a control
        // plane's kubelet to the node's own apiserver; a worker's kubelet to the ControlPlaneEndpoint.
        const own = node.address.includes(':') ? `https://[${node.address}]:6443` : `https://${node.address}:6443`;
        const toOwn = kc.server === 'own' || (kc.server === 'own-on-control-plane' && node.address !== '');
        expect(view.clusters.map((c) => [c.name, c.cluster.server]), what).toEqual([['default-cluster', toOwn ? own : 'https://k8s-api.corp.example:6443']]);
        expect(view.contexts, what).toEqual([{ name: 'default-system', context: { cluster: 'default-cluster', user: kc.user } }]);
        expect(view['current-context'], what).toBe('default-system');
        expect(view.users.map((u) => u.name), what).toEqual([kc.user]);
        expect(Buffer.from(view.clusters[0]!.cluster['certificate-authority-data'], 'base64').equals(ca), what).toBe(true);
        const client = new X509Certificate(Buffer.from(view.users[0]!.user['client-certificate-data'], 'base64'));
        expect(dn(client.subject), what).toEqual({ cn: kc.cn(node.name), o: kc.o });
        expect(client.verify(new X509Certificate(ca).publicKey), what).toBe(true);
        expect(client.checkPrivateKey(createPrivateKey(Buffer.from(view.users[0]!.user['client-key-data'], 'base64'))), what).toBe(true);
        const source = join(out, '_cluster', 'kubeconfig', `${kc.certFile(node.name)}.crt`);
        expect(client.raw.equals(new X509Certificate(await readFile(source)).raw), what).toBe(true);
        const facts = await opensslFacts(source);
        expect(facts.extendedKeyUsage, what).toEqual(['TLS Web Client Authentication']);
        serials.set(kc.file, (serials.get(kc.file) ?? new Set()).add(client.serialNumber));
      }
    }
    // Each control plane has client certificates of its own, as kubeadm join makes them.
    for (const file of ['admin.conf', 'controller-manager.conf', 'scheduler.conf']) expect(serials.get(file)?.size, file).toBe(3);
    expect(serials.get('super-admin.conf')?.size).toBe(1);
  });

  it('prints kubectl config commands that make the same kubeconfigs with the real kubectl', async () => {
    const copy = join(dir, 'by-kubectl');
    await execa('cp', ['-a', out, copy], { stdin: 'ignore' });
    const confs = (await listFiles(copy)).filter((f) => f.endsWith('.conf'));
    expect(confs).toHaveLength(15);
    for (const f of confs) await rm(join(copy, f));
    const printed = await kubePki(['kubectl-commands', '--config', config, '--out', copy]);
    expect(printed.exitCode, String(printed.stderr)).toBe(0);
    expect(String(printed.stdout)).toContain(
      'KUBECONFIG=cp-1/admin.conf kubectl config set-credentials default-admin --client-certificate=_cluster/kubeconfig/admin-cp-1.crt --client-key=_cluster/kubeconfig/admin-cp-1.key --embed-certs=true',
    );
    await writeFile(join(dir, 'kubeconfigs.sh'), String(printed.stdout));
    const run = await execa('bash', [join(dir, 'kubeconfigs.sh')], { reject: false, stdin: 'ignore', timeout: 120_000 });
    expect(run.exitCode, String(run.stderr)).toBe(0);
    for (const f of confs) expect(await kubectlView(join(copy, f)), f).toEqual(await kubectlView(join(out, f)));
  });

  it('prints the flags of the matrix with their real paths', async () => {
    const r = await kubePki(['flags', '--config', config]);
    expect(r.exitCode, String(r.stderr)).toBe(0);
    const pairs = String(r.stdout).split('\n');
    const P = '/etc/kubernetes/pki';
    const want: Record<string, string[]> = {
      'kube-apiserver': [
        `--etcd-cafile=${P}/etcd/ca.crt`, `--etcd-certfile=${P}/apiserver-etcd-client.crt`, `--etcd-keyfile=${P}/apiserver-etcd-client.key`,
        `--client-ca-file=${P}/ca.crt`, `--tls-cert-file=${P}/apiserver.crt`, `--tls-private-key-file=${P}/apiserver.key`,
        `--kubelet-client-certificate=${P}/apiserver-kubelet-client.crt`, `--kubelet-client-key=${P}/apiserver-kubelet-client.key`,
        `--requestheader-client-ca-file=${P}/front-proxy-ca.crt`, `--proxy-client-cert-file=${P}/front-proxy-client.crt`,
        `--proxy-client-key-file=${P}/front-proxy-client.key`, `--service-account-key-file=${P}/sa.pub`,
      ],
      'kube-controller-manager': [
        `--cluster-signing-cert-file=${P}/ca.crt`, `--cluster-signing-key-file=${P}/ca.key`, `--client-ca-file=${P}/ca.crt`, `--root-ca-file=${P}/ca.crt`,
        `--requestheader-client-ca-file=${P}/front-proxy-ca.crt`, `--service-account-private-key-file=${P}/sa.key`,
        '--kubeconfig=/etc/kubernetes/controller-manager.conf',
      ],
      etcd: [`--trusted-ca-file=${P}/etcd/ca.crt`, `--peer-trusted-ca-file=${P}/etcd/ca.crt`, `--cert-file=${P}/etcd/server.crt`, `--key-file=${P}/etcd/server.key`, `--peer-cert-file=${P}/etcd/peer.crt`, `--peer-key-file=${P}/etcd/peer.key`],
      etcdctl: [`--cacert=${P}/etcd/ca.crt`, `--cert=${P}/etcd/healthcheck-client.crt`, `--key=${P}/etcd/healthcheck-client.key`],
    };
    for (const [component, flags] of Object.entries(want)) {
      const start = pairs.indexOf(`# ${component}`);
      expect(start, component).toBeGreaterThan(-1);
      const end = pairs.indexOf('', start);
      const section = pairs.slice(start + 1, end < 0 ? undefined : end);
      for (const f of flags) expect(section, component).toContain(f);
      const only = await kubePki(['flags', component, '--config', config]);
      expect(String(only.stdout).split('\n').filter((l) => l.startsWith('--'))).toEqual(section);
    }
    const unknown = await kubePki(['flags', 'kube-nothing', '--config', config]);
    expect(unknown.exitCode).toBe(2);
    expect(String(unknown.stderr)).toMatch(/component "kube-nothing" reads no file .*one of: kube-apiserver/);
  });

  it('keeps everything on a re-run, copies a missing copy again, and leaves a differing copy stale until --force', async () => {
    const again = await kubePki(['gen', '--config', config, '--out', out]);
    expect(again.exitCode, String(again.stderr)).toBe(0);
    expect(String(again.stdout)).toMatch(/0 created, 0 re-issued, \d+ kept, 0 stale, 0 failed/);

    await rm(join(out, 'cp-2/pki/etcd/ca.crt'));
    const recopied = await kubePki(['gen', '--config', config, '--out', out]);
    expect(recopied.exitCode, String(recopied.stderr)).toBe(0);
    expect(String(recopied.stdout)).toMatch(/cp-2\/etcd-ca: created \(copied from _cluster\/pki\/etcd\/ca\.crt\)/);
    expect((await readFile(join(out, 'cp-2/pki/etcd/ca.crt'))).equals(await readFile(join(out, '_cluster/pki/etcd/ca.crt')))).toBe(true);

    const foreign = await readFile(join(out, 'cp-1/pki/front-proxy-ca.crt'));
    await writeFile(join(out, 'cp-3/pki/ca.crt'), foreign);
    const stale = await kubePki(['gen', '--config', config, '--out', out]);
    expect(stale.exitCode).toBe(3);
    expect(String(stale.stdout)).toMatch(/stale: cp-3\/ca: cp-3\/pki\/ca\.crt differs from _cluster\/pki\/ca\.crt/);
    expect((await readFile(join(out, 'cp-3/pki/ca.crt'))).equals(foreign)).toBe(true);

    const forced = await kubePki(['gen', '--config', config, '--out', out, '--force']);
    expect(forced.exitCode, String(forced.stderr)).toBe(0);
    expect((await readFile(join(out, 'cp-3/pki/ca.crt'))).equals(await readFile(join(out, '_cluster/pki/ca.crt')))).toBe(true);
    const backups = (await readdir(out)).filter((f) => f.startsWith('backup-'));
    expect(backups).toHaveLength(1);
    expect((await readFile(join(out, backups[0]!, 'cp-3/pki/ca.crt'))).equals(foreign)).toBe(true);
  });

  it('a lost _cluster folder: node trees (kubeconfigs and their pki/ca.crt) are left alone until --force', async () => {
    const confs = (await listFiles(out)).filter((f) => f.endsWith('.conf') && !f.startsWith('backup-') && !f.startsWith('_cluster/'));
    expect(confs.length).toBeGreaterThan(0);
    const before = new Map(await Promise.all(confs.map(async (f) => [f, await readFile(join(out, f))] as const)));
    await rm(join(out, '_cluster'), { recursive: true });

    const r = await kubePki(['gen', '--config', config, '--out', out]);
    expect(r.exitCode, String(r.stderr)).toBe(3);
    // A kubeconfig would embed the new CA while its tree's pki/ca.crt stays the old one: not rewritten.
    expect(String(r.stdout)).toMatch(/^stale: cp-1\/admin\.conf: cp-1\/pki\/ca\.crt would stay another CA than the _cluster\/pki\/ca\.crt it embeds/m);
    expect(String(r.stdout)).not.toMatch(/\.conf: re-issued/);
    for (const [f, bytes] of before) expect((await readFile(join(out, f))).equals(bytes), f).toBe(true);

    const forced = await kubePki(['gen', '--config', config, '--out', out, '--force']);
    expect(forced.exitCode, String(forced.stderr)).toBe(0);
    const check = await kubePki(['check', '--config', config, '--out', out]);
    expect(check.exitCode, String(check.stdout)).toBe(0);
    for (const f of confs) {
      const view = await kubectlView(join(out, f));
      const embedded = Buffer.from(view.clusters[0]!.cluster['certificate-authority-data'], 'base64');
      expect(embedded.equals(await readFile(join(out, f.split('/')[0]!, 'pki/ca.crt'))), f).toBe(true);
    }
  });
});
