import { execa } from 'execa';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CLUSTER_YAML } from '../src/cluster/default.js';
import { parseCluster } from '../src/cluster/load.js';
import { kubePki, ROOT, tempDir } from './helpers/cli.js';
import { labCopy, vagrantDump, vagrantValidate, type LabDump } from './helpers/vagrant-lab.js';
import { opensslView } from './helpers/x509.js';

// The Vagrant lab, checked statically: never `vagrant up` here (no VirtualBox, no VM).

const ipOf = (m: LabDump['machines'][number]) => m.networks.find((n) => n.type === 'private_network')?.ip;

describe('the Vagrant lab', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => ({ dir, cleanup } = await tempDir('kube-pki-vagrant-')));
  afterAll(() => cleanup());

  it("cluster.yaml is the tool's built-in lab, byte for byte", async () => {
    expect(await readFile(join(ROOT, 'cluster.yaml'), 'utf8')).toBe(DEFAULT_CLUSTER_YAML);
  });

  it('the Vagrantfile is valid Ruby (ruby -c)', async () => {
    const r = await execa('ruby', ['-c', join(ROOT, 'Vagrantfile')]);
    expect(r.stdout).toContain('Syntax OK');
  });

  it('vagrant validate, VirtualBox provider forced, accepts the Vagrantfile and catches a VirtualBox setting typo', async () => {
    const ok = await vagrantValidate(await labCopy(join(dir, 'validate')));
    expect(ok.exitCode, ok.stderr).toBe(0);
    expect(ok.stdout).toContain('Vagrantfile validated successfully');

    const typo = await labCopy(join(dir, 'typo'), { vagrantfile: (t) => t.replace('vb.memory =', 'vb.memroy =') });
    const bad = await vagrantValidate(typo);
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toContain("VirtualBox Provider:\n* The following settings shouldn't exist: memroy");
  });

  it('defines one VM per node of cluster.yaml: name, address, resources by role, box; /vagrant on master-1 only', async () => {
    const dump = await vagrantDump(ROOT);
    const cluster = parseCluster(DEFAULT_CLUSTER_YAML, 'cluster.yaml');
    expect(dump.machines.map((m) => [m.name, m.hostname, ipOf(m)])).toEqual(cluster.nodes.map((n) => [n.name, n.name, n.address]));
    expect(dump.machines.map((m) => [m.name, m.provider.virtualbox])).toEqual([
      ['master-1', { memory: 2048, cpus: 2 }],
      ['master-2', { memory: 2048, cpus: 2 }],
      ['worker-1', { memory: 1024, cpus: 1 }],
      ['worker-2', { memory: 1024, cpus: 1 }],
      ['loadbalancer', { memory: 512, cpus: 1 }],
    ]);
    expect(new Set(dump.machines.map((m) => m.box))).toEqual(new Set(['ubuntu/jammy64']));
    const hub = dump.machines.filter((m) => m.primary);
    expect(hub.map((m) => m.name)).toEqual(['master-1']);
    for (const m of dump.machines) {
      expect(m.synced_folders).toEqual([{ host: '.', guest: '/vagrant', disabled: m.name !== 'master-1' }]);
      expect(m.provisioners.map((p) => p.path)).toEqual(m.name === 'master-1' ? ['scripts/provision-master.sh'] : []);
    }
    expect(dump.triggers).toEqual([expect.objectContaining({ stage: 'after', actions: ['up', 'provision', 'reload'], ruby: true })]);
  });

  it('takes the box, memory and CPUs from the environment, and rejects a bad number', async () => {
    const dump = await vagrantDump(ROOT, { KUBE_PKI_BOX: 'bento/ubuntu-22.04', KUBE_PKI_WORKER_MEMORY: '3072', KUBE_PKI_CONTROLPLANE_CPUS: '4' });
    expect(dump.machines.map((m) => [m.name, m.box, m.provider.virtualbox])).toEqual([
      ['master-1', 'bento/ubuntu-22.04', { memory: 2048, cpus: 4 }],
      ['master-2', 'bento/ubuntu-22.04', { memory: 2048, cpus: 4 }],
      ['worker-1', 'bento/ubuntu-22.04', { memory: 3072, cpus: 1 }],
      ['worker-2', 'bento/ubuntu-22.04', { memory: 3072, cpus: 1 }],
      ['loadbalancer', 'bento/ubuntu-22.04', { memory: 512, cpus: 1 }],
    ]);
    await expect(vagrantDump(ROOT, { KUBE_PKI_WORKER_CPUS: 'two' })).rejects.toThrow(
      'kube-pki lab: KUBE_PKI_WORKER_CPUS="two": is not a whole number of 1 or more',
    );
  });

  it('a changed address in cluster.yaml: the VM list and the certificates SANs both follow', async () => {
    // The README's second option: the 192.168.56.0/21 range VirtualBox allows without networks.conf.
    const lab = await labCopy(join(dir, 'prefix'), { clusterYaml: DEFAULT_CLUSTER_YAML.replaceAll('192.168.5.', '192.168.56.') });
    const dump = await vagrantDump(lab);
    expect(dump.machines.map((m) => [m.name, ipOf(m)])).toEqual([
      ['master-1', '192.168.56.11'],
      ['master-2', '192.168.56.12'],
      ['worker-1', '192.168.56.21'],
      ['worker-2', '192.168.56.22'],
      ['loadbalancer', '192.168.56.30'],
    ]);

    // As on master-1 in /vagrant: no --config, ./cluster.yaml is the description.
    const gen = await kubePki(['gen', '--out', 'pki'], { cwd: lab });
    expect(gen.exitCode, String(gen.stderr)).toBe(0);
    const sans = async (cert: string) => (await opensslView(join(lab, 'pki', `${cert}.crt`))).subjectAltName;
    const apiserver = await sans('kube-apiserver');
    for (const ip of ['192.168.56.11', '192.168.56.12', '192.168.56.30']) expect(apiserver).toContain(`IP Address:${ip}`);
    expect(await sans('etcd-server')).toContain('IP Address:192.168.56.11, IP Address:192.168.56.12');
    expect(await sans('worker-1')).toContain('IP Address:192.168.56.21');
    for (const cert of ['kube-apiserver', 'etcd-server', 'worker-1', 'worker-2']) expect(await sans(cert)).not.toMatch(/192\.168\.5\./);
  });

  it("reads nodes with an ssh: block (the tool's optional fields) and names a bad field as the tool does", async () => {
    const ssh =
      'ssh: { host: 10.0.0.21, port: 2222, user: kube, identityFile: ~/.ssh/lab, hostKey: "SHA256:' +
      'A'.repeat(43) +
      '", remoteDir: /etc/kubernetes/pki, sudo: true }';
    const yaml = DEFAULT_CLUSTER_YAML.replace('role: worker }', `role: worker, ${ssh} }`);
    expect(() => parseCluster(yaml, 'cluster.yaml')).not.toThrow();
    const dump = await vagrantDump(await labCopy(join(dir, 'ssh'), { clusterYaml: yaml }));
    expect(dump.machines.map(ipOf)).toEqual(['192.168.5.11', '192.168.5.12', '192.168.5.21', '192.168.5.22', '192.168.5.30']);

    const bad = await labCopy(join(dir, 'bad'), { clusterYaml: DEFAULT_CLUSTER_YAML.replace('192.168.5.12', '192.168.5.300') });
    await expect(vagrantDump(bad)).rejects.toThrow('kube-pki lab: cluster.yaml: nodes[1].address: "192.168.5.300": is not an IPv4 or IPv6 address');
  });

  it('the provisioning scripts pass shellcheck', async () => {
    const scripts = ['scripts/provision-master.sh', 'scripts/provision-ssh.sh'];
    const r = await execa('shellcheck', ['--shell=bash', ...scripts], { cwd: ROOT, reject: false });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
  });
});
