import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { genPki, labCluster } from './check-fixtures.js';
import { kubePki, tempDir, type KubePkiResult } from './helpers/cli.js';
import { listFiles, opensslFacts } from './helpers/kubeadm.js';
import { cert, changedFiles, hashes, issued, pemCerts, ROOT_HARDWAY_YAML } from './helpers/rotation.js';

// A root CA adopted by a running cluster (issue 22): the description gains rootCA while the CAs are
// self-signed; rotate-ca start makes the root (key encrypted) and the new CAs as its intermediates,
// with the same overlapping trust as any rotation, instead of gen --replace-ca's outage.

const PASSPHRASE = 'adopt a root 22 without an outage';
const WITHOUT_ROOT = ROOT_HARDWAY_YAML.split('\n').filter((l) => !l.startsWith('rootCA:')).join('\n');

describe('rotate-ca adopts a root CA (hard way)', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let config: string;
  let pki: string;
  let passFile: string;
  const run = (args: string[], env: Record<string, string> = { KUBE_PKI_CA_PASSPHRASE_FILE: '' }) => kubePki([...args, '--config', config, '--out', pki], { env });
  const ok = (r: KubePkiResult) => expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    ({ config } = await labCluster(dir, WITHOUT_ROOT));
    pki = await genPki(dir, config);
    await writeFile(config, ROOT_HARDWAY_YAML); // the description gains rootCA
    passFile = join(dir, 'root.pass');
    await writeFile(passFile, `${PASSPHRASE}\n`, { mode: 0o600 });
  }, 60_000);
  afterAll(() => cleanup());

  it('start without the passphrase exits 2 and writes nothing; with it the root is made and signs the new CA; reissue and finish end under the root', async () => {
    const oldCa = await cert(join(pki, 'ca.crt'));
    expect(oldCa.subject).toBe(oldCa.issuer); // self-signed before
    const before = await hashes(pki);
    const missing = await run(['rotate-ca', 'start']);
    expect(missing.exitCode, `${missing.stdout}\n${missing.stderr}`).toBe(2);
    expect(missing.stderr).toContain('--ca-passphrase-file');
    expect(changedFiles(before, await hashes(pki))).toEqual([]);

    ok(await run(['rotate-ca', 'start', '--ca-passphrase-file', passFile]));
    const root = await cert(join(pki, 'root-ca.crt'));
    expect(root.subject).toContain('CN=Lab Root CA');
    expect((await readFile(join(pki, 'root-ca.key'), 'utf8')).startsWith('-----BEGIN ENCRYPTED PRIVATE KEY-----')).toBe(true);
    const newCa = await cert(join(pki, 'ca-new.crt'));
    expect(issued(newCa, root)).toBe(true);
    expect((await opensslFacts(join(pki, 'ca-new.crt'))).basicConstraints).toBe('CA:TRUE, pathlen:0');
    // The same overlap as any rotation: the old self-signed CA and the new intermediate; no root on the nodes.
    expect(pemCerts(await readFile(join(pki, 'ca-bundle.crt'))).map((c) => c.fingerprint256)).toEqual([oldCa.fingerprint256, newCa.fingerprint256]);

    // Mid-rotation check is clean: the old self-signed CA is the one being replaced (a note).
    const mid = await run(['check']);
    expect(mid.exitCode, mid.stdout).toBe(0);
    ok(await run(['rotate-ca', 'reissue']));
    ok(await run(['rotate-ca', 'finish']));
    expect((await cert(join(pki, 'ca.crt'))).fingerprint256).toBe(newCa.fingerprint256);
    const leaves = (await listFiles(pki)).filter((f) => f.endsWith('.crt') && !f.includes('/') && !/^(root-)?ca(-\w+)?\.crt$/.test(f));
    expect(leaves.length).toBeGreaterThanOrEqual(8);
    for (const leaf of leaves) {
      const v = await execa('openssl', ['verify', '-CAfile', join(pki, 'root-ca.crt'), '-untrusted', join(pki, 'ca.crt'), join(pki, leaf)], { reject: false, stdin: 'ignore' });
      expect(v.exitCode, `${leaf}: ${v.stdout}${v.stderr}`).toBe(0);
    }
    const check = await run(['check']);
    expect(check.exitCode, check.stdout).toBe(0);
    // gen now finds the CAs under the root: nothing to replace, nothing to do.
    const snapshot = await hashes(pki);
    ok(await run(['gen']));
    expect(changedFiles(snapshot, await hashes(pki))).toEqual([]);
    for (const f of await listFiles(pki)) expect((await readFile(join(pki, f))).includes(PASSPHRASE), f).toBe(false);
  }, 120_000);
});
