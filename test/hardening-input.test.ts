import { X509Certificate } from 'node:crypto';
import { mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { DEFAULT_CLUSTER_YAML } from '../src/cluster/default.js';
import { addressProblem, canonicalIp, ipVersion } from '../src/util/ip.js';
import { kubePki, tempDir } from './helpers/cli.js';
import { opensslView } from './helpers/x509.js';

type Doc = Record<string, any>;
const base = (): Doc => parse(DEFAULT_CLUSTER_YAML);

// Input that looks almost right: each must be refused (exit 2) naming the field and the value.
const CASES: [string, (d: Doc) => void, string, string, RegExp][] = [
  ['an endpoint with a part over 255', (d) => (d.apiServer.endpoint = '192.168.5.300'), 'apiServer.endpoint', '"192.168.5.300"', /not one/],
  ['a partial dotted endpoint', (d) => (d.apiServer.endpoint = '192.168.5'), 'apiServer.endpoint', '"192.168.5"', /3 parts, not four/],
  ['a partial dotted node address', (d) => (d.nodes[1].address = '192.168.5'), 'nodes[1].address', '"192.168.5"', /not four/],
  ['an extra SAN whose last label is all digits', (d) => (d.apiServer.extraSANs = ['ok.example', 'api.123']), 'apiServer.extraSANs[1]', '"api.123"', /all digits \(RFC 1123\)/],
  ['an endpoint whose last label is all digits', (d) => (d.apiServer.endpoint = 'lb.cluster.7'), 'apiServer.endpoint', '"lb.cluster.7"', /all digits/],
  ['a node name whose last label is all digits', (d) => (d.nodes[2].name = 'worker.10'), 'nodes[2].name', '"worker.10"', /not all digits after the last/],
  ['an IPv6 node address with a zone id', (d) => (d.nodes[2].address = 'fe80::2%eth0'), 'nodes[2].address', '"fe80::2%eth0"', /zone id \(%eth0\).*write fe80::2/],
  ['an IPv6 endpoint with a zone id', (d) => (d.apiServer.endpoint = 'fe80::2%eth0'), 'apiServer.endpoint', '"fe80::2%eth0"', /zone id/],
  ['an extra SAN with a zone id', (d) => (d.apiServer.extraSANs = ['fe80::1%lo']), 'apiServer.extraSANs[0]', '"fe80::1%lo"', /zone id/],
  ['an unspecified IPv4 node address', (d) => (d.nodes[1].address = '0.0.0.0'), 'nodes[1].address', '"0.0.0.0"', /unspecified address/],
  ['an unspecified IPv6 endpoint', (d) => (d.apiServer.endpoint = '::'), 'apiServer.endpoint', '"::"', /unspecified address/],
  ['an unspecified extra SAN', (d) => (d.apiServer.extraSANs = ['0.0.0.0']), 'apiServer.extraSANs[0]', '"0.0.0.0"', /unspecified address/],
  ['a leaf that outlives its CA', (d) => (d.validityDays = { ca: 100, leaf: 1000 }), 'validityDays.leaf', '1000', /longer than validityDays\.ca \(100\)/],
  ['a leaf that outlives the default CA', (d) => { d.profile = 'kubeadm'; d.validityDays = { leaf: 5000 }; }, 'validityDays.leaf', '5000', /validityDays\.ca \(3650 \(the kubeadm default\)\)/],
];

describe('bad input that looks almost right', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => ({ dir, cleanup } = await tempDir()));
  afterAll(() => cleanup());

  it.each(CASES)('%s: exit 2, field and value named, nothing written', async (label, change, field, value, reason) => {
    const i = CASES.findIndex((c) => c[0] === label);
    const doc = base();
    change(doc);
    const config = join(dir, `case-${i}.yaml`);
    await writeFile(config, stringify(doc));
    const out = join(dir, `out-${i}`);
    await mkdir(out, { mode: 0o755 });
    await writeFile(join(out, 'keep.txt'), 'x');

    for (const command of ['gen', 'script']) {
      const r = await kubePki(command === 'gen' ? [command, '--config', config, '--out', out] : [command, '--config', config]);
      expect(r.exitCode, r.stderr).toBe(2);
      const line = r.stderr.split('\n').find((l) => l.includes(`: ${field}: `));
      expect(line, r.stderr).toBeDefined();
      expect(line).toContain(value);
      expect(line).toMatch(reason);
      expect(r.stderr).not.toMatch(/unexpected error|\n\s+at /);
    }
    expect(await readdir(out)).toEqual(['keep.txt']);
    expect((await stat(out)).mode & 0o777).toBe(0o755);
  });

  it('parses addresses strictly: four decimal parts, zone ids and unspecified addresses named', () => {
    expect(ipVersion('192.168.5')).toBe(0);
    expect(ipVersion('0xc0.168.5.1')).toBe(0);
    expect(ipVersion('192.168.5.10')).toBe(4);
    expect(canonicalIp('FD00:0::21')).toBe('fd00::21');
    expect(addressProblem('192.168.5.10')).toBeNull();
    expect(addressProblem('fd00::21')).toBeNull();
    expect(addressProblem('10.1')).toMatch(/2 parts/);
    expect(addressProblem('fe80::2%eth0')).toMatch(/zone id/);
    expect(addressProblem('::')).toMatch(/unspecified/);
    expect(addressProblem('worker-1')).toBeNull(); // not an address: a DNS name is the caller's to judge
  });
});

