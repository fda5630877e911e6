import { execa } from 'execa';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { readFile } from 'node:fs/promises';
import { kubePki, tempDir } from './helpers/cli.js';
import { opensslVerify, opensslView } from './helpers/x509.js';

describe('kube-pki script: the learner\'s view', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let script: string;

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    const r = await kubePki(['script'], { cwd: dir });
    expect(r.exitCode, r.stderr).toBe(0);
    script = r.stdout;
    await writeFile(join(dir, 'gen-pki.sh'), script);
    const tool = await kubePki(['gen', '--out', join(dir, 'tool')], { cwd: dir });
    expect(tool.exitCode, tool.stderr).toBe(0);
  });
  afterAll(() => cleanup());

  it('is plain bash: heredoc openssl.cnf files and the genrsa / req / ca sequence, every certificate backdated 5 minutes', () => {
    expect(script.startsWith('#!/usr/bin/env bash\n')).toBe(true);
    expect(script).toContain("cat > kube-apiserver.cnf <<'KUBE_PKI_EOF'");
    expect(script).toContain('subjectAltName = @alt_names');
    expect(script).toContain('openssl genrsa -out admin.key 2048');
    expect(script).toContain('openssl req -new -key admin.key -subj /CN=admin/O=system:masters -out admin.csr -config admin.cnf');
    expect(script).toMatch(/openssl ca -batch -config "\$KUBE_PKI_CA_DB\/\.ca-config\.cnf" -in ca\.csr -selfsign -keyfile ca\.key -out ca\.crt -startdate "\$KUBE_PKI_NOT_BEFORE" -days 1000 .*-extensions v3_ca/);
    expect(script).toMatch(/openssl ca -batch -config "\$KUBE_PKI_CA_DB\/\.ca-config\.cnf" -in admin\.csr -cert ca\.crt -keyfile ca\.key -out admin\.crt -startdate "\$KUBE_PKI_NOT_BEFORE" .*-extensions v3_req/);
    expect(script).toContain('KUBE_PKI_CA_DB="$(mktemp -d)"');
    expect(script).not.toContain('CAcreateserial');
    // The CA comes before any certificate it signs.
    expect(script.indexOf('-out ca.crt')).toBeLessThan(script.indexOf('-cert ca.crt'));
  });

  it('runs on its own in an empty folder and yields the same subjects, SANs and usages as the tool', async () => {
    const empty = join(dir, 'by-hand');
    await execa('mkdir', [empty]);
    const run = await execa('bash', [join(dir, 'gen-pki.sh')], { cwd: empty, reject: false });
    expect(run.exitCode, run.stderr).toBe(0);

    const toolFiles = (await readdir(join(dir, 'tool'))).filter((f) => f.endsWith('.crt'));
    expect(toolFiles.length).toBe(11);
    const scriptFiles = await readdir(empty);
    for (const crt of toolFiles) {
      expect(scriptFiles).toContain(crt);
      const [byTool, byScript] = await Promise.all([opensslView(join(dir, 'tool', crt)), opensslView(join(empty, crt))]);
      expect({ ...byScript, serial: '' }).toEqual({ ...byTool, serial: '' });
      expect(await opensslVerify(join(empty, 'ca.crt'), join(empty, crt))).toBe(true);
    }
    // The kubeconfigs too: same structure, the script's own certificates embedded.
    for (const kc of (await readdir(join(dir, 'tool'))).filter((f) => f.endsWith('.kubeconfig'))) {
      const a = parse(await readFile(join(dir, 'tool', kc), 'utf8'));
      const b = parse(await readFile(join(empty, kc), 'utf8'));
      expect(b.clusters[0].cluster.server).toBe(a.clusters[0].cluster.server);
      expect(b.users[0].name).toBe(a.users[0].name);
      expect(Buffer.from(b.clusters[0].cluster['certificate-authority-data'], 'base64').equals(await readFile(join(empty, 'ca.crt')))).toBe(true);
    }
    // The tool itself finds nothing to add or redo in what the script made: the same PKI, byte for byte
    // where it can be (kubeconfigs), equivalent where it cannot (keys and serials are random).
    const again = await kubePki(['gen', '--out', empty], { cwd: dir });
    expect(again.exitCode, again.stdout + again.stderr).toBe(0);
    expect(again.stdout).toContain('0 created, 0 re-issued, 18 kept, 0 stale, 0 failed');
  });

  it('does the same for the kubeadm layout: node trees, copies and kubeconfigs', async () => {
    const config = join(dir, 'kubeadm.yaml');
    await writeFile(
      config,
      [
        'profile: kubeadm',
        'apiServer: { endpoint: 10.0.0.30 }',
        'nodes:',
        '  - { name: cp-1, address: 10.0.0.11, role: controlplane }',
        '  - { name: cp-2, address: 10.0.0.12, role: controlplane }',
        '  - { name: w-1, address: fd00::21, role: worker }',
        '',
      ].join('\n'),
    );
    const r = await kubePki(['script', '--config', config]);
    expect(r.exitCode, r.stderr).toBe(0);
    const out = join(dir, 'kubeadm-by-hand');
    await execa('mkdir', ['-m', '700', out]);
    await writeFile(join(dir, 'gen-kubeadm.sh'), r.stdout);
    const run = await execa('bash', [join(dir, 'gen-kubeadm.sh')], { cwd: out, reject: false });
    expect(run.exitCode, run.stderr).toBe(0);
    expect(await opensslVerify(join(out, 'cp-2/pki/ca.crt'), join(out, 'cp-2/pki/apiserver.crt'))).toBe(true);
    await expect(readFile(join(out, 'w-1/pki/ca.key'))).rejects.toThrow(/ENOENT/);
    const again = await kubePki(['gen', '--config', config, '--out', out]);
    expect(again.exitCode, again.stdout + again.stderr).toBe(0);
    expect(again.stdout).toMatch(/0 created, 0 re-issued, \d+ kept, 0 stale, 0 failed/);
  });
});
