import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubePki, tempDir, type KubePkiResult } from './helpers/cli.js';
import { listFiles, opensslFacts } from './helpers/kubeadm.js';
import { cert, changedFiles, hashes, issued, ROOT_HARDWAY_YAML as HARDWAY } from './helpers/rotation.js';

// rotate-ca under rootCA (issue 15): the new intermediate is signed by the root, which needs the
// root key's passphrase file exactly as gen does; reissue and finish never need it. Real openssl
// verifies the chains; the passphrase must show up nowhere but in its own file.

const PASSPHRASE = 'rotate under the root 15 staple';

describe('rotate-ca with a root CA (hardway)', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let config: string;
  let out: string;
  let passFile: string;
  const outputs: string[] = [];
  const rotate = async (args: string[], env: Record<string, string> = { KUBE_PKI_CA_PASSPHRASE_FILE: '' }): Promise<KubePkiResult> => {
    const r = await kubePki(['rotate-ca', ...args, '--config', config, '--out', out], { env });
    outputs.push(String(r.stdout), String(r.stderr));
    return r;
  };
  const ok = (r: KubePkiResult) => expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('kube-pki-rotate-root-'));
    // Outside OUT: the passphrase file is the admin's, not part of the PKI folder.
    passFile = join(dir, 'root.pass');
    await writeFile(passFile, `${PASSPHRASE}\n`, { mode: 0o600 });
    config = join(dir, 'cluster.yaml');
    await writeFile(config, HARDWAY);
    out = join(dir, 'pki');
    const gen = await kubePki(['gen', '--config', config, '--out', out, '--ca-passphrase-file', passFile]);
    ok(gen);
  });
  afterAll(() => cleanup());

  it('start, reissue, finish: the new intermediate is the root\'s (pathlen:0), only start needs the passphrase, every leaf verifies up to the root', async () => {
    const before = await hashes(out);
    const oldCa = await cert(join(out, 'ca.crt'));

    // Without the passphrase: exit 2 naming the option, nothing written.
    const missing = await rotate(['start']);
    expect(missing.exitCode, `${missing.stdout}\n${missing.stderr}`).toBe(2);
    expect(missing.stderr).toContain('--ca-passphrase-file');
    expect(missing.stderr).not.toMatch(/\n\s+at /);
    expect(changedFiles(before, await hashes(out))).toEqual([]);

    // A wrong passphrase: exit 2, cannot decrypt the root key, nothing written.
    const wrongFile = join(dir, 'wrong.pass');
    await writeFile(wrongFile, 'not the passphrase\n', { mode: 0o600 });
    const wrong = await rotate(['start', '--ca-passphrase-file', wrongFile]);
    expect(wrong.exitCode, `${wrong.stdout}\n${wrong.stderr}`).toBe(2);
    expect(wrong.stderr).toContain('cannot decrypt root-ca.key');
    expect(changedFiles(before, await hashes(out))).toEqual([]);

    // With it (through the environment variable): the new intermediate, signed by the root.
    ok(await rotate(['start'], { KUBE_PKI_CA_PASSPHRASE_FILE: passFile }));
    const root = await cert(join(out, 'root-ca.crt'));
    const newCa = await cert(join(out, 'ca-new.crt'));
    expect(issued(newCa, root)).toBe(true);
    expect(newCa.ca).toBe(true);
    const facts = await opensslFacts(join(out, 'ca-new.crt'));
    expect(facts.basicConstraints).toBe('CA:TRUE, pathlen:0');
    expect(facts.keyUsage).toEqual(expect.arrayContaining(['Certificate Sign', 'CRL Sign']));
    expect(new Date(newCa.validTo).getTime()).toBeLessThanOrEqual(new Date(root.validTo).getTime());
    expect(newCa.publicKey.equals(oldCa.publicKey)).toBe(false);
    const chain = await execa('openssl', ['verify', '-CAfile', join(out, 'root-ca.crt'), join(out, 'ca-new.crt')], { reject: false, stdin: 'ignore' });
    expect(chain.exitCode, chain.stderr).toBe(0);

    // reissue and finish: no passphrase (the environment variable emptied); the flag is accepted too.
    ok(await rotate(['reissue']));
    ok(await rotate(['finish', '--ca-passphrase-file', passFile]));
    ok(await rotate(['status', '--ca-passphrase-file', passFile]));

    const ca = await cert(join(out, 'ca.crt'));
    expect(ca.raw.equals(newCa.raw)).toBe(true);
    const leaves = (await listFiles(out)).filter((f) => f.endsWith('.crt') && !f.includes('/') && !/^(root-)?ca(-\w+)?\.crt$/.test(f) && !f.startsWith('backup-'));
    expect(leaves.length).toBeGreaterThanOrEqual(8);
    for (const leaf of leaves) {
      const v = await execa('openssl', ['verify', '-CAfile', join(out, 'root-ca.crt'), '-untrusted', join(out, 'ca.crt'), join(out, leaf)], { reject: false, stdin: 'ignore' });
      expect(v.exitCode, `${leaf}: ${v.stdout}${v.stderr}`).toBe(0);
    }

    // The passphrase: in no file of OUT (backups included), in no output.
    for (const f of await listFiles(out)) expect((await readFile(join(out, f))).includes(PASSPHRASE), f).toBe(false);
    for (const text of outputs) expect(text).not.toContain(PASSPHRASE);
  });
});
