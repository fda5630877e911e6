import { X509Certificate } from 'node:crypto';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labCluster } from './check-fixtures.js';
import { kubePki, tempDir } from './helpers/cli.js';
import { KUBEADM_YAML } from './helpers/rotation.js';

// Issue 23: every certificate starts 5 minutes before it is made, as kubeadm backdates (constants.go
// CertificateBackdate; certs.go: NotBefore = now - 5 min, NotAfter = now + validity), so a node whose
// clock is a little behind does not see a new certificate as not yet valid. Both profiles, CAs and
// leaves, from gen and from the plain openssl script; openssl itself reads the dates.

const BACKDATE = 5 * 60_000;

/** Every certificate file below a folder (not backups). */
async function certFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      if (e.name.startsWith('backup-') || e.name.startsWith('.')) continue;
      const p = join(dir, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.name.endsWith('.crt')) out.push(p);
    }
  };
  await walk(root);
  return out.sort();
}

/** notBefore and notAfter as openssl prints them. */
async function opensslDates(file: string): Promise<{ notBefore: number; notAfter: number }> {
  const { stdout } = await execa('openssl', ['x509', '-in', file, '-noout', '-startdate', '-enddate'], { stdin: 'ignore' });
  const get = (name: string) => Date.parse(/^(\w+)=(.*)$/m.exec(stdout.split('\n').find((l) => l.startsWith(name))!)![2]!);
  return { notBefore: get('notBefore'), notAfter: get('notAfter') };
}

/** Every certificate made between `from` and `to` starts 5 minutes before that (whole seconds: 1 s of slack) and ends its days after it. */
async function expectBackdated(root: string, from: number, to: number): Promise<number> {
  const files = await certFiles(root);
  for (const file of files) {
    const { notBefore, notAfter } = await opensslDates(file);
    const name = relative(root, file);
    expect(notBefore, `${name} notBefore`).toBeGreaterThanOrEqual(from - BACKDATE - 1000);
    expect(notBefore, `${name} notBefore`).toBeLessThanOrEqual(to - BACKDATE + 1000);
    // notAfter counts from now, not from notBefore: a whole number of days plus the 5 minutes.
    const span = notAfter - notBefore;
    expect(((span - BACKDATE) / 86_400_000) % 1, `${name}: ${span} ms`).toBeCloseTo(0, 3);
    // node:crypto reads the same date.
    expect(Date.parse(new X509Certificate(await readFile(file)).validFrom), name).toBe(notBefore);
  }
  return files.length;
}

for (const [profile, yaml] of [
  ['hardway', undefined],
  ['kubeadm', KUBEADM_YAML],
] as const) {
  describe(`backdated certificates, profile ${profile}`, () => {
    let dir: string;
    let cleanup: () => Promise<void>;
    let config: string;

    beforeAll(async () => {
      ({ dir, cleanup } = await tempDir(`kube-pki-backdate-${profile}-`));
      ({ config } = await labCluster(dir, yaml));
    });
    afterAll(() => cleanup());

    it('gen: every CA and leaf starts 5 minutes ago; check is clean', async () => {
      const from = Date.now();
      const gen = await kubePki(['gen', '--config', config, '--out', join(dir, 'gen')]);
      expect(gen.exitCode, gen.stderr).toBe(0);
      expect(await expectBackdated(join(dir, 'gen'), from, Date.now())).toBeGreaterThan(profile === 'kubeadm' ? 20 : 10);
      const check = await kubePki(['check', '--config', config, '--out', join(dir, 'gen')]);
      expect(check.exitCode, check.stdout).toBe(0);
    });

    it('script: the plain openssl commands backdate the same way (openssl ca -startdate)', async () => {
      const script = await kubePki(['script', '--config', config]);
      expect(script.exitCode, script.stderr).toBe(0);
      expect(script.stdout).toMatch(/^openssl ca -batch -config \S+ -in \S+ .*-startdate "\$KUBE_PKI_NOT_BEFORE" -days \d+ /m);
      const out = join(dir, 'script');
      await execa('mkdir', ['-p', out]);
      await writeFile(join(dir, 'pki.sh'), script.stdout);
      const from = Date.now();
      const run = await execa('bash', [join(dir, 'pki.sh')], { cwd: out, reject: false, stdin: 'ignore' });
      expect(run.exitCode, run.stderr).toBe(0);
      expect(await expectBackdated(out, from, Date.now())).toBeGreaterThan(profile === 'kubeadm' ? 20 : 10);
      // The database of `openssl ca` stays in its temporary folder: nothing of it in the PKI folder.
      const stray = (await readdir(out, { recursive: true })).filter((f) => /\.ca-index|\.pem$|index\.txt/.test(String(f)));
      expect(stray).toEqual([]);
    });
  });
}
