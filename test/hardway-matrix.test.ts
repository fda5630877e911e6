import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubePki, tempDir } from './helpers/cli.js';
import { opensslVerify, opensslView } from './helpers/x509.js';

// The "hardway" section of cert-matrix.md, written out by hand: the test's own source of truth.
const LEAF_KU = 'critical: Digital Signature, Key Encipherment';
const SERVER = 'TLS Web Server Authentication';
const CLIENT = 'TLS Web Client Authentication';
const BOTH = `${SERVER}, ${CLIENT}`;
const EXPECTED: Record<string, { subject: string; eku: string; san: string }> = {
  admin: { subject: 'O=system:masters,CN=admin', eku: CLIENT, san: '' },
  'kube-controller-manager': { subject: 'CN=system:kube-controller-manager', eku: CLIENT, san: '' },
  'kube-proxy': { subject: 'CN=system:kube-proxy', eku: CLIENT, san: '' },
  'kube-scheduler': { subject: 'CN=system:kube-scheduler', eku: CLIENT, san: '' },
  'kube-apiserver': {
    subject: 'CN=kube-apiserver',
    eku: SERVER,
    san:
      'DNS:kubernetes, DNS:kubernetes.default, DNS:kubernetes.default.svc, DNS:kubernetes.default.svc.cluster.local, ' +
      'IP Address:10.96.0.1, IP Address:192.168.5.11, IP Address:192.168.5.12, IP Address:192.168.5.30, IP Address:127.0.0.1',
  },
  'apiserver-kubelet-client': { subject: 'O=system:masters,CN=kube-apiserver-kubelet-client', eku: CLIENT, san: '' },
  'etcd-server': { subject: 'CN=etcd-server', eku: BOTH, san: 'IP Address:192.168.5.11, IP Address:192.168.5.12, IP Address:127.0.0.1' },
  'service-account': { subject: 'CN=service-accounts', eku: CLIENT, san: '' },
  'worker-1': { subject: 'O=system:nodes,CN=system:node:worker-1', eku: BOTH, san: 'DNS:worker-1, IP Address:192.168.5.21' },
  'worker-2': { subject: 'O=system:nodes,CN=system:node:worker-2', eku: BOTH, san: 'DNS:worker-2, IP Address:192.168.5.22' },
};
const KUBECONFIGS = ['admin', 'kube-controller-manager', 'kube-scheduler', 'kube-proxy', 'worker-1', 'worker-2'];
const DAY = 86_400_000;

