import { X509Certificate } from 'node:crypto';
import { mkdir, readFile, readdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Cluster } from '../src/model/cluster.js';
import { parseExtensions } from '../src/inspect/der.js';
import { instancesFor } from '../src/pki.js';
import { kubePki, tempDir } from './helpers/cli.js';
import { opensslView } from './helpers/x509.js';
import { checkJson, copyPki, labCluster, openssl } from './check-fixtures.js';

// The certificate chapter of the Vagrant lab, command for command (reference 002, cert-matrix.md):
// a v1 CA made with `x509 -req -signkey`, clients without any extension, and the apiserver and
// etcd certificates from hand-written openssl.cnf files with v3_req but no extendedKeyUsage.
const V3_REQ = (alt: string[]) =>
  [
    '[req]', 'req_extensions = v3_req', 'distinguished_name = req_distinguished_name', '[req_distinguished_name]', '[ v3_req ]',
    'basicConstraints = CA:FALSE', 'keyUsage = nonRepudiation, digitalSignature, keyEncipherment', 'subjectAltName = @alt_names',
    '[alt_names]', ...alt, '',
  ].join('\n');

/** An openssl.cnf for `req -x509` with exactly these extensions (none from the system's openssl.cnf). */
const plainCnf = (ext: string[]) => ['[req]', 'distinguished_name = dn', 'x509_extensions = ext', '[dn]', '[ext]', ...ext, ''].join('\n');

const CLIENTS: [string, string][] = [
  ['admin', '/CN=admin/O=system:masters'],
  ['kube-controller-manager', '/CN=system:kube-controller-manager'],
  ['kube-proxy', '/CN=system:kube-proxy'],
  ['kube-scheduler', '/CN=system:kube-scheduler'],
];

