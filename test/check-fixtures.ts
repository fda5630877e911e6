// Shared by the check, renew and explain tests: a real PKI made once by `kube-pki gen`, copies of
// it to break one way at a time, and plain openssl to break them with.
import { X509Certificate, randomBytes } from 'node:crypto';
import { cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { expect } from 'vitest';
import type { CheckReport, CertRow, KubeconfigRow } from '../src/check/report.js';
import { DEFAULT_CLUSTER_YAML } from '../src/cluster/default.js';
import { parseCluster } from '../src/cluster/load.js';
import type { Cluster } from '../src/model/cluster.js';
import { renderCnf } from '../src/openssl/cnf.js';
import { instancesFor } from '../src/pki.js';
import type { CertInstance } from '../src/model/instances.js';
import { kubePki } from './helpers/cli.js';

export const CONFIG_NAME = 'cluster.yaml';

/** The built-in lab as a file in `dir` (tests pass --config, so nothing depends on the working folder). */
export async function labCluster(dir: string, yaml = DEFAULT_CLUSTER_YAML): Promise<{ config: string; cluster: Cluster }> {
  const config = join(dir, CONFIG_NAME);
  await writeFile(config, yaml);
  return { config, cluster: parseCluster(yaml, config) };
}

/** `kube-pki gen` into dir/name. */
export async function genPki(dir: string, config: string, name = 'pki'): Promise<string> {
  const out = join(dir, name);
  const r = await kubePki(['gen', '--config', config, '--out', out]);
  expect(r.exitCode, r.stderr).toBe(0);
  return out;
}

/** A copy of a PKI folder (modes kept) to break in one way. */
export async function copyPki(from: string, to: string): Promise<string> {
  await cp(from, to, { recursive: true, preserveTimestamps: true });
  return to;
}

export async function openssl(args: string[], cwd: string): Promise<string> {
  const r = await execa('openssl', args, { cwd, reject: false, stdin: 'ignore' });
  expect(r.exitCode, `openssl ${args.join(' ')}: ${r.stderr}`).toBe(0);
  return r.stdout;
}

export const serialArg = () => `0x${randomBytes(8).toString('hex')}`;

export function certInstance(cluster: Cluster, name: string): CertInstance {
  const found = instancesFor(cluster).certs.find((c) => c.name === name);
  if (!found) throw new Error(`no certificate ${name} in the catalog`);
  return found;
}

/**
 * Re-signs a certificate of `pki` with plain openssl (req + x509), from the key at `keyFile`, with the
 * openssl.cnf kube-pki would write for `cert` (which a test may alter first), signed by caCrt/caKey.
 */
export async function resign(
  pki: string,
  cert: CertInstance,
  o: { days?: number; caCrt?: string; caKey?: string; keyFile?: string } = {},
): Promise<void> {
  const cnf = join(pki, `${cert.name}.test.cnf`);
  const csr = join(pki, `${cert.name}.test.csr`);
  await writeFile(cnf, renderCnf(cert));
  const subj = [`/CN=${cert.subject.cn}`, ...cert.subject.o.map((x) => `/O=${x}`)].join('');
  await openssl(['req', '-new', '-key', o.keyFile ?? cert.keyPath, '-subj', subj, '-config', cnf, '-out', csr], pki);
  await openssl(
    ['x509', '-req', '-in', csr, '-CA', o.caCrt ?? 'ca.crt', '-CAkey', o.caKey ?? 'ca.key', '-set_serial', serialArg(),
      '-days', String(o.days ?? 100), '-sha256', '-extfile', cnf, '-extensions', 'v3_req', '-out', cert.certPath],
    pki,
  );
}

/** A CA of its own (not the cluster's) in `dir`: other-ca.crt / other-ca.key. */
export async function otherCa(dir: string): Promise<{ crt: string; key: string }> {
  await mkdir(dir, { recursive: true });
  await openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', 'other-ca.key'], dir);
  await openssl(['req', '-x509', '-new', '-key', 'other-ca.key', '-subj', '/CN=OTHER-CA', '-days', '30', '-out', 'other-ca.crt'], dir);
  return { crt: join(dir, 'other-ca.crt'), key: join(dir, 'other-ca.key') };
}

/**
 * A certificate whose whole validity lies in the past, signed by the cluster CA: `openssl ca` with
 * -startdate/-enddate (openssl 3.0 has no `x509 -not_after`).
 */
export async function resignExpired(pki: string, cert: CertInstance, work: string): Promise<void> {
  await mkdir(join(work, 'new'), { recursive: true });
  await writeFile(join(work, 'index.txt'), '');
  await writeFile(join(work, 'serial'), `${randomBytes(8).toString('hex')}\n`);
  const caCnf = join(work, 'ca.cnf');
  await writeFile(
    caCnf,
    [
      '[ca]', 'default_ca = test_ca', '[test_ca]', `database = ${join(work, 'index.txt')}`, `new_certs_dir = ${join(work, 'new')}`,
      `serial = ${join(work, 'serial')}`, 'default_md = sha256', 'policy = any', 'unique_subject = no',
      '[any]', 'commonName = supplied', 'organizationName = optional', '',
    ].join('\n'),
  );
  const cnf = join(work, 'leaf.cnf');
  await writeFile(cnf, renderCnf(cert));
  const subj = [`/CN=${cert.subject.cn}`, ...cert.subject.o.map((x) => `/O=${x}`)].join('');
  await openssl(['req', '-new', '-key', cert.keyPath, '-subj', subj, '-config', cnf, '-out', join(work, 'leaf.csr')], pki);
  await openssl(
    ['ca', '-batch', '-config', caCnf, '-cert', 'ca.crt', '-keyfile', 'ca.key', '-in', join(work, 'leaf.csr'), '-out', cert.certPath,
      '-startdate', '20200101000000Z', '-enddate', '20200301000000Z', '-extfile', cnf, '-extensions', 'v3_req', '-notext'],
    pki,
  );
}

export async function checkJson(config: string, pki: string, extra: string[] = []): Promise<{ exitCode: number; report: CheckReport; stderr: string }> {
  const r = await kubePki(['check', '--config', config, '--out', pki, '--json', ...extra]);
  return { exitCode: r.exitCode ?? -1, report: JSON.parse(r.stdout) as CheckReport, stderr: r.stderr };
}

export function rows(report: CheckReport): (CertRow | KubeconfigRow)[] {
  return [...report.cas, ...report.certificates, ...report.kubeconfigs];
}

/** The one row with problems (other than notes), asserting that every other row is clean. */
export function onlyProblemRow(report: CheckReport): CertRow | KubeconfigRow {
  const bad = rows(report).filter((r) => r.problems.some((p) => p.severity !== 'note'));
  expect(bad.map((r) => r.file)).toHaveLength(1);
  return bad[0]!;
}

export const fingerprintOf = async (file: string) => new X509Certificate(await readFile(file)).fingerprint256;