describe('hardway PKI from the built-in lab description', () => {
  let dir: string;
  let pki: string;
  let cleanup: () => Promise<void>;
  let started: number;

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    pki = join(dir, 'pki');
    started = Date.now();
    const r = await kubePki(['gen', '--out', pki], { cwd: dir });
    expect(r.exitCode, r.stderr).toBe(0);
  });
  afterAll(() => cleanup());

  it('writes exactly the lab files, flat, with keys and kubeconfigs 0600 in a 0700 folder', async () => {
    const names = Object.keys(EXPECTED).flatMap((n) => [`${n}.crt`, `${n}.key`]);
    // With the record of the CA keys this folder holds (a missing one is then lost, not external: 0600).
    // And the EncryptionConfiguration of Secrets at rest (the hard way's default, aescbc): 0600 like a key.
    const expected = ['.kube-pki-ca-keys.json', 'ca.crt', 'ca.key', 'encryption-config.yaml', ...names, ...KUBECONFIGS.map((k) => `${k}.kubeconfig`)].sort();
    expect((await readdir(pki)).sort()).toEqual(expected);
    expect((await stat(pki)).mode & 0o777).toBe(0o700);
    for (const file of expected) {
      const mode = (await stat(join(pki, file))).mode & 0o777;
      expect([file, mode.toString(8)]).toEqual([file, file.endsWith('.crt') ? '644' : '600']);
    }
  });

  it('makes a proper v3 CA', async () => {
    const v = await opensslView(join(pki, 'ca.crt'));
    expect(v.version).toBe(3);
    expect(v.subject).toBe('CN=KUBERNETES-CA');
    expect(v.issuer).toBe('CN=KUBERNETES-CA');
    expect(v.basicConstraints).toBe('critical: CA:TRUE');
    expect(v.keyUsage).toBe('critical: Digital Signature, Certificate Sign, CRL Sign');
    expect(v.extendedKeyUsage).toBe('');
    const ca = new X509Certificate(await readFile(join(pki, 'ca.crt')));
    expect(ca.ca).toBe(true);
    expect(ca.checkPrivateKey(createPrivateKey(await readFile(join(pki, 'ca.key'))))).toBe(true);
    expect(Math.round((Date.parse(ca.validTo) - started) / DAY)).toBe(1000);
  });

  it.each(Object.entries(EXPECTED))('%s: subject, usages, SANs, validity, key and chain as in the matrix', async (name, want) => {
    const crt = join(pki, `${name}.crt`);
    const v = await opensslView(crt);
    expect(v.version).toBe(3);
    expect(v.subject).toBe(want.subject);
    expect(v.issuer).toBe('CN=KUBERNETES-CA');
    expect(v.basicConstraints).toBe('critical: CA:FALSE');
    expect(v.keyUsage).toBe(LEAF_KU);
    expect(v.extendedKeyUsage).toBe(want.eku);
    expect(v.subjectAltName).toBe(want.san);

    const cert = new X509Certificate(await readFile(crt));
    const ca = new X509Certificate(await readFile(join(pki, 'ca.crt')));
    expect(cert.ca).toBe(false);
    expect(cert.checkIssued(ca) && cert.verify(ca.publicKey)).toBe(true);
    expect(cert.checkPrivateKey(createPrivateKey(await readFile(join(pki, `${name}.key`))))).toBe(true);
    expect(Math.round((Date.parse(cert.validTo) - started) / DAY)).toBe(1000);
    expect(Date.parse(cert.validFrom)).toBeLessThanOrEqual(Date.now());
    expect(await opensslVerify(join(pki, 'ca.crt'), crt)).toBe(true);
  });

  it('gives every certificate its own random serial', async () => {
    const serials = await Promise.all(['ca', ...Object.keys(EXPECTED)].map(async (n) => (await opensslView(join(pki, `${n}.crt`))).serial));
    expect(new Set(serials).size).toBe(serials.length);
    for (const s of serials) expect(s.length).toBeGreaterThanOrEqual(30); // 128 random bits, not 01, 02…
  });

  it('writes kubeconfigs with the CA and the client certificate embedded', async () => {
    const { parse } = await import('yaml');
    const servers: Record<string, string> = {
      admin: 'https://192.168.5.30:6443',
      'kube-controller-manager': 'https://127.0.0.1:6443',
      'kube-scheduler': 'https://127.0.0.1:6443',
      'kube-proxy': 'https://192.168.5.30:6443',
      'worker-1': 'https://192.168.5.30:6443',
      'worker-2': 'https://192.168.5.30:6443',
    };
    for (const name of KUBECONFIGS) {
      const kc = parse(await readFile(join(pki, `${name}.kubeconfig`), 'utf8'));
      const cluster = kc.clusters[0].cluster;
      expect(cluster.server).toBe(servers[name]);
      expect(Buffer.from(cluster['certificate-authority-data'], 'base64').equals(await readFile(join(pki, 'ca.crt')))).toBe(true);
      const user = kc.users[0].user;
      const certFile = name === 'admin' ? 'admin' : name;
      expect(Buffer.from(user['client-certificate-data'], 'base64').equals(await readFile(join(pki, `${certFile}.crt`)))).toBe(true);
      expect(Buffer.from(user['client-key-data'], 'base64').equals(await readFile(join(pki, `${certFile}.key`)))).toBe(true);
      expect(kc['current-context']).toBe(kc.contexts[0].name);
    }
  });
});
