import { describe, expect, it } from 'vitest';
import { parseCluster, defaultCluster } from '../src/cluster/load.js';
import { DEFAULT_CLUSTER_YAML } from '../src/cluster/default.js';
import { canonicalIp, firstAddress, parseCidr, type Cidr } from '../src/util/ip.js';
import { subjectArg } from '../src/openssl/commands.js';
import { renderCnf } from '../src/openssl/cnf.js';
import { instancesFor, freshPlan } from '../src/pki.js';
import { sanSet } from '../src/plan/instances.js';
import { shellQuote } from '../src/util/shell.js';
import { randomSerial, runContext, startPlan } from '../src/exec/run-plan.js';

describe('addresses', () => {
  it('takes the first address of IPv4 and IPv6 service ranges', () => {
    expect(firstAddress(parseCidr('10.96.0.0/24') as Cidr)).toBe('10.96.0.1');
    expect(firstAddress(parseCidr('10.32.0.0/12') as Cidr)).toBe('10.32.0.1');
    expect(firstAddress(parseCidr('fd00:10:96::/112') as Cidr)).toBe('fd00:10:96::1');
  });
  it('compares IPv6 addresses by value', () => {
    expect(canonicalIp('FD00:0:0:0:0:0:0:1')).toBe('fd00::1');
    // An IPv4-mapped address is the IPv4 address (issue 22, item 21), as Go's net.IP.Equal says.
    expect(canonicalIp('::ffff:192.168.5.11')).toBe('192.168.5.11');
    expect(canonicalIp('::FFFF:c0a8:50b')).toBe('192.168.5.11');
    expect(canonicalIp('192.168.5.11')).toBe('192.168.5.11');
    expect(canonicalIp('1:2:3:4:5:6:7:8')).toBe('1:2:3:4:5:6:7:8');
    expect(canonicalIp('not-an-ip')).toBeNull();
  });
  it('an IPv4-mapped SAN is one SAN with its IPv4 address', () => {
    expect(sanSet(['192.168.5.11', '::ffff:192.168.5.11', 'fd00::1']).ip).toEqual(['192.168.5.11', 'fd00::1']);
  });
  it('a service range is a unicast range kube-apiserver accepts', () => {
    expect(parseCidr('0.0.0.0/0')).toMatch(/at most 2\^20 addresses/);
    expect(parseCidr('10.0.0.0/8')).toMatch(/\/12 or longer/);
    expect(parseCidr('::/0')).toMatch(/\/108 or longer/);
    expect(parseCidr('224.0.0.0/24')).toMatch(/multicast/);
    expect(parseCidr('ff00::/112')).toMatch(/multicast/);
    expect(parseCidr('0.0.0.0/24')).toMatch(/reserved/);
    expect(parseCidr('10.96.0.0/12')).not.toBeTypeOf('string');
  });
  it('explains a bad CIDR', () => {
    expect(parseCidr('10.96.0.0')).toMatch(/not a CIDR/);
    expect(parseCidr('10.96.0.1/24')).toMatch(/host bits/);
    expect(parseCidr('10.96.0.0/31')).toMatch(/too small/);
  });
});

