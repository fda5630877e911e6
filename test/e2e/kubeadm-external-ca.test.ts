import { X509Certificate } from 'node:crypto';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkJson } from '../check-fixtures.js';
import { kubectl } from '../helpers/apiserver.js';
import { kubePki, tempDir } from '../helpers/cli.js';
import { dn, kubectlView, listFiles, opensslFacts, withFakeApiserver } from '../helpers/kubeadm.js';

// An external CA: a corporate intermediate with its key (kube-pki signs with it and keeps it), and a
// CA certificate without its key (kube-pki csr writes requests, someone else signs, gen picks them up).
// Loopback only: 127.0.3.7x-9x.

const CA_CNF = `[req]
distinguished_name = dn
[dn]
[v3_ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, digitalSignature, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
`;

const openssl = async (args: string[], cwd: string) => {
  const r = await execa('openssl', args, { cwd, reject: false, stdin: 'ignore' });
  if (r.exitCode !== 0) throw new Error(`openssl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};

/** A corporate root CA, and an intermediate it signed: files root.{crt,key}, int.{crt,key} in `dir`. */
async function corporateCa(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'ca.cnf'), CA_CNF);
  const key = (name: string) => openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', `${name}.key`], dir);
  await Promise.all([key('root'), key('int')]);
  await openssl(['req', '-x509', '-new', '-key', 'root.key', '-subj', '/CN=Corp Root CA/O=Corp', '-days', '30', '-config', 'ca.cnf', '-extensions', 'v3_ca', '-out', 'root.crt'], dir);
  await openssl(['req', '-new', '-key', 'int.key', '-subj', '/CN=Corp Kubernetes Intermediate/O=Corp', '-config', 'ca.cnf', '-out', 'int.csr'], dir);
  await openssl(['x509', '-req', '-in', 'int.csr', '-CA', 'root.crt', '-CAkey', 'root.key', '-set_serial', '0x1234', '-days', '30', '-extfile', 'ca.cnf', '-extensions', 'v3_ca', '-out', 'int.crt'], dir);
}

/** Signs a request as the holder of the CA key would: keeping the extensions it asks for. */
const sign = (csr: string, ca: string, out: string, copyExtensions = true) =>
  openssl(['x509', '-req', '-in', csr, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, ...(copyExtensions ? ['-copy_extensions', 'copy'] : []), '-days', '30', '-sha256', '-set_serial', `0x${Date.now().toString(16)}${Math.floor(Math.random() * 1e6)}`, '-out', out], dirname(ca));

const verify = (caFile: string, cert: string) => execa('openssl', ['verify', '-CAfile', caFile, cert], { reject: false, stdin: 'ignore' });

const cluster = (endpoint: string, port: number) => `profile: kubeadm
key: { algorithm: ecdsa, curve: P-256 }
apiServer: { endpoint: ${endpoint}, port: ${port} }
nodes:
  - { name: cp-1, address: 127.0.3.71, role: controlplane }
  - { name: cp-2, address: 127.0.3.72, role: controlplane }
  - { name: worker-1, address: 127.0.3.81, role: worker }
`;

let dir: string;
let cleanup: () => Promise<void>;
let corp: string;

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir());
  corp = join(dir, 'corp');
  await corporateCa(corp);
});
afterAll(async () => cleanup());

describe('external intermediate CA with its key', () => {
  let out: string;
  let config: string;
  let bundle: Buffer;

  beforeAll(async () => {
    out = join(dir, 'with-key');
    config = join(dir, 'with-key.yaml');
    await writeFile(config, cluster('127.0.3.90', 16445));
    // ca.crt: the intermediate first, then the chain up to the root (kubeadm.md, "External CA").
    bundle = Buffer.concat([await readFile(join(corp, 'int.crt')), await readFile(join(corp, 'root.crt'))]);
    await mkdir(join(out, '_cluster/pki'), { recursive: true, mode: 0o700 });
    await writeFile(join(out, '_cluster/pki/ca.crt'), bundle);
    await writeFile(join(out, '_cluster/pki/ca.key'), await readFile(join(corp, 'int.key')), { mode: 0o600 });
    const r = await kubePki(['gen', '--config', config, '--out', out]);
    expect(r.exitCode, `${String(r.stdout)}\n${String(r.stderr)}`).toBe(0);
  });

  it('uses the intermediate as it is, signs with it, and creates only the other CAs', async () => {
    expect((await readFile(join(out, '_cluster/pki/ca.crt'))).equals(bundle)).toBe(true);
    expect((await readFile(join(out, 'cp-2/pki/ca.crt'))).equals(bundle)).toBe(true);
    expect((await readFile(join(out, 'worker-1/pki/ca.crt'))).equals(bundle)).toBe(true);
    const apiserver = new X509Certificate(await readFile(join(out, 'cp-1/pki/apiserver.crt')));
    expect(dn(apiserver.issuer)).toEqual({ cn: 'Corp Kubernetes Intermediate', o: ['Corp'] });
    // The whole chain verifies against ca.crt, with OpenSSL too (it needs the root in the file).
    for (const leaf of ['cp-1/pki/apiserver.crt', 'cp-2/pki/apiserver-kubelet-client.crt', '_cluster/kubeconfig/admin-cp-1.crt', '_cluster/kubeconfig/super-admin.crt']) {
      const v = await verify(join(out, 'cp-1/pki/ca.crt'), join(out, leaf));
      expect(v.exitCode, `${leaf}: ${v.stderr}`).toBe(0);
    }
    const etcdCa = new X509Certificate(await readFile(join(out, 'cp-1/pki/etcd/ca.crt')));
    expect([dn(etcdCa.subject).cn, etcdCa.issuer]).toEqual(['etcd-ca', etcdCa.subject]);
    const view = await kubectlView(join(out, 'cp-1/admin.conf'));
    expect(Buffer.from(view.clusters[0]!.cluster['certificate-authority-data'], 'base64').equals(bundle)).toBe(true);
  });

  it('lets kubectl reach a server whose certificate the intermediate signed, trusting ca.crt', async () => {
    // The server trusts the bundle, as kube-apiserver --client-ca-file=pki/ca.crt would.
    const tls = { cert: join(out, 'cp-1/pki/apiserver.crt'), key: join(out, 'cp-1/pki/apiserver.key'), ca: join(out, 'cp-1/pki/ca.crt') };
    await withFakeApiserver(tls, '127.0.3.90', 16445, async (api) => {
      const r = await kubectl(join(out, 'cp-2/admin.conf'), ['get', '--raw', '/version']);
      expect(r.exitCode, String(r.stderr)).toBe(0);
      expect(api.clients.at(-1)).toBe('CN=kubernetes-admin\nO=kubeadm:cluster-admins');
    });
  });

  it('keeps the external CA on a re-run, and says why in --json', async () => {
    const r = await kubePki(['gen', '--config', config, '--out', out, '--json']);
    expect(r.exitCode, String(r.stderr)).toBe(0);
    const items = JSON.parse(String(r.stdout)).items as { name: string; action: string; reasons: string[] }[];
    expect(items.filter((i) => i.action !== 'keep')).toEqual([]);
    expect(items.find((i) => i.name === 'ca')!.reasons).toEqual(['external CA "Corp Kubernetes Intermediate", used as it is']);
  });

  it('check accepts the intermediate as gen does: a note that it is external, still judged as a CA (validity, chain)', async () => {
    // The corporate CA lives 30 days, within the default --warn-days: with 7, only the note is left.
    const r = await checkJson(config, out, ['--warn-days', '7']);
    expect(r.exitCode, JSON.stringify(r.report.cas)).toBe(0);
    const ca = r.report.cas.find((c) => c.file === '_cluster/pki/ca.crt')!;
    expect(ca.problems.map((p) => [p.severity, p.code])).toEqual([['note', 'external-ca']]);
    expect(ca.problems[0]!.message).toBe('external CA CN=Corp Kubernetes Intermediate (issued by CN=Corp Root CA, O=Corp): used as it is, as gen does');
    // The other notes: two admin.conf (the binding) and super-admin.conf (lock it away).
    expect(r.report.summary).toMatchObject({ errors: 0, warnings: 0, notes: 4 });
    expect(r.report.kubeconfigs.flatMap((k) => k.problems.map((p) => [k.file, p.code]))).toEqual([['cp-1/admin.conf', 'caution'], ['cp-2/admin.conf', 'caution'], ['cp-1/super-admin.conf', 'caution']]);
    // Its validity still counts: within 30 days of its end it is a warning.
    const soon = await checkJson(config, out);
    expect(soon.exitCode).toBe(1);
    expect(soon.report.cas.flatMap((c) => c.problems.filter((p) => p.severity !== 'note').map((p) => [c.file, p.code]))).toEqual([['_cluster/pki/ca.crt', 'expires-soon']]);
  });

  it('check still judges the external CA as a CA: CA:TRUE and keyCertSign', async () => {
    const notCa = join(dir, 'not-a-ca');
    await execa('cp', ['-a', out, notCa], { stdin: 'ignore' });
    // The same intermediate name and key, re-issued as a leaf: its signatures still verify.
    await writeFile(join(corp, 'leaf.cnf'), '[v3_leaf]\nbasicConstraints = critical, CA:FALSE\nkeyUsage = critical, digitalSignature\n');
    await openssl(['x509', '-req', '-in', 'int.csr', '-CA', 'root.crt', '-CAkey', 'root.key', '-set_serial', '0x4321', '-days', '30', '-extfile', 'leaf.cnf', '-extensions', 'v3_leaf', '-out', 'int-leaf.crt'], corp);
    await writeFile(join(notCa, '_cluster/pki/ca.crt'), Buffer.concat([await readFile(join(corp, 'int-leaf.crt')), await readFile(join(corp, 'root.crt'))]));
    const r = await checkJson(config, notCa, ['--warn-days', '7']);
    expect(r.exitCode).toBe(1);
    const ca = r.report.cas.find((c) => c.file === '_cluster/pki/ca.crt')!;
    expect(ca.problems.map((p) => p.code)).toEqual(['external-ca', 'ca-basic-constraints', 'ca-key-usage']);
    expect(ca.problems[2]!.message).toBe('keyUsage lacks keyCertSign (has digitalSignature); a CA needs keyCertSign');
  });

  it('reports a ca.crt whose chain is broken', async () => {
    const broken = join(dir, 'broken');
    await execa('cp', ['-a', out, broken], { stdin: 'ignore' });
    await writeFile(join(broken, '_cluster/pki/ca.crt'), Buffer.concat([await readFile(join(corp, 'int.crt')), await readFile(join(broken, '_cluster/pki/etcd/ca.crt'))]));
    const r = await kubePki(['gen', '--config', config, '--out', broken]);
    expect(r.exitCode).toBe(3);
    expect(String(r.stdout)).toMatch(/stale: ca: _cluster\/pki\/ca\.crt: certificate 2 of the file did not issue certificate 1/);
    const check = await checkJson(config, broken, ['--warn-days', '7']);
    expect(check.exitCode).toBe(1);
    expect(check.report.cas.find((c) => c.file === '_cluster/pki/ca.crt')!.problems).toContainEqual(
      expect.objectContaining({ code: 'chain', message: expect.stringContaining('certificate 2 of the file did not issue certificate 1') }),
    );
  });
});

describe('external CA without its key: kube-pki csr, signed elsewhere, picked up by gen', () => {
  let out: string;
  let config: string;
  const gen = (...extra: string[]) => kubePki(['gen', '--config', config, '--out', out, ...extra]);

  beforeAll(async () => {
    out = join(dir, 'csr-only');
    config = join(dir, 'csr-only.yaml');
    await writeFile(config, cluster('127.0.3.91', 16446));
    await mkdir(join(out, '_cluster/pki'), { recursive: true, mode: 0o700 });
    await writeFile(join(out, '_cluster/pki/ca.crt'), await readFile(join(corp, 'root.crt')));
  });

  it('gen fails before writing anything, naming what must be signed and pointing at kube-pki csr', async () => {
    const r = await gen();
    expect(r.exitCode).toBe(1);
    expect(String(r.stderr)).toMatch(/_cluster\/pki\/ca\.crt has no _cluster\/pki\/ca\.key/);
    expect(String(r.stderr)).toMatch(/cp-2\/apiserver: cp-2\/pki\/apiserver\.crt/);
    expect(String(r.stderr)).toMatch(/kube-pki csr/);
    expect(await listFiles(out)).toEqual(['_cluster/pki/ca.crt']);
  });

  it('csr writes a key and a request with the right subject and extensions for every leaf of that CA only', async () => {
    const r = await kubePki(['csr', '--config', config, '--out', out]);
    expect(r.exitCode, `${String(r.stdout)}\n${String(r.stderr)}`).toBe(0);
    const csrs = (await listFiles(out)).filter((f) => f.endsWith('.csr'));
    expect(csrs).toEqual(
      [
        ...['admin', 'controller-manager', 'scheduler', 'kubelet'].flatMap((id) => ['cp-1', 'cp-2'].map((cp) => `_cluster/kubeconfig/${id}-${cp}.csr`)),
        '_cluster/kubeconfig/kubelet-worker-1.csr',
        '_cluster/kubeconfig/super-admin.csr',
        '_cluster/pki/apiserver-kubelet-client.csr',
        'cp-1/pki/apiserver.csr',
        'cp-2/pki/apiserver.csr',
      ].sort(),
    );
    expect(String(r.stdout)).toContain('cp-1/pki/apiserver.csr -> cp-1/pki/apiserver.crt');
    for (const csr of csrs) expect((await stat(join(out, csr.replace(/\.csr$/, '.key')))).mode & 0o777, csr).toBe(0o600);
    const text = await openssl(['req', '-in', join(out, 'cp-2/pki/apiserver.csr'), '-noout', '-text', '-verify'], out);
    expect(text).toMatch(/Subject: CN = kube-apiserver/);
    expect(text).toMatch(/Requested Extensions:[\s\S]*TLS Web Server Authentication/);
    expect(text).toMatch(/DNS:cp-2, DNS:localhost, .*IP Address:127\.0\.3\.72/);
    const admin = await openssl(['req', '-in', join(out, '_cluster/kubeconfig/admin-cp-2.csr'), '-noout', '-subject'], out);
    expect(admin).toMatch(/CN = kubernetes-admin, O = kubeadm:cluster-admins/);
    const superAdmin = await openssl(['req', '-in', join(out, '_cluster/kubeconfig/super-admin.csr'), '-noout', '-subject'], out);
    expect(superAdmin).toMatch(/CN = kubernetes-super-admin, O = system:masters/);
    // Nothing of etcd-ca or front-proxy-ca: kube-pki holds those keys and signs them itself.
    expect(csrs.some((f) => f.includes('etcd') || f.includes('front-proxy'))).toBe(false);
  });

  it('csr again keeps the keys', async () => {
    const before = await readFile(join(out, 'cp-1/pki/apiserver.key'));
    const r = await kubePki(['csr', '--config', config, '--out', out]);
    expect(r.exitCode, String(r.stderr)).toBe(0);
    expect((await readFile(join(out, 'cp-1/pki/apiserver.key'))).equals(before)).toBe(true);
  });

  it('gen picks up the signed certificates, makes the rest, and never writes a key of the external CA', async () => {
    for (const csr of (await listFiles(out)).filter((f) => f.endsWith('.csr'))) await sign(join(out, csr), join(corp, 'root'), join(out, csr.replace(/\.csr$/, '.crt')));
    const r = await gen();
    expect(r.exitCode, `${String(r.stdout)}\n${String(r.stderr)}`).toBe(0);
    const files = await listFiles(out);
    expect(files.filter((f) => /(^|\/)ca\.key$/.test(f) && !f.includes('etcd'))).toEqual([]);
    expect(files).toContain('cp-2/pki/etcd/ca.key');
    expect(files).toContain('cp-2/pki/front-proxy-client.crt');
    for (const leaf of ['cp-1/pki/apiserver.crt', 'cp-2/pki/apiserver-kubelet-client.crt']) {
      const v = await verify(join(out, 'cp-2/pki/ca.crt'), join(out, leaf));
      expect(v.exitCode, `${leaf}: ${v.stderr}`).toBe(0);
    }
    const view = await kubectlView(join(out, 'worker-1/kubelet.conf'));
    expect(Buffer.from(view.users[0]!.user['client-certificate-data'], 'base64').equals(await readFile(join(out, '_cluster/kubeconfig/kubelet-worker-1.crt')))).toBe(true);

    const tls = { cert: join(out, 'cp-2/pki/apiserver.crt'), key: join(out, 'cp-2/pki/apiserver.key'), ca: join(out, 'cp-2/pki/ca.crt') };
    await withFakeApiserver(tls, '127.0.3.91', 16446, async (api) => {
      const k = await kubectl(join(out, 'cp-1/admin.conf'), ['get', '--raw', '/version']);
      expect(k.exitCode, String(k.stderr)).toBe(0);
      expect(api.clients.at(-1)).toBe('CN=kubernetes-admin\nO=kubeadm:cluster-admins');
    });
    const again = await gen();
    expect(again.exitCode, String(again.stderr)).toBe(0);
    expect(String(again.stdout)).toMatch(/0 created, 0 re-issued, \d+ kept, 0 stale/);
    const csrAgain = await kubePki(['csr', '--config', config, '--out', out]);
    expect(String(csrAgain.stdout)).toMatch(/0 written, 13 already signed/);
  });

  it('check accepts the CA without its key as gen does: notes, no missing key or key copies', async () => {
    const r = await checkJson(config, out, ['--warn-days', '7']);
    expect(r.exitCode, JSON.stringify(r.report.summary)).toBe(0);
    const ca = r.report.cas.find((c) => c.file === '_cluster/pki/ca.crt')!;
    expect(ca.problems.map((p) => p.code)).toEqual(['external-ca', 'ca-key-absent']);
    expect(r.report.copies.some((c) => c.file.endsWith('/pki/ca.key'))).toBe(false);
  });

  it('checks what comes back signed: a certificate without the requested extensions is stale', async () => {
    await sign(join(out, 'cp-2/pki/apiserver.csr'), join(corp, 'root'), join(out, 'cp-2/pki/apiserver.crt'), false);
    const r = await gen('--force');
    expect(r.exitCode).toBe(3);
    expect(String(r.stdout)).toMatch(/stale: cp-2\/apiserver: SANs missing: cp-2, localhost, .*its CA ca has no key here/);
    const facts = await opensslFacts(join(out, 'cp-2/pki/apiserver.crt'));
    expect(facts.sans).toEqual([]);
  });
});

describe('hardway with an external CA without its key', () => {
  it('goes through the same csr flow with the flat file names', async () => {
    const out = join(dir, 'hardway');
    const config = join(dir, 'hardway.yaml');
    await writeFile(config, `profile: hardway
key: { algorithm: ecdsa, curve: P-256 }
apiServer: { endpoint: 127.0.3.95 }
nodes:
  - { name: master-1, address: 127.0.3.93, role: controlplane }
  - { name: worker-1, address: 127.0.3.94, role: worker }
`);
    await mkdir(out, { mode: 0o700 });
    await writeFile(join(out, 'ca.crt'), await readFile(join(corp, 'int.crt')));
    const refused = await kubePki(['gen', '--config', config, '--out', out]);
    expect(refused.exitCode).toBe(1);
    expect(String(refused.stderr)).toMatch(/kube-apiserver: kube-apiserver\.crt[\s\S]*kube-pki csr/);
    const csr = await kubePki(['csr', '--config', config, '--out', out]);
    expect(csr.exitCode, String(csr.stderr)).toBe(0);
    const csrs = (await listFiles(out)).filter((f) => f.endsWith('.csr'));
    expect(csrs).toContain('kube-apiserver.csr');
    expect(csrs).toContain('worker-1.csr');
    for (const f of csrs) await sign(join(out, f), join(corp, 'int'), join(out, f.replace(/\.csr$/, '.crt')));
    const r = await kubePki(['gen', '--config', config, '--out', out]);
    expect(r.exitCode, `${String(r.stdout)}\n${String(r.stderr)}`).toBe(0);
    expect(await listFiles(out)).not.toContain('ca.key');
    const facts = await opensslFacts(join(out, 'worker-1.crt'));
    expect(facts.extendedKeyUsage).toEqual(['TLS Web Server Authentication', 'TLS Web Client Authentication']);
    expect(facts.keyUsage).toEqual(['Digital Signature']);
    const view = await kubectlView(join(out, 'admin.kubeconfig'));
    expect(view.users[0]!.name).toBe('admin');
  });
});
