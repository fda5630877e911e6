import { execa } from 'execa';
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, kubePki, tempDir } from './helpers/cli.js';
import { opensslVerify, opensslView, type OpensslView } from './helpers/x509.js';

// scripts/bench-gen.sh compares `kube-pki gen` with cfssl and with the bare openssl commands (the
// floor): a ratio means something only if every side makes the same certificates. Both sides are run
// here for real (Debian's golang-cfssl, openssl) and compared with the tool's own PKI.
const BENCH = join(ROOT, 'scripts/bench');

/** What must be alike whoever makes the certificate: names and SANs as sets (their order differs by tool). */
const essence = (v: OpensslView) => ({
  subject: v.subject.split(',').sort(),
  issuer: v.issuer.split(',').sort(),
  extendedKeyUsage: v.extendedKeyUsage.split(', ').sort(),
  subjectAltName: v.subjectAltName.split(', ').filter(Boolean).sort(),
  ca: v.basicConstraints.includes('CA:TRUE'),
});

describe('the benchmark sides make the same certificates as kube-pki gen', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let script: string;
  let toolCerts: string[];
  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    const r = await kubePki(['script'], { cwd: dir });
    expect(r.exitCode, r.stderr).toBe(0);
    script = r.stdout;
    expect((await kubePki(['gen', '--out', join(dir, 'tool')], { cwd: dir })).exitCode).toBe(0);
    toolCerts = (await readdir(join(dir, 'tool'))).filter((f) => f.endsWith('.crt')).map((f) => f.replace(/\.crt$/, ''));
    expect(toolCerts).toHaveLength(11);
  });
  afterAll(() => cleanup());

  async function side(name: string, prepare: string, run: string): Promise<string> {
    const folder = join(dir, name);
    await mkdir(folder);
    expect((await execa('node', [join(BENCH, prepare)], { cwd: folder, input: script, reject: false })).exitCode).toBe(0);
    const r = await execa('bash', [join(BENCH, run)], { cwd: folder, reject: false });
    expect(r.exitCode, r.stderr).toBe(0);
    return folder;
  }

  it('floor: the same openssl commands on one lane per core give the same certificates', async () => {
    const folder = await side('floor', 'openssl-floor.mjs', 'floor.sh');
    for (const name of toolCerts) {
      const [tool, floor] = await Promise.all([opensslView(join(dir, 'tool', `${name}.crt`)), opensslView(join(folder, `${name}.crt`))]);
      expect({ ...floor, serial: '' }, name).toEqual({ ...tool, serial: '' });
      expect(await opensslVerify(join(folder, 'ca.crt'), join(folder, `${name}.crt`))).toBe(true);
    }
  });

  it('cfssl: the hard way\'s commands give the same subjects, SANs and usages, RSA-2048', async () => {
    const folder = await side('cfssl', 'cfssl-lab.mjs', 'gen-cfssl.sh');
    for (const name of toolCerts) {
      const file = join(folder, `${name}.pem`);
      const [tool, cfssl] = await Promise.all([opensslView(join(dir, 'tool', `${name}.crt`)), opensslView(file)]);
      expect(essence(cfssl), name).toEqual(essence(tool));
      expect(await opensslVerify(join(folder, 'ca.pem'), file)).toBe(true);
      const text = (await execa('openssl', ['x509', '-in', file, '-noout', '-text'])).stdout;
      expect(text).toContain('Public-Key: (2048 bit)');
    }
  });
});