describe('values that reach openssl', () => {
  it('escapes -subj specials', () => {
    expect(subjectArg({ cn: 'a/b', o: ['x=y', 'p+q'] })).toBe('/CN=a\\/b/O=x\\=y/O=p\\+q');
  });
  it('renders openssl.cnf without HTML escaping and refuses a value that could add a line', () => {
    const cluster = defaultCluster();
    const api = instancesFor(cluster).certs.find((c) => c.name === 'kube-apiserver')!;
    const cnf = renderCnf(api);
    expect(cnf).toContain('[v3_req]\nbasicConstraints = critical, CA:FALSE\nkeyUsage = critical, digitalSignature, keyEncipherment\nextendedKeyUsage = serverAuth\n');
    expect(cnf).toContain('[alt_names]\nDNS.1 = kubernetes\n');
    expect(cnf).toContain('IP.1 = 10.96.0.1\n');
    expect(cnf).not.toContain('&');
    expect(() => renderCnf({ ...api, sans: { dns: ['ok', 'evil\n[ca]'], ip: [] } })).toThrow(/refusing/);
    expect(() => renderCnf({ ...api, sans: { dns: ['a&b'], ip: [] } })).toThrow(/refusing/);
  });
  it('quotes shell words for the script', () => {
    expect(shellQuote('/CN=admin/O=system:masters')).toBe('/CN=admin/O=system:masters');
    expect(shellQuote("it's")).toBe(`'it'\\''s'`);
    expect(shellQuote('a b')).toBe("'a b'");
  });
  it('draws positive 128-bit serials', () => {
    const serials = new Set(Array.from({ length: 200 }, randomSerial));
    expect(serials.size).toBe(200);
    for (const s of serials) expect(s).toMatch(/^0x[0-7][0-9a-f]{31}$/);
  });
});

describe('the planner', () => {
  it('plans every lab certificate from nothing, CA first, each leaf waiting for its CA', () => {
    const plan = freshPlan(defaultCluster());
    expect(plan.items.map((i) => i.name)).toEqual([
      'ca', 'admin', 'kube-controller-manager', 'kube-proxy', 'kube-scheduler', 'kube-apiserver',
      'apiserver-kubelet-client', 'etcd-server', 'service-account', 'worker-1', 'worker-2',
      'admin.kubeconfig', 'kube-controller-manager.kubeconfig', 'kube-scheduler.kubeconfig', 'kube-proxy.kubeconfig',
      'worker-1.kubeconfig', 'worker-2.kubeconfig', 'encryption-config',
    ]);
    for (const item of plan.items) expect(item.action).toBe('create');
    const admin = plan.items.find((i) => i.name === 'admin')!;
    expect(admin.needs).toEqual(['ca']);
    expect(admin.keySteps).toEqual([{ op: 'openssl', args: ['genrsa', '-out', { out: 'admin.key' }, '2048'] }]);
    expect(plan.items.find((i) => i.name === 'worker-1.kubeconfig')!.needs).toEqual(['worker-1', 'ca']);
  });
  it('follows the description: ECDSA keys, domains, extra SANs, IPv6 nodes', () => {
    const cluster = parseCluster(
      DEFAULT_CLUSTER_YAML.replace('key: { algorithm: rsa, size: 2048 }', 'key: { algorithm: ecdsa, curve: P-256 }')
        .replace('clusterDomain: cluster.local', 'clusterDomain: lab.example')
        .replace('extraSANs: []', 'extraSANs: [api.lab.example, 10.0.0.5]')
        .replace('192.168.5.12', 'fd00::12'),
      'test',
    );
    const certs = instancesFor(cluster).certs;
    const api = certs.find((c) => c.name === 'kube-apiserver')!;
    expect(api.sans.dns).toEqual(['kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.lab.example', 'api.lab.example']);
    expect(api.sans.ip).toEqual(['10.96.0.1', '192.168.5.11', 'fd00::12', '192.168.5.30', '127.0.0.1', '10.0.0.5']);
    expect(api.usages.keyUsage).toEqual(['digitalSignature']);
    const plan = freshPlan(cluster);
    expect(plan.items[0]!.keySteps[0]).toEqual({ op: 'openssl', args: ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', { out: 'ca.key' }] });
  });
});

describe('running a plan', () => {
  it('refuses two items of one name before starting anything, instead of losing one of them', () => {
    const item = { name: 'admin.kubeconfig', group: 'cert' as const, action: 'create' as const, reasons: [], needs: [], keySteps: [], steps: [], outputs: [] };
    expect(() => startPlan({ profile: 'hardway', items: [item, { ...item, group: 'kubeconfig' }] }, runContext('/nonexistent/kube-pki-never'))).toThrow(
      /two items are named "admin\.kubeconfig"/,
    );
  });
});
