import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubePki, tempDir } from './helpers/cli.js';

// --restart without a cluster: the description's restart: block (validated like every field), the
// defaults per profile, the order, the health checks and the refusals, as --dry-run prints them.
// Nothing here connects anywhere (the lab's 192.168.5.x addresses are only printed); the rollout itself
// runs against real sshd nodes and a real etcd cluster in test/e2e/unattended-etcd.test.ts.

const HARDWAY = `profile: hardway
apiServer: { endpoint: 192.168.5.30 }
restart:
  commands: { etcd: [sh, -c, "echo 'it works'; systemctl restart etcd"] }
  ports: { kube-apiserver: 8443 }
nodes:
  - { name: master-1, address: 192.168.5.11, role: controlplane, ssh: { sudo: true }, restart: { address: 10.0.0.1 } }
  - { name: master-2, address: 192.168.5.12, role: controlplane, restart: { commands: { kube-apiserver: [/usr/local/bin/restart-apiserver] }, skip: [kube-scheduler] } }
  - { name: worker-1, address: 192.168.5.21, role: worker }
  - { name: worker-2, address: 192.168.5.22, role: worker, restart: { ports: { kubelet: 10248 } } }
  - { name: loadbalancer, address: 192.168.5.30, role: loadbalancer }
`;

const KUBEADM = `profile: kubeadm
apiServer: { endpoint: 192.168.5.30 }
nodes:
  - { name: cp-1, address: 192.168.5.11, role: controlplane }
  - { name: worker-1, address: 192.168.5.21, role: worker }
`;

