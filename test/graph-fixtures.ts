// Shared by the graph and report tests: a lab PKI with planted problems, and what openssl (not
// kube-pki) says about the files.
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { parse } from 'yaml';
import type { Cluster } from '../src/model/cluster.js';
import { certInstance, copyPki, resign } from './check-fixtures.js';

/** The SAN the planted kube-apiserver certificate lacks, and the one it has instead. */
export const DROPPED_SAN = '192.168.5.12';
export const ADDED_SAN = '192.168.5.99';
/** The certificate deleted from the planted copy. */
export const DELETED = 'worker-2.crt';

/**
 * A copy of `pki` with two problems: worker-2.crt deleted, and kube-apiserver.crt re-signed by the
 * same CA with plain openssl for a SAN list that lacks master-2's address and has another one.
 */
export async function plantProblems(pki: string, cluster: Cluster, to: string): Promise<string> {
  const out = await copyPki(pki, to);
  await rm(join(out, DELETED));
  const api = certInstance(cluster, 'kube-apiserver');
  const ips = api.sans.ip.filter((ip) => ip !== DROPPED_SAN);
  await resign(out, { ...api, sans: { dns: api.sans.dns, ip: [...ips, ADDED_SAN] } }, { days: 1000 });
  await rm(join(out, 'kube-apiserver.test.cnf'));
  await rm(join(out, 'kube-apiserver.test.csr'));
  return out;
}

async function opensslX509(args: string[], input?: Buffer): Promise<string> {
  const r = await execa('openssl', ['x509', '-noout', ...args], { input, reject: false, stdin: input ? undefined : 'ignore' });
  if (r.exitCode !== 0) throw new Error(`openssl x509 ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}

/** notAfter of a certificate file as openssl prints it, as a Date. */
export async function notAfter(file: string): Promise<Date> {
  return new Date((await opensslX509(['-enddate', '-in', file])).replace(/^notAfter=/, ''));
}

/** notAfter of the client certificate a kubeconfig embeds. */
export async function kubeconfigNotAfter(file: string): Promise<Date> {
  const doc = parse(await readFile(file, 'utf8')) as { users: { user: { 'client-certificate-data': string } }[] };
  const pem = Buffer.from(doc.users[0]!.user['client-certificate-data'], 'base64');
  return new Date((await opensslX509(['-enddate'], pem)).replace(/^notAfter=/, ''));
}

/** openssl's subject and issuer name hashes: a leaf's issuer hash is its CA's subject hash. */
export async function nameHashes(file: string): Promise<{ subject: string; issuer: string }> {
  const [subject, issuer] = (await opensslX509(['-subject_hash', '-issuer_hash', '-in', file])).split('\n');
  return { subject: subject!.trim(), issuer: issuer!.trim() };
}

export const isoDay = (d: Date) => d.toISOString().slice(0, 10);