describe('DNS SANs compare case-insensitively', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => ({ dir, cleanup } = await tempDir()));
  afterAll(() => cleanup());

  it('no "Kubernetes" beside "kubernetes", and a change of case is not stale', async () => {
    const doc = base();
    doc.apiServer.extraSANs = ['Kubernetes', 'API.Example.com'];
    const config = join(dir, 'upper.yaml');
    await writeFile(config, stringify(doc));
    const out = join(dir, 'pki');
    const r = await kubePki(['gen', '--config', config, '--out', out]);
    expect(r.exitCode, r.stderr).toBe(0);
    const sans = (await opensslView(join(out, 'kube-apiserver.crt'))).subjectAltName.split(', ');
    expect(sans.filter((s) => s.toLowerCase() === 'dns:kubernetes')).toEqual(['DNS:kubernetes']);
    expect(sans).toContain('DNS:API.Example.com');

    doc.apiServer.extraSANs = ['api.example.com'];
    await writeFile(config, stringify(doc));
    const again = await kubePki(['gen', '--config', config, '--out', out]);
    expect(again.exitCode, again.stdout).toBe(0);
    expect(again.stdout).toContain('0 stale');
    const check = await kubePki(['check', '--config', config, '--out', out, '--json']);
    const row = JSON.parse(check.stdout).certificates.find((c: { catalog: string }) => c.catalog === 'kube-apiserver');
    expect(row.sanCheck).toEqual({ missing: [], unexpected: [] });
  });
});

describe('a CA on disk with less life left than a new leaf', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => ({ dir, cleanup } = await tempDir()));
  afterAll(() => cleanup());

  it('caps the leaf to the CA, with a warning; the capped leaf is not stale afterwards', async () => {
    const out = join(dir, 'pki');
    const doc = base();
    doc.validityDays = { ca: 30, leaf: 30 };
    const short = join(dir, 'short.yaml');
    await writeFile(short, stringify(doc));
    expect((await kubePki(['gen', '--config', short, '--out', out])).exitCode).toBe(0);

    doc.validityDays = { ca: 1000, leaf: 400 };
    const long = join(dir, 'long.yaml');
    await writeFile(long, stringify(doc));
    // The leaves already end with the CA: as planned. A leaf made now is capped the same way.
    await rm(join(out, 'admin.crt'));
    const forced = await kubePki(['gen', '--config', long, '--out', out]);
    // The CA itself stays stale (only --replace-ca replaces it): exit 3.
    expect(forced.exitCode, forced.stderr).toBe(3);
    expect(forced.stderr).toMatch(/^warning: admin: valid for 29 days instead of validityDays\.leaf \(400\): capped to the remaining life of its CA ca\.crt, which expires on /m);
    const ca = new X509Certificate(await readFile(join(out, 'ca.crt')));
    const admin = new X509Certificate(await readFile(join(out, 'admin.crt')));
    expect(new Date(admin.validTo).getTime()).toBeLessThanOrEqual(new Date(ca.validTo).getTime());

    const renewed = await kubePki(['renew', 'kube-scheduler', '--config', long, '--out', out]);
    expect(renewed.exitCode, renewed.stderr).toBe(0);
    expect(renewed.stdout).toMatch(/^warning: kube-scheduler: valid for 29 days instead of validityDays\.leaf \(400\)/m);
    const again = await kubePki(['gen', '--config', long, '--out', out]);
    expect(again.exitCode).toBe(3);
    expect(again.stdout).toMatch(/^stale: ca: /m);
    expect(again.stdout).not.toMatch(/^stale: admin: /m);
  });
});
