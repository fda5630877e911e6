import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { kubePki, tempDir } from './helpers/cli.js';
import { startLab, type SshLab } from './helpers/sshd.js';
import { pemCerts } from './helpers/rotation.js';

// rotate-ca --distribute against real OpenSSH sshds on loopback (127.0.14.5x: this range):
// each phase ends with every node holding its files for that phase, and check --remote is clean.
// After finish the trust bundle stays on the nodes with the new CA alone: components still started with
// it (the previous phase's flags) keep working until their restart; no file a flag names goes missing.

const NODES = [
  { name: 'master-1', address: '192.168.5.11', role: 'controlplane', ssh: '127.0.14.51' },
  { name: 'worker-1', address: '192.168.5.21', role: 'worker', ssh: '127.0.14.52' },
];

describe('rotate-ca --distribute (real sshd on loopback)', () => {
  let lab: SshLab;
  let dir: string;
  let cleanup: () => Promise<void>;
  let config: string;
  let pki: string;
  let knownHosts: string;
  const withSsh = (args: string[]) => kubePki([...args, '--config', config, '--out', pki, '--known-hosts', knownHosts], { env: { SSH_AUTH_SOCK: '' } });
  const nodeFiles = async (name: string) => (await readdir(join(lab.node(name).home, 'pki'))).sort();

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('kube-pki-rotate-distribute-'));
    lab = await startLab(NODES.map((n) => ({ name: n.name, address: n.ssh })));
    knownHosts = join(dir, 'known_hosts');
    pki = join(dir, 'pki');
    config = join(dir, 'cluster.yaml');
    await writeFile(
      config,
      stringify({
        profile: 'hardway',
        apiServer: { endpoint: '192.168.5.30' },
        ssh: { port: 2222, identityFile: lab.clientKey },
        nodes: [
          ...NODES.map((n) => ({ name: n.name, address: n.address, role: n.role, ssh: { host: n.ssh, user: lab.node(n.name).user, hostKey: lab.node(n.name).fingerprint } })),
          { name: 'loadbalancer', address: '192.168.5.30', role: 'loadbalancer' },
        ],
      }),
    );
    const gen = await withSsh(['gen', '--distribute']);
    expect(gen.exitCode, `${gen.stdout}\n${gen.stderr}`).toBe(0);
  }, 120_000);
  afterAll(async () => {
    await lab?.cleanup();
    await cleanup?.();
  });

  it('each phase reaches every node; check --remote is clean after each; finish leaves the bundle on the nodes with the new CA alone', async () => {
    const checkRemote = async () => {
      const r = await withSsh(['check', '--remote']);
      expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
    };
    await checkRemote();

    const start = await withSsh(['rotate-ca', 'start', '--distribute']);
    expect(start.exitCode, `${start.stdout}\n${start.stderr}`).toBe(0);
    for (const n of NODES) expect(await nodeFiles(n.name)).toContain('ca-bundle.crt');
    expect(pemCerts(await readFile(join(lab.node('worker-1').home, 'pki/ca-bundle.crt')))).toHaveLength(2);
    expect(await nodeFiles('worker-1')).not.toContain('ca-new.key'); // the new CA's key stays in the admin's folder
    await checkRemote();

    const reissue = await withSsh(['rotate-ca', 'reissue', '--distribute']);
    expect(reissue.exitCode, `${reissue.stdout}\n${reissue.stderr}`).toBe(0);
    expect((await readFile(join(lab.node('master-1').home, 'pki/ca.crt'))).equals(await readFile(join(pki, 'ca.crt')))).toBe(true);
    expect(await nodeFiles('master-1')).not.toContain('ca-old.key');
    await checkRemote();

    const finish = await withSsh(['rotate-ca', 'finish', '--distribute']);
    expect(finish.exitCode, `${finish.stdout}\n${finish.stderr}`).toBe(0);
    expect(finish.stdout).toContain('its name may go');
    const newCa = await readFile(join(pki, 'ca.crt'));
    for (const n of NODES) {
      const bundle = pemCerts(await readFile(join(lab.node(n.name).home, 'pki/ca-bundle.crt')));
      expect(bundle.map((c) => c.raw.toString('base64')), n.name).toEqual(pemCerts(newCa).map((c) => c.raw.toString('base64')));
      expect((await readFile(join(lab.node(n.name).home, 'pki/ca.crt'))).equals(newCa)).toBe(true);
    }
    await checkRemote();
  }, 240_000);

  it('abort --distribute from start: every node trusts the old CA alone again, under the bundle\'s name too', async () => {
    const ca = await readFile(join(pki, 'ca.crt'));
    const start = await withSsh(['rotate-ca', 'start', '--distribute']);
    expect(start.exitCode, `${start.stdout}\n${start.stderr}`).toBe(0);
    const abort = await withSsh(['rotate-ca', 'abort', '--distribute']);
    expect(abort.exitCode, `${abort.stdout}\n${abort.stderr}`).toBe(0);
    expect(abort.stdout).toContain('Restart, one node at a time');
    for (const n of NODES) {
      const home = lab.node(n.name).home;
      expect((await readFile(join(home, 'pki/ca.crt'))).equals(ca), n.name).toBe(true);
      expect(pemCerts(await readFile(join(home, 'pki/ca-bundle.crt'))).map((c) => c.fingerprint256)).toEqual(pemCerts(ca).map((c) => c.fingerprint256));
    }
    const r = await withSsh(['check', '--remote']);
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
  }, 240_000);
});
