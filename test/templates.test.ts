import { cp, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCluster, defaultCluster } from '../src/cluster/load.js';
import { renderCnf } from '../src/openssl/cnf.js';
import { instancesFor } from '../src/pki.js';
import { ipVersion } from '../src/util/ip.js';
import { CLI, ROOT, kubePki, tempDir } from './helpers/cli.js';
import { execa } from 'execa';

const KUBEADM = `profile: kubeadm
apiServer: { endpoint: 192.168.5.30, extraSANs: ["*.lab.example", "fd00::30"] }
nodes:
  - { name: master-1, address: 192.168.5.11, role: controlplane }
  - { name: master-2, address: "fd00::12", role: controlplane }
  - { name: worker-1, address: 192.168.5.21, role: worker }
`;

/** The heredoc bodies (the openssl.cnf files) of a `kube-pki script`. */
const heredocs = (script: string): string[] => [...script.matchAll(/^cat > \S+ <<'KUBE_PKI_EOF'\n([\s\S]*?)KUBE_PKI_EOF$/gm)].map((m) => m[1]!);

describe('openssl.cnf templates: compiled when dist/ is built, or at run time', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => ({ dir, cleanup } = await tempDir()));
  afterAll(() => cleanup());

  // dist/ uses the build's precompiled template; src/ (these tests) compiles templates/ itself.
  it('the built CLI writes byte for byte what the run-time compilation renders, for every certificate of both profiles', async () => {
    await writeFile(join(dir, 'kubeadm.yaml'), KUBEADM);
    for (const [config, cluster] of [
      [undefined, defaultCluster()],
      [join(dir, 'kubeadm.yaml'), parseCluster(KUBEADM, 'kubeadm.yaml')],
    ] as const) {
      const r = await kubePki(['script', ...(config ? ['--config', config] : [])], { cwd: dir });
      expect(r.exitCode, r.stderr).toBe(0);
      const written = heredocs(r.stdout).sort();
      const rendered = instancesFor(cluster).certs.map((c) => renderCnf(c)).sort();
      expect(rendered.length).toBeGreaterThan(10);
      expect(written).toEqual(rendered);
    }
  });

  it('an edited template is used as it is: the run compiles it instead of the built-in copy', async () => {
    // A copy of the installed tool whose templates/ a user has edited.
    const copy = join(dir, 'installed');
    await mkdir(copy);
    await cp(join(ROOT, 'dist'), join(copy, 'dist'), { recursive: true });
    await cp(join(ROOT, 'templates'), join(copy, 'templates'), { recursive: true });
    await cp(join(ROOT, 'package.json'), join(copy, 'package.json'));
    await symlink(join(ROOT, 'node_modules'), join(copy, 'node_modules'));
    const template = join(copy, 'templates', 'openssl.cnf.hbs');
    await writeFile(template, (await readFile(template, 'utf8')).replace('[req]\n', '[req]\n# edited by the operator: {{kind}}\n'));

    const run = (cli: string) => execa('node', [cli, 'script'], { cwd: dir, reject: false, stdin: 'ignore', env: { CI: '1' } });
    const [edited, original] = await Promise.all([run(join(copy, 'dist', 'cli.js')), run(CLI)]);
    expect(edited.exitCode, edited.stderr).toBe(0);
    expect(edited.stdout).toContain('[req]\n# edited by the operator: server\n');
    expect(edited.stdout).toContain('[req]\n# edited by the operator: client\n');
    expect(original.stdout).not.toContain('edited by the operator');
    // Apart from the added lines, the same script.
    expect(edited.stdout.replace(/# edited by the operator: \S+\n/g, '')).toBe(original.stdout);
  });
});

describe('ipVersion', () => {
  it('tells IPv4 from IPv6 from anything else, as net.isIP does', () => {
    expect(ipVersion('192.168.5.11')).toBe(4);
    expect(ipVersion('fd00::1')).toBe(6);
    expect(ipVersion('::ffff:192.168.5.11')).toBe(6);
    expect(ipVersion('::')).toBe(6);
    for (const bad of ['', 'kubernetes', '192.168.5.300', '1.2.3', '1.2.3.4:80', 'fd00:::1', 'master-1.local', ':']) expect(ipVersion(bad), bad).toBe(0);
  });
});
