import { chown, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VerifyReport } from '../src/distribute/report.js';
import { kubePki, tempDir } from './helpers/cli.js';
import { startLab, type SshLab } from './helpers/sshd.js';

// rootCA on real nodes: distribute sends no root key, and `check --remote` reports a node that holds
// one (a real OpenSSH sshd per simulated node, on 127.0.15.6x, port 2222).

const NODES = [
  { name: 'cp-1', address: '192.168.15.11', role: 'controlplane', ssh: '127.0.15.61' },
  { name: 'worker-1', address: '192.168.15.21', role: 'worker', ssh: '127.0.15.62' },
];

describe('root CA key and the nodes (real sshd on loopback)', () => {
  let lab: SshLab;
  let dir: string;
  let cleanup: () => Promise<void>;
  let config: string;
  let pki: string;
  let knownHosts: string;
  const remote = (args: string[]) => kubePki([...args, '--config', config, '--out', pki, '--known-hosts', knownHosts], { env: { SSH_AUTH_SOCK: '' } });

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('kube-pki-root-remote-'));
    lab = await startLab(NODES.map((n) => ({ name: n.name, address: n.ssh })));
    pki = join(dir, 'pki');
    knownHosts = join(dir, 'known_hosts');
    const passFile = join(dir, 'root.pass');
    await writeFile(passFile, 'remote root passphrase\n', { mode: 0o600 });
    config = join(dir, 'cluster.yaml');
    await writeFile(
      config,
      stringify({
        profile: 'kubeadm',
        key: { algorithm: 'ecdsa', curve: 'P-256' },
        rootCA: {},
        apiServer: { endpoint: '192.168.15.30' },
        ssh: { port: 2222, identityFile: lab.clientKey, remoteDir: 'kubernetes' },
        nodes: NODES.map((n) => ({ name: n.name, address: n.address, role: n.role, ssh: { host: n.ssh, user: lab.node(n.name).user, hostKey: lab.node(n.name).fingerprint } })),
      }),
    );
    const gen = await kubePki(['gen', '--config', config, '--out', pki, '--ca-passphrase-file', passFile]);
    expect(gen.exitCode, gen.stderr).toBe(0);
  });
  afterAll(async () => {
    await lab?.cleanup();
    await cleanup();
  });

  it('distribute sends no root file; check --remote is clean, then reports a node that holds the root key', async () => {
    const sent = await remote(['distribute']);
    expect(sent.exitCode, sent.stdout + sent.stderr).toBe(0);
    const clean = await remote(['check', '--remote', '--json']);
    expect(clean.exitCode, clean.stdout).toBe(0);
    const cleanReport = JSON.parse(clean.stdout) as { remote: VerifyReport };
    expect(cleanReport.remote.nodes.every((n) => !n.rootKey)).toBe(true);

    // Someone copied the root key to the control plane, under another name.
    const copy = join(lab.node('cp-1').home, 'kubernetes/pki/backup.pem');
    await writeFile(copy, await readFile(join(pki, 'root-ca.key')), { mode: 0o600 });
    await chown(copy, lab.node('cp-1').uid, lab.node('cp-1').uid);
    const found = await remote(['check', '--remote', '--json']);
    expect(found.exitCode).toBe(1);
    const report = JSON.parse(found.stdout) as { result: string; remote: VerifyReport };
    expect(report.result).toBe('ok'); // the local folder is fine
    expect(report.remote.nodes.find((n) => n.node === 'cp-1')).toMatchObject({ result: 'problems', rootKey: ['pki/backup.pem'] });
    expect(report.remote.nodes.find((n) => n.node === 'worker-1')!.rootKey).toBeUndefined();
    const text = await remote(['check', '--remote']);
    expect(text.exitCode).toBe(1);
    expect(text.stdout).toMatch(/cp-1:\s+ROOT KEY\s+pki\/backup\.pem holds the root CA's private key/);
  });
});
