import { chmod, mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { DEFAULT_CLUSTER_YAML } from '../src/cluster/default.js';
import { kubePki, tempDir } from './helpers/cli.js';

type Doc = Record<string, any>;
const base = (): Doc => parse(DEFAULT_CLUSTER_YAML);

// Each case: a change to the lab description, the field path the error must name, and a piece of
// the message (the bad value, shown as JSON so that a newline or space is visible).
const CASES: [string, (d: Doc) => void, string, string][] = [
  ['bad IPv4 address', (d) => (d.nodes[1].address = '192.168.5.300'), 'nodes[1].address', '"192.168.5.300"'],
  ['IPv6 address with garbage', (d) => (d.nodes[2].address = 'fd00::zz'), 'nodes[2].address', '"fd00::zz"'],
  ['bad CIDR', (d) => (d.serviceCIDR = '10.96.0.0/33'), 'serviceCIDR', '"10.96.0.0/33"'],
  ['CIDR with host bits', (d) => (d.serviceCIDR = '10.96.0.5/24'), 'serviceCIDR', 'host bits'],
  ['duplicate node names', (d) => (d.nodes[3].name = 'worker-1'), 'nodes[3].name', 'repeats the name of nodes[2]'],
  ['duplicate addresses', (d) => (d.nodes[3].address = '192.168.5.21'), 'nodes[3].address', 'repeats the address of nodes[2]'],
  ['a name with a newline', (d) => (d.nodes[0].name = 'master-1\n[ v3_req ]'), 'nodes[0].name', '"master-1\\n[ v3_req ]"'],
  ['a name with ]', (d) => (d.nodes[0].name = 'master]1'), 'nodes[0].name', '"master]1"'],
  ['a name with =', (d) => (d.nodes[2].name = 'worker=1'), 'nodes[2].name', '"worker=1"'],
  ['a name with /', (d) => (d.nodes[2].name = 'worker/1'), 'nodes[2].name', '"worker/1"'],
  ['a name with a space', (d) => (d.nodes[2].name = 'worker 1'), 'nodes[2].name', '"worker 1"'],
  ['unknown role', (d) => (d.nodes[2].role = 'etcd'), 'nodes[2].role', '"etcd"'],
  ['unknown field', (d) => (d.nodes[0].ip = '1.2.3.4'), 'nodes[0].ip', 'unknown field'],
  ['unknown top-level field', (d) => (d.colour = 'blue'), 'colour', 'unknown field'],
  ['negative validity', (d) => (d.validityDays = { ca: 1000, leaf: -5 }), 'validityDays.leaf', '-5'],
  ['fractional validity', (d) => (d.validityDays = { ca: 1.5, leaf: 1 }), 'validityDays.ca', '1.5'],
  ['empty node list', (d) => (d.nodes = []), 'nodes', 'at least one node'],
  ['no control plane', (d) => (d.nodes = d.nodes.filter((n: Doc) => n.role !== 'controlplane')), 'nodes', 'controlplane'],
  ['unknown profile', (d) => (d.profile = 'k3s'), 'profile', '"k3s"'],
  ['unknown kubeadm layout', (d) => Object.assign(d, { profile: 'kubeadm', kubeadmLayout: 'v1.29' }), 'kubeadmLayout', '"v1.29": must be one of current, v1.27'],
  ['a kubeadm layout with profile hardway', (d) => (d.kubeadmLayout = 'v1.27'), 'kubeadmLayout', '"v1.27": is for profile kubeadm only'],
  ['bad endpoint', (d) => (d.apiServer.endpoint = 'lb;rm -rf /'), 'apiServer.endpoint', '"lb;rm -rf /"'],
  ['port out of range', (d) => (d.apiServer.port = 70000), 'apiServer.port', '70000'],
  ['extra SAN that would add a line', (d) => (d.apiServer.extraSANs = ['ok.example', 'evil\nDNS.9 = x']), 'apiServer.extraSANs[1]', '"evil\\nDNS.9 = x"'],
  ['bad key size', (d) => (d.key = { algorithm: 'rsa', size: 1024 }), 'key.size', '1024'],
  ['bad key algorithm', (d) => (d.key = { algorithm: 'dsa' }), 'key.algorithm', 'rsa or ecdsa'],
  ['bad cluster domain', (d) => (d.clusterDomain = 'cluster..local'), 'clusterDomain', '"cluster..local"'],
  ['a worker named like a PKI file', (d) => (d.nodes[2].name = 'admin'), 'nodes[2].name', 'would write admin.'],
  ['a worker named like a kubeconfig item', (d) => (d.nodes[2].name = 'admin.kubeconfig'), 'nodes[2].name', 'would be named like admin.kubeconfig'],
  // Files and folders kube-pki keeps besides the description's own (issue 22, item 1).
  ['a worker named like the new CA of a rotation', (d) => (d.nodes[2].name = 'ca-new'), 'nodes[2].name', '"ca-new": would write ca-new.'],
  ['a worker named like the old CA of a rotation', (d) => (d.nodes[2].name = 'ca-old'), 'nodes[2].name', 'for a rotation of ca'],
  ['a worker named like the trust bundle of a rotation', (d) => (d.nodes[3].name = 'ca-bundle'), 'nodes[3].name', 'would write ca-bundle.crt'],
  ['a worker named like the root CA without rootCA', (d) => (d.nodes[2].name = 'root-ca'), 'nodes[2].name', 'for the root CA'],
  ['a worker named like a backup folder', (d) => (d.nodes[2].name = 'backup-1'), 'nodes[2].name', 'backup-'],
  ['a kubeadm node named like the root CA key', (d) => ((d.profile = 'kubeadm'), (d.validityDays = {}), (d.nodes[2].name = 'root-ca.key')), 'nodes[2].name', 'would write root-ca.key,'],
  ['a kubeadm node named like a backup folder', (d) => ((d.profile = 'kubeadm'), (d.validityDays = {}), (d.nodes[3].name = 'backup-worker')), 'nodes[3].name', '"backup-worker"'],
  // Addresses by value, and only addresses of one node (issue 22, item 21).
  ['an IPv4-mapped address repeating an IPv4 one', (d) => (d.nodes[3].address = '::ffff:192.168.5.21'), 'nodes[3].address', 'repeats the address of nodes[2]'],
  ['the broadcast address', (d) => (d.nodes[1].address = '255.255.255.255'), 'nodes[1].address', 'is the broadcast address'],
  ['a multicast address', (d) => (d.nodes[1].address = '224.0.0.1'), 'nodes[1].address', 'is a multicast address'],
  ['an IPv6 multicast SAN', (d) => (d.apiServer.extraSANs = ['ff02::1']), 'apiServer.extraSANs[0]', 'multicast'],
  ['a mapped unspecified endpoint', (d) => (d.apiServer.endpoint = '::ffff:0.0.0.0'), 'apiServer.endpoint', 'unspecified'],
  ['the whole address space as service range', (d) => (d.serviceCIDR = '0.0.0.0/0'), 'serviceCIDR', '"0.0.0.0/0": has prefix /0'],
  ['bad ssh port', (d) => (d.nodes[0].ssh = { port: 0 }), 'nodes[0].ssh.port', '0'],
];

describe('bad cluster descriptions', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => ({ dir, cleanup } = await tempDir()));
  afterAll(() => cleanup());

  it.each(CASES)('%s: exit 2, names the field and value, output untouched', async (label, change, field, fragment) => {
    const doc = base();
    change(doc);
    const config = join(dir, `case-${CASES.findIndex((c) => c[0] === label)}.yaml`);
    await writeFile(config, stringify(doc));
    const out = join(dir, `out-${CASES.findIndex((c) => c[0] === label)}`);
    await mkdir(out, { mode: 0o755 });
    await writeFile(join(out, 'keep.txt'), 'x');

    const r = await kubePki(['gen', '--config', config, '--out', out]);
    expect(r.exitCode).toBe(2);
    const errorLine = r.stderr.split('\n').find((l) => l.includes(`: ${field}`));
    expect(errorLine, r.stderr).toBeDefined();
    expect(errorLine).toContain(fragment);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(await readdir(out)).toEqual(['keep.txt']);
    expect((await stat(out)).mode & 0o777).toBe(0o755);
  });

  it('a node named like a kept file is refused by every command that reads the description, not only gen', async () => {
    const doc = base();
    doc.nodes[2].name = 'ca-new';
    const config = join(dir, 'kept-name.yaml');
    await writeFile(config, stringify(doc));
    for (const args of [['check'], ['rotate-ca', 'start', '--dry-run'], ['distribute', '--dry-run'], ['csr'], ['renew', '--all', '--dry-run']]) {
      const r = await kubePki([...args, '--config', config, '--out', join(dir, 'kept-out')]);
      expect(r.exitCode, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toContain('nodes[2].name: "ca-new": would write ca-new.');
    }
    await expect(stat(join(dir, 'kept-out'))).rejects.toThrow(/ENOENT/);
  });

  it('YAML syntax errors and duplicate keys are bad input too', async () => {
    const config = join(dir, 'dup.yaml');
    await writeFile(config, 'profile: hardway\nprofile: kubeadm\nnodes: []\n');
    const r = await kubePki(['gen', '--config', config, '--out', join(dir, 'never')]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/dup\.yaml: line 2: YAML syntax/);
    await expect(stat(join(dir, 'never'))).rejects.toThrow(/ENOENT/);
  });

  it('a key file given as --config by mistake: exit 2, and not a byte of the key in the message', async () => {
    const out = join(dir, 'pem-out');
    expect((await kubePki(['gen', '--out', out])).exitCode).toBe(0);
    const r = await kubePki(['gen', '--config', join(out, 'ca.key'), '--out', out, '--json']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('must be a YAML mapping');
    const key = await readFile(join(out, 'ca.key'), 'utf8');
    for (const line of key.split('\n').filter((l) => l.length > 20)) expect(r.stderr + r.stdout).not.toContain(line.slice(0, 20));
    expect(r.stderr + r.stdout).not.toContain('BEGIN');
    expect(JSON.parse(r.stdout)).toMatchObject({ result: 'error', exitCode: 2 });
  });

  it('--out must be a folder of its own: a file, or a shared folder like /tmp, is refused unchanged', async () => {
    const file = join(dir, 'a-file');
    await writeFile(file, 'x');
    const r = await kubePki(['gen', '--out', file]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('is not a folder');
    const shared = join(dir, 'sticky');
    await mkdir(shared, { mode: 0o777 });
    await chmod(shared, 0o1777);
    const s = await kubePki(['gen', '--out', shared]);
    expect(s.exitCode).toBe(2);
    expect(s.stderr).toContain('cannot hold private keys');
    expect((await stat(shared)).mode & 0o7777).toBe(0o1777);
    expect(await readdir(shared)).toEqual([]);
  });

  it('a mistyped command is named as such, not read as an argument of gen', async () => {
    const r = await kubePki(['chek']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('unknown command "chek"');
  });

  it('a missing file and unknown flags give exit 2', async () => {
    const missing = await kubePki(['gen', '--config', join(dir, 'nope.yaml')]);
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toContain('nope.yaml');
    const flag = await kubePki(['gen', '--frobnicate']);
    expect(flag.exitCode).toBe(2);
    expect(flag.stderr).toContain("unknown option '--frobnicate'");
  });
});
