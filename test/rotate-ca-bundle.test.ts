import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RotateReport } from '../src/rotate/rotate.js';
import { joinPem, pemBundle, pemCertificates } from '../src/util/pem.js';
import { copyPki, genPki, labCluster } from './check-fixtures.js';
import { kubePki, tempDir } from './helpers/cli.js';
import { changedFiles, hashes, kubeconfigParts, KUBEADM_YAML } from './helpers/rotation.js';

// Trust bundles (issue 22): a CA file without a final newline must not glue two PEM blocks together
// (`-----END CERTIFICATE----------BEGIN CERTIFICATE-----`, which Go and openssl reject); every bundle
// is read back before it is installed. Real openssl (storeutl) reads each bundle as a consumer would.

/** How many certificates openssl finds in a file (0 for a glued bundle). */
async function opensslCount(file: string): Promise<number> {
  const r = await execa('openssl', ['storeutl', '-certs', file], { reject: false, stdin: 'ignore' });
  return Number(/Total found: (\d+)/.exec(String(r.stdout))?.[1] ?? -1);
}

const withoutFinalNewline = async (file: string) => writeFile(file, (await readFile(file, 'utf8')).trimEnd());

describe('rotate-ca start joins PEM blocks properly', () => {
  let dir: string;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
  });
  afterAll(() => cleanup());

  it('hard way: ca.crt without a final newline gives a bundle of two certificates, in the file and every kubeconfig', async () => {
    const { config } = await labCluster(dir);
    const pki = await genPki(dir, config, 'hardway');
    await withoutFinalNewline(join(pki, 'ca.crt'));
    const r = await kubePki(['rotate-ca', 'start', '--config', config, '--out', pki, '--json']);
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
    const bundle = await readFile(join(pki, 'ca-bundle.crt'), 'utf8');
    expect(bundle).not.toContain('----------');
    expect(await opensslCount(join(pki, 'ca-bundle.crt'))).toBe(2);
    const admin = await kubeconfigParts(join(pki, 'admin.kubeconfig'));
    expect(admin.cas).toHaveLength(2);
    const embedded = /certificate-authority-data: (\S+)/.exec(await readFile(join(pki, 'admin.kubeconfig'), 'utf8'))![1]!;
    expect(pemCertificates(Buffer.from(embedded, 'base64'))).toHaveLength(2);
    expect((JSON.parse(r.stdout) as RotateReport).cas[0]).toEqual(expect.objectContaining({ state: 'start', complete: true }));
  });

  it('kubeadm: each tree\'s bundle is two certificates although the CA files lack their final newline', async () => {
    const sub = join(dir, 'kubeadm');
    await mkdir(sub);
    const { config } = await labCluster(sub, KUBEADM_YAML);
    const pki = await genPki(sub, config);
    await withoutFinalNewline(join(pki, '_cluster/pki/etcd/ca.crt'));
    const r = await kubePki(['rotate-ca', 'start', '--ca', 'etcd-ca', '--config', config, '--out', pki]);
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
    for (const f of ['_cluster/pki/etcd/ca-bundle.crt', 'cp-1/pki/etcd/ca-bundle.crt', 'cp-2/pki/etcd/ca-bundle.crt']) expect(await opensslCount(join(pki, f)), f).toBe(2);
  });

  it('a CA file whose second PEM block is not a certificate: start fails (exit 1) naming it, and no bundle is installed', async () => {
    await mkdir(join(dir, 'bad'));
    const { config } = await labCluster(join(dir, 'bad'));
    const base = await genPki(join(dir, 'bad'), config);
    const pki = await copyPki(base, join(dir, 'bad', 'broken'));
    const crt = await readFile(join(pki, 'ca.crt'), 'utf8');
    await writeFile(join(pki, 'ca.crt'), `${crt}-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n`);
    const before = await hashes(pki);
    const r = await kubePki(['rotate-ca', 'start', '--config', config, '--out', pki]);
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(1);
    expect(`${r.stdout}${r.stderr}`).toContain('ca-bundle.crt: ca.crt is not a readable PEM certificate');
    expect(changedFiles(before, await hashes(pki))).toEqual(['ca-new.crt', 'ca-new.key']);
  });
});

describe('src/util/pem.ts', () => {
  it('joinPem ends each file in one newline; pemCertificates does not read a glued block; pemBundle refuses a file without a certificate', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      await execa('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'k.pem', '-subj', '/CN=T', '-days', '1', '-out', 'c.pem'], { cwd: dir, stdin: 'ignore' });
      const pem = (await readFile(join(dir, 'c.pem'), 'utf8')).trimEnd();
      expect(pemCertificates(`${pem}${pem}\n`)).toHaveLength(1);
      const joined = joinPem([Buffer.from(pem), Buffer.from(`${pem}\n\n`)]);
      expect(joined.toString()).toBe(`${pem}\n${pem}\n`);
      expect(pemCertificates(joined)).toHaveLength(2);
      expect(pemBundle([{ name: 'a.crt', pem: Buffer.from(pem) }, { name: 'b.crt', pem: Buffer.from(pem) }], 'x-bundle.crt').equals(joined)).toBe(true);
      expect(() => pemBundle([{ name: 'a.crt', pem: Buffer.from(pem) }, { name: 'empty.crt', pem: Buffer.from('\n') }], 'x-bundle.crt')).toThrow('x-bundle.crt: empty.crt holds no PEM certificate');
    } finally {
      await cleanup();
    }
  });
});
