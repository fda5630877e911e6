import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_NODE_DIR } from '../src/catalog/flags.js';
import { DEFAULT_REMOTE_DIR, normalizeRemoteDir, showRemoteDir } from '../src/distribute/targets.js';
import { kubePki, tempDir } from './helpers/cli.js';

// `kube-pki flags` (and explain's FILES) name the files where `kube-pki distribute` puts them, and say
// where that folder comes from: ssh.remoteDir, else distribute's default for the profile.

const NODES = `apiServer: { endpoint: 127.0.3.230 }
nodes:
  - { name: master-1, address: 127.0.3.211, role: controlplane }
  - { name: worker-1, address: 127.0.3.221, role: worker }
`;

interface DryRun {
  nodes: { node: string; user: string; remoteDir: string }[];
}

describe('flags and distribute: one folder on the nodes', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let identity: string;

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('kube-pki-flags-folder-'));
    identity = join(dir, 'id_ed25519');
    await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', identity]);
  });
  afterAll(() => cleanup());

  /** A description with this ssh block; the folder distribute --dry-run would fill, per node. */
  async function both(name: string, profile: string, ssh: string): Promise<{ config: string; flags: string; folders: string[] }> {
    const config = join(dir, `${name}.yaml`);
    await writeFile(config, `profile: ${profile}\nssh: { identityFile: ${identity}, ${ssh} }\n${NODES}`);
    const out = join(dir, `${name}-pki`);
    expect((await kubePki(['gen', '--config', config, '--out', out])).exitCode).toBe(0);
    const flags = await kubePki(['flags', '--config', config, '--out', out]);
    expect(flags.exitCode, flags.stderr).toBe(0);
    const dry = await kubePki(['distribute', '--dry-run', '--json', '--config', config, '--out', out]);
    expect(dry.exitCode, dry.stderr).toBe(0);
    const report = JSON.parse(dry.stdout) as DryRun;
    // distribute's ~/x is in the login user's home.
    const folders = report.nodes.map((n) => (n.remoteDir.startsWith('~/') ? `/home/${n.user}/${n.remoteDir.slice(2)}` : n.remoteDir));
    return { config, flags: flags.stdout, folders };
  }

  it('the defaults are distribute\'s: ~/pki for the hard way, /etc/kubernetes for kubeadm', () => {
    for (const profile of ['hardway', 'kubeadm'] as const) {
      const norm = normalizeRemoteDir(DEFAULT_REMOTE_DIR[profile]);
      expect(typeof norm === 'string' ? norm : showRemoteDir(norm.path), profile).toBe(DEFAULT_NODE_DIR[profile]);
    }
  });

  it('hard way, no remoteDir: the flags name the SSH user\'s ~/pki, where distribute puts the files, and say so', async () => {
    const { config, flags, folders } = await both('hardway-default', 'hardway', 'user: vagrant');
    expect(new Set(folders)).toEqual(new Set(['/home/vagrant/pki']));
    expect(flags).toContain('files under /home/vagrant/pki\n');
    expect(flags).toContain("# (kube-pki distribute's default for the hardway profile, ~/pki, in the home folder of vagrant (ssh.user), taken to be /home/vagrant; --dir PATH names another folder)");
    expect(flags).toContain('--client-ca-file=/home/vagrant/pki/ca.crt');
    expect(flags).not.toContain('/var/lib/kubernetes');
    const explain = await kubePki(['explain', 'ca', '--config', config]);
    expect(explain.stdout).toContain('master-1:  /home/vagrant/pki/ca.key');
  });

  it('an absolute ssh.remoteDir: both use it, and the flags name the field', async () => {
    const { config, flags, folders } = await both('hardway-set', 'hardway', 'user: vagrant, remoteDir: /var/lib/kubernetes/pki, sudo: true');
    expect(new Set(folders)).toEqual(new Set(['/var/lib/kubernetes/pki']));
    expect(flags).toContain(`# (ssh.remoteDir /var/lib/kubernetes/pki in ${config}; --dir PATH names another folder)`);
    expect(flags).toContain('--client-ca-file=/var/lib/kubernetes/pki/ca.crt');
  });

  it('kubeadm: /etc/kubernetes for both', async () => {
    const { flags, folders } = await both('kubeadm-default', 'kubeadm', 'user: root, sudo: false');
    expect(new Set(folders)).toEqual(new Set(['/etc/kubernetes']));
    expect(flags).toContain("# (kube-pki distribute's default for the kubeadm profile, /etc/kubernetes; --dir PATH names another folder)");
    expect(flags).toContain('--client-ca-file=/etc/kubernetes/pki/ca.crt');
  });
});
