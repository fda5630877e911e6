import { X509Certificate } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubePki, tempDir } from './helpers/cli.js';
import { changedFiles, hashes } from './helpers/rotation.js';
import { SMALL_CLUSTER } from './helpers/small-cluster.js';
import { opensslView } from './helpers/x509.js';

// `key:` changed from RSA to ECDSA (issue 22, item 14): signing again for the kept RSA keys would give
// certificates with ECDSA's key usage over RSA keys. gen --force refuses and names renew --new-key.

const RSA = SMALL_CLUSTER.replace('key: { algorithm: ecdsa, curve: P-256 }', 'key: { algorithm: rsa, size: 2048 }');

describe('a changed key type', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => ({ dir, cleanup } = await tempDir()));
  afterAll(() => cleanup());

  it('gen --force (and its dry run) refuses, naming renew --all --new-key; renew --all --new-key gives ECDSA leaves with ECDSA usage', async () => {
    expect(RSA).not.toEqual(SMALL_CLUSTER);
    const rsa = join(dir, 'rsa.yaml');
    const ecdsa = join(dir, 'ecdsa.yaml');
    await writeFile(rsa, RSA);
    await writeFile(ecdsa, SMALL_CLUSTER);
    const out = join(dir, 'pki');
    expect((await kubePki(['gen', '--config', rsa, '--out', out])).exitCode).toBe(0);
    const before = await hashes(out);

    const stale = await kubePki(['gen', '--config', ecdsa, '--out', out]);
    expect(stale.exitCode).toBe(3);
    expect(stale.stdout).toContain('kube-pki renew --all --new-key');
    for (const dry of [['--dry-run'], []]) {
      const r = await kubePki(['gen', '--force', ...dry, '--config', ecdsa, '--out', out]);
      expect(r.exitCode, `${dry}: ${r.stdout}${r.stderr}`).toBe(2);
      expect(r.stderr).toContain('key: says ECDSA P-256, but these certificates would be signed again for a kept key of another type');
      expect(r.stderr).toContain('admin.key: RSA 2048');
      expect(r.stderr).toContain('Run kube-pki renew --all --new-key');
    }
    expect(changedFiles(before, await hashes(out))).toEqual([]);

    const renew = await kubePki(['renew', '--all', '--new-key', '--config', ecdsa, '--out', out]);
    expect(renew.exitCode, renew.stdout + renew.stderr).toBe(0);
    const admin = new X509Certificate(await readFile(join(out, 'admin.crt')));
    expect(admin.publicKey.asymmetricKeyType).toBe('ec');
    expect((await opensslView(join(out, 'admin.crt'))).keyUsage).toBe('critical: Digital Signature');
  }, 120_000);
});
