// Shared by the graph and report tests: a lab PKI with planted problems, and what openssl (not
// kube-pki) says about the files.
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { parse } from 'yaml';
import { parseCluster } from '../src/cluster/load.js';
import type { Cluster } from '../src/model/cluster.js';
import { tempDir } from './helpers/cli.js';
import { certInstance, copyPki, genPki, labCluster, resign } from './check-fixtures.js';

/** A small kubeadm cluster: two control planes, a worker, a load balancer. */
export const KUBEADM_YAML = `profile: kubeadm
apiServer: { endpoint: 192.168.5.30, port: 6443 }
nodes:
  - { name: master-1, address: 192.168.5.11, role: controlplane }
  - { name: master-2, address: 192.168.5.12, role: controlplane }
  - { name: worker-1, address: 192.168.5.21, role: worker }
  - { name: loadbalancer, address: 192.168.5.30, role: loadbalancer }
`;

export interface LabFixture {
  dir: string;
  cleanup: () => Promise<void>;
  /** The built-in lab as dir/cluster.yaml. */
  config: string;
  lab: Cluster;
  /** `gen` of it, and a copy with the planted problems. */
  pki: string;
  planted: string;
}

/** For a test file's beforeAll: the lab generated once, and a copy of it with problems planted. */
export async function labFixture(prefix: string): Promise<LabFixture> {
  const { dir, cleanup } = await tempDir(prefix);
  const { config, cluster: lab } = await labCluster(dir);
  const pki = await genPki(dir, config);
  const planted = await plantProblems(pki, lab, join(dir, 'planted'));
  return { dir, cleanup, config, lab, pki, planted };
}

/** KUBEADM_YAML as dir/kubeadm.yaml, generated into dir/kubeadm-pki. */
export async function kubeadmFixture(dir: string): Promise<{ config: string; cluster: Cluster; out: string }> {
  const config = join(dir, 'kubeadm.yaml');
  await writeFile(config, KUBEADM_YAML);
  return { config, cluster: parseCluster(KUBEADM_YAML, config), out: await genPki(dir, config, 'kubeadm-pki') };
}

/** KUBEADM_YAML with a root CA over its three CAs (key not encrypted: no passphrase), generated into dir/root-pki. */
export async function rootFixture(dir: string): Promise<{ config: string; cluster: Cluster; out: string }> {
  const yaml = `${KUBEADM_YAML}rootCA: { encrypt: false }\n`;
  const config = join(dir, 'root.yaml');
  await writeFile(config, yaml);
  return { config, cluster: parseCluster(yaml, config), out: await genPki(dir, config, 'root-pki') };
}

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