describe('--restart: commands, order and health checks from the description (dry run)', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  const files = async (name: string, yaml: string) => {
    const config = join(dir, `${name}.yaml`);
    await writeFile(config, yaml);
    const out = join(dir, name);
    const gen = await kubePki(['gen', '--config', config, '--out', out]);
    expect(gen.exitCode, gen.stderr).toBe(0);
    return { config, out };
  };
  let hardway: { config: string; out: string };

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('kube-pki-restart-'));
    hardway = await files('hardway', HARDWAY);
  }, 120_000);
  afterAll(() => cleanup());

  it('renew --dry-run --distribute --restart: node by node, control planes first, etcd first; commands quoted for the remote shell; where each comes from', async () => {
    const r = await kubePki(['renew', '--all', '--dry-run', '--distribute', '--restart', '--config', hardway.config, '--out', hardway.out]);
    expect(r.exitCode, r.stderr).toBe(0);
    const list = r.stdout.slice(r.stdout.indexOf('Restart (--restart)'));
    expect(list.split('\n').filter((l) => /^ {2}\d\. /.test(l))).toEqual(['  1. master-1:', '  2. master-2: (restart.skip: kube-scheduler)', '  3. worker-1:', '  4. worker-2:']);
    // The description's command, each word quoted once for the remote shell.
    expect(list).toContain(`sh -c 'echo '\\''it works'\\''; systemctl restart etcd'    (${hardway.config}: restart.commands.etcd)`);
    // master-1: ssh.sudo puts the defaults behind sudo -n; its health checks go to restart.address.
    expect(list).toContain('sudo -n systemctl restart kube-apiserver    (the hardway default)');
    expect(list).toContain('then wait for https://10.0.0.1:2379/health');
    expect(list).toContain('then wait for https://10.0.0.1:8443/readyz'); // restart.ports
    expect(list).toContain('then wait for https://10.0.0.1:10257/healthz');
    expect(list).toContain('then wait for https://10.0.0.1:10259/healthz');
    // master-2: its own command wins; the scheduler is skipped there only.
    expect(list).toContain(`/usr/local/bin/restart-apiserver    (${hardway.config}: nodes[1].restart.commands.kube-apiserver)`);
    expect(list).toContain('then wait for https://192.168.5.12:8443/readyz');
    expect(list).not.toContain('https://192.168.5.12:10259');
    // worker-1: kubelet on 10250 (TLS), kube-proxy on 10256 (plain HTTP, as it serves it); no sudo there.
    expect(list).toContain('    systemctl restart kubelet    (the hardway default)\n         then wait for https://192.168.5.21:10250/healthz');
    expect(list).toContain('then wait for http://192.168.5.21:10256/healthz');
    expect(list).toContain('then wait for http://192.168.5.22:10248/healthz'); // the kubelet's plain-HTTP port, chosen per node
    // The order inside a node: etcd, then the apiserver, then its clients.
    const m1 = list.slice(list.indexOf('1. master-1'), list.indexOf('2. master-2'));
    expect([...m1.matchAll(/wait for https:\/\/10\.0\.0\.1:(\d+)/g)].map((m) => m[1])).toEqual(['2379', '8443', '10257', '10259']);
  });

  it('renew --dry-run --restart for one certificate restarts only what reads it', async () => {
    const r = await kubePki(['renew', 'etcd-server', '--dry-run', '--distribute', '--restart', '--config', hardway.config, '--out', hardway.out]);
    expect(r.exitCode, r.stderr).toBe(0);
    const list = r.stdout.slice(r.stdout.indexOf('Restart (--restart)'));
    expect(list.split('\n').filter((l) => /^ {2}\d\. /.test(l))).toEqual(['  1. master-1:', '  2. master-2:']); // the scheduler reads no etcd file: nothing skipped
    expect(list).toContain('restart.commands.etcd');
    expect(list).toContain('kube-apiserver'); // it reads etcd-server.crt as its etcd client certificate
    expect(list).not.toContain('kubelet');
  });

  it('kubeadm: static pods by moving the manifest out of /etc/kubernetes/manifests and back; the kubelet by systemctl', async () => {
    const kubeadm = await files('kubeadm', KUBEADM);
    const r = await kubePki(['renew', '--all', '--dry-run', '--distribute', '--restart', '--config', kubeadm.config, '--out', kubeadm.out]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain(
      "sh -c 'mv /etc/kubernetes/manifests/etcd.yaml /etc/kubernetes/etcd.yaml.kube-pki-restart && sleep 20 && mv /etc/kubernetes/etcd.yaml.kube-pki-restart /etc/kubernetes/manifests/etcd.yaml'    (the kubeadm default)",
    );
    expect(r.stdout).toContain('then wait for https://192.168.5.11:2379/health');
    expect(r.stdout).toContain('then wait for https://192.168.5.11:6443/readyz');
    expect(r.stdout).toContain('systemctl restart kubelet    (the kubeadm default)');
  });

  it('rotate-ca, renew-ca and distribute take --restart too and print the same kind of list on --dry-run', async () => {
    const renewCa = await kubePki(['renew-ca', '--dry-run', '--distribute', '--restart', '--config', hardway.config, '--out', hardway.out]);
    expect(renewCa.exitCode, renewCa.stderr).toBe(0);
    expect(renewCa.stdout).toContain('Restart (--restart), one node at a time');
    expect(renewCa.stdout).toMatch(/1\. master-1:/);
    const rotate = await kubePki(['rotate-ca', 'start', '--dry-run', '--distribute', '--restart', '--config', hardway.config, '--out', hardway.out]);
    expect(rotate.exitCode, rotate.stderr).toBe(0);
    expect(rotate.stdout).toContain('Restart (--restart), one node at a time');
    const dist = await kubePki(['distribute', '--dry-run', '--restart', '--config', hardway.config, '--out', hardway.out]);
    expect(dist.exitCode, dist.stderr).toBe(0);
    expect(dist.stdout).toContain('Restart (--restart), one node at a time');
    expect(dist.stdout).toContain('restarts only what reads a file it actually sends');
  });

  it('refused with exit 2 before anything is written: --restart without --distribute, with --json, with distribute --verify', async () => {
    const cases: [string[], string][] = [
      [['renew', '--all', '--restart'], '--restart needs --distribute'],
      [['renew', '--all', '--distribute', '--restart', '--json'], '--restart does not combine with --json'],
      [['rotate-ca', 'start', '--restart'], '--restart needs --distribute'],
      [['renew-ca', '--restart'], '--restart needs --distribute'],
      [['renew-ca', '--distribute', '--restart', '--json'], '--restart does not combine with --json'],
      [['distribute', '--verify', '--restart'], '--verify changes nothing'],
      [['renew', '--all', '--distribute', '--restart', '--restart-timeout', '0'], 'is not a whole number of 1 or more'],
    ];
    for (const [args, message] of cases) {
      const r = await kubePki([...args, '--config', hardway.config, '--out', hardway.out]);
      expect(r.exitCode, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toContain(message);
    }
    const check = await kubePki(['check', '--config', hardway.config, '--out', hardway.out, '--json']);
    expect(JSON.parse(check.stdout).result).not.toBe('failed'); // nothing was renewed or broken
  });

  it('a bad restart: block is exit 2 naming the field and the value', async () => {
    const bad: [string, string][] = [
      ['restart: { commands: { etcdd: [systemctl, restart, etcd] } }', 'restart.commands'],
      ['restart: { commands: { etcd: [] } }', 'restart.commands.etcd'],
      ['restart: { commands: { etcd: [systemctl, ""] } }', 'restart.commands.etcd[1]'],
      ['restart: { commands: { etcd: ["systemctl\\nrestart"] } }', 'must not hold control characters'],
      ['restart: { ports: { etcd: 70000 } }', 'restart.ports.etcd'],
      ['restart: { skip: [etcdd] }', 'restart.skip[0]'],
      ['restart: { address: 10.0.0.1 }', 'unknown field "address"'],
    ];
    for (const [block, message] of bad) {
      const config = join(dir, 'bad.yaml');
      await writeFile(config, `${KUBEADM}${block}\n`);
      const r = await kubePki(['renew', '--all', '--dry-run', '--config', config, '--out', join(dir, 'never')]);
      expect(r.exitCode, `${block}: ${r.stderr}`).toBe(2);
      expect(r.stderr, block).toContain(message);
    }
  });
});