async function labCommands(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(
    join(dir, 'openssl.cnf'),
    V3_REQ(['DNS.1 = kubernetes', 'DNS.2 = kubernetes.default', 'DNS.3 = kubernetes.default.svc', 'DNS.4 = kubernetes.default.svc.cluster.local',
      'IP.1 = 10.96.0.1', 'IP.2 = 192.168.5.11', 'IP.3 = 192.168.5.12', 'IP.4 = 192.168.5.30', 'IP.5 = 127.0.0.1']),
  );
  await writeFile(join(dir, 'openssl-etcd.cnf'), V3_REQ(['IP.1 = 192.168.5.11', 'IP.2 = 192.168.5.12', 'IP.3 = 127.0.0.1']));
  const x = (args: string[]) => openssl(args, dir);
  await x(['genrsa', '-out', 'ca.key', '2048']);
  await x(['req', '-new', '-key', 'ca.key', '-subj', '/CN=KUBERNETES-CA', '-out', 'ca.csr']);
  await x(['x509', '-req', '-in', 'ca.csr', '-signkey', 'ca.key', '-CAcreateserial', '-out', 'ca.crt', '-days', '1000']);
  const leaf = async (name: string, subj: string, cnf?: string) => {
    await x(['genrsa', '-out', `${name}.key`, '2048']);
    await x(['req', '-new', '-key', `${name}.key`, '-subj', subj, '-out', `${name}.csr`, ...(cnf ? ['-config', cnf] : [])]);
    await x(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.crt`,
      ...(cnf ? ['-extensions', 'v3_req', '-extfile', cnf] : []), '-days', '1000']);
  };
  for (const [name, subj] of CLIENTS) await leaf(name, subj);
  await leaf('kube-apiserver', '/CN=kube-apiserver', 'openssl.cnf');
  await leaf('etcd-server', '/CN=etcd-server', 'openssl-etcd.cnf');
  await leaf('service-account', '/CN=service-accounts');
}

describe('kube-pki check on a folder made by hand with the lab\'s plain openssl commands', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let config: string;
  let cluster: Cluster;
  let lab: string;

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('kube-pki-check-lab-'));
    ({ config, cluster } = await labCluster(dir));
    lab = join(dir, 'lab');
    await labCommands(lab);
  });
  afterAll(() => cleanup());

  it('reports the v1 CA\'s missing extensions and the missing extendedKeyUsage instead of crashing', async () => {
    const { exitCode, report, stderr } = await checkJson(config, lab);
    expect(exitCode, stderr).toBe(1);
    const ca = report.cas.find((r) => r.file === 'ca.crt')!;
    expect(ca.catalog).toBe('ca');
    expect(ca.problems.filter((p) => p.severity === 'error').map((p) => p.code)).toEqual(['ca-basic-constraints', 'ca-key-usage']);
    expect(ca.problems[0]!.message).toBe('no basicConstraints extension (X.509 v1: no extensions at all): a CA needs critical CA:TRUE');
    expect(ca.problems[1]!.message).toBe('no keyUsage extension (X.509 v1: no extensions at all): a CA needs digitalSignature, keyCertSign, cRLSign');

    for (const [name] of CLIENTS) {
      const row = report.certificates.find((r) => r.file === `${name}.crt`)!;
      expect(row.catalog).toBe(name);
      expect(row.ca).toBe('ca.crt');
      expect(row.problems.map((p) => p.code)).toEqual(['key-usage', 'eku-missing']);
      expect(row.problems[1]!.message).toBe('no extendedKeyUsage extension (X.509 v1: no extensions at all): a client certificate needs clientAuth');
    }
    const api = report.certificates.find((r) => r.file === 'kube-apiserver.crt')!;
    expect(api.sanCheck).toEqual({ missing: [], unexpected: [] });
    expect(api.problems.map((p) => [p.severity, p.code])).toEqual([['note', 'key-usage-not-critical'], ['error', 'eku-missing']]);
    expect(api.problems[1]!.message).toBe('no extendedKeyUsage extension: a server certificate needs serverAuth');
    const etcd = report.certificates.find((r) => r.file === 'etcd-server.crt')!;
    expect(etcd.problems.find((p) => p.code === 'eku-missing')!.message).toBe('no extendedKeyUsage extension: a server and client certificate needs serverAuth, clientAuth');
  });

  it('says which catalog entries it recognised and which are missing', async () => {
    const { report } = await checkJson(config, lab);
    const instances = instancesFor(cluster);
    const made = ['ca', ...CLIENTS.map(([n]) => n), 'kube-apiserver', 'etcd-server', 'service-account'];
    expect(report.catalog.recognised).toEqual(
      instances.certs.filter((c) => made.includes(c.name)).map((c) => ({ name: c.name, file: c.certPath, by: 'file' })),
    );
    expect(report.catalog.missing.map((m) => m.name)).toEqual(
      [...instances.certs.filter((c) => !made.includes(c.name)), ...instances.kubeconfigs].map((i) => i.name),
    );
    const text = await kubePki(['check', '--config', config, '--out', lab]);
    expect(text.exitCode).toBe(1);
    const total = instances.certs.length + instances.kubeconfigs.length;
    const names = instances.certs.filter((c) => made.includes(c.name)).map((c) => c.name);
    expect(text.stdout).toContain(`Recognised ${made.length} of ${total} entries of the hardway catalog: ${names.join(', ')}\n`);
    expect(text.stdout).toMatch(/^worker-1\.crt +MISSING +worker-1\.crt not found \(catalog entry worker-1\)$/m);
  });

  it('recognises a renamed file by its CN, and checks a file outside the catalog for what it can', async () => {
    const copy = await copyPki(lab, join(dir, 'renamed'));
    await rename(join(copy, 'kube-apiserver.crt'), join(copy, 'apiserver.crt'));
    await rename(join(copy, 'kube-apiserver.key'), join(copy, 'apiserver.key'));
    await writeFile(join(copy, 'ca-only.cnf'), plainCnf(['basicConstraints = critical, CA:TRUE']));
    await openssl(['req', '-x509', '-new', '-config', 'ca-only.cnf', '-key', 'admin.key', '-subj', '/CN=something-else', '-days', '5', '-out', 'extra.pem'], copy);
    await writeFile(join(copy, 'leaf-only.cnf'), plainCnf(['basicConstraints = CA:FALSE']));
    await openssl(['req', '-x509', '-new', '-config', 'leaf-only.cnf', '-key', 'admin.key', '-subj', '/CN=serving', '-days', '100', '-out', 'selfsigned.crt'], copy);
    const { report } = await checkJson(config, copy);
    expect(report.catalog.recognised).toContainEqual({ name: 'kube-apiserver', file: 'apiserver.crt', by: 'cn' });
    const api = report.certificates.find((r) => r.file === 'apiserver.crt')!;
    expect(api.keyFile).toBe('apiserver.key');
    expect(api.problems.map((p) => p.code)).toEqual(['matched-by-cn', 'key-usage-not-critical', 'eku-missing']);
    expect(report.catalog.unknown).toEqual(['extra.pem', 'selfsigned.crt']);
    // A self-signed certificate that is not a CA (like a kubelet's own serving certificate): notes only.
    const selfSigned = report.certificates.find((r) => r.file === 'selfsigned.crt')!;
    expect(selfSigned.problems.map((p) => p.code)).toEqual(['not-in-catalog', 'key-not-found', 'self-signed']);
    expect(selfSigned.status).toBe('note');
    // Self-signed with CA:TRUE but no keyUsage: a CA of its own, judged as one; 5 days: expires soon.
    const extra = report.cas.find((r) => r.file === 'extra.pem')!;
    expect(extra.catalog).toBeNull();
    expect(extra.keyFile).toBeNull();
    expect(extra.problems.map((p) => p.code)).toEqual(['not-in-catalog', 'ca-key-usage', 'expires-soon', 'key-not-found']);
  });

  it('reads keyUsage, extendedKeyUsage, basicConstraints and criticality as openssl does', async () => {
    const ext = join(dir, 'ext');
    await mkdir(ext);
    await openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', 'k.pem'], ext);
    await writeFile(join(ext, 'empty.cnf'), plainCnf([]));
    await openssl(['req', '-x509', '-new', '-config', 'empty.cnf', '-key', 'k.pem', '-subj', '/CN=ext', '-days', '1', '-out', 'all.crt',
      '-addext', 'basicConstraints=critical,CA:TRUE,pathlen:3', '-addext', 'keyUsage=critical,keyCertSign,cRLSign,digitalSignature,decipherOnly',
      '-addext', 'extendedKeyUsage=critical,serverAuth,clientAuth,codeSigning,1.2.3.4'], ext);
    const files = [join(ext, 'all.crt'), ...(await readdir(lab)).filter((f) => f.endsWith('.crt')).map((f) => join(lab, f))];
    const names: Record<string, string> = {
      'Digital Signature': 'digitalSignature', 'Non Repudiation': 'nonRepudiation', 'Key Encipherment': 'keyEncipherment',
      'Certificate Sign': 'keyCertSign', 'CRL Sign': 'cRLSign', 'Decipher Only': 'decipherOnly',
      'TLS Web Server Authentication': 'serverAuth', 'TLS Web Client Authentication': 'clientAuth', 'Code Signing': 'codeSigning',
    };
    const asOpenssl = (e: { critical: boolean; usages: string[] } | undefined) =>
      e ? `${e.critical ? 'critical: ' : ''}${e.usages.join(', ')}` : '';
    for (const file of files) {
      const view = await opensslView(file);
      const parsed = parseExtensions(new X509Certificate(await readFile(file)).raw);
      const rename = (text: string) => text.replace(/(critical: )?(.*)/, (_m, c: string | undefined, list: string) => `${c ?? ''}${list.split(', ').filter(Boolean).map((u) => names[u] ?? u).join(', ')}`);
      expect(parsed.version, file).toBe(view.version);
      expect(asOpenssl(parsed.keyUsage), file).toBe(rename(view.keyUsage));
      expect(asOpenssl(parsed.extendedKeyUsage), file).toBe(rename(view.extendedKeyUsage));
      const bc = parsed.basicConstraints;
      expect(bc ? `${bc.critical ? 'critical: ' : ''}CA:${bc.ca ? 'TRUE' : 'FALSE'}${bc.pathLen !== undefined ? `, pathlen:${bc.pathLen}` : ''}` : '', file).toBe(view.basicConstraints);
    }
  });
});
