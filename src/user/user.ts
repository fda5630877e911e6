import { readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Cluster } from '../model/cluster.js';
import { EXIT, UserError } from '../errors.js';
import { https } from '../catalog/sans.js';
import { lockOutDir } from '../exec/lock.js';
import { recoverOutDir } from '../exec/run-locked.js';
import { rotationRefusal, rotationsUnderWay } from '../inspect/rotation.js';
import { certFacts, privateKey } from '../inspect/x509.js';
import { readUserLedger } from '../inspect/user-ledger.js';
import { kubeconfigFromPem } from '../kubeconfig/render.js';
import { checkOpenssl } from '../openssl/run.js';
import { instancesFor } from '../pki.js';
import type { CertInstance } from '../model/instances.js';
import { DAY_MS } from '../model/time.js';
import type { UserCertEntry } from '../model/user-ledger.js';
import { recordUserCert } from './ledger.js';
import { identityWarnings, validateUser } from './names.js';
import { signUserCert } from './sign.js';
import { assertKubeconfigTarget, writeKubeconfigFile } from './write-kubeconfig.js';

/**
 * One day: a person's certificate cannot be revoked (kube-apiserver has no CRL), so its expiry is
 * the only way access ends. kubeadm's `kubeconfig user` defaults to a year, which is what the issue
 * asks us not to copy; a day covers a working session, and --days asks for more.
 */
export const USER_DEFAULT_DAYS = 1;

export interface UserOptions {
  name: string;
  groups: string[];
  days?: number;
  kubeconfigFile?: string;
  force?: boolean;
  now?: Date;
}

export interface UserResult {
  /** The kubeconfig's text when no file was asked for (the caller prints it), else null. */
  kubeconfig: string | null;
  entry: UserCertEntry;
  warnings: string[];
}

/** The CA the profile signs clients with (`ca`, also under a root CA, whose intermediate it is). */
const clusterCa = (certs: CertInstance[]): CertInstance => certs.find((c) => c.spec.id === 'ca' && !c.caName)!;

async function existingOutDir(out: string): Promise<string> {
  const outDir = resolve(out);
  if (!(await stat(outDir).catch(() => null))?.isDirectory()) throw new UserError(`--out ${JSON.stringify(out)}: no such folder (${outDir}); run kube-pki gen first`, EXIT.badInput);
  return outDir;
}

/** The CA's certificate and key, usable for signing now; the days capped to the CA's own end, with a warning. */
async function signingCa(outDir: string, ca: CertInstance, days: number, now: Date): Promise<{ pem: Buffer; days: number; warning?: string }> {
  const [pem, keyPem] = await Promise.all([join(outDir, ca.certPath), join(outDir, ca.keyPath)].map((p) => readFile(p).catch(() => null)));
  if (!pem) throw new UserError(`${ca.certPath}: missing; kube-pki gen makes the CA`, EXIT.badInput);
  if (!keyPem) throw new UserError(`${ca.keyPath}: missing; the CA key signs user certificates (an external CA signs them itself)`, EXIT.badInput);
  const facts = certFacts(pem);
  const key = privateKey(keyPem);
  if (!key || !facts.cert.checkPrivateKey(key)) throw new UserError(`${ca.keyPath} is not the key of ${ca.certPath}: a certificate signed with it would not verify`, EXIT.failed);
  const left = Math.floor((facts.notAfter.getTime() - now.getTime()) / DAY_MS);
  if (days <= left) return { pem, days };
  const expires = facts.notAfter.toISOString();
  if (left < 1) throw new UserError(`${ca.certPath} expires on ${expires}, too soon to sign a user certificate: replace the CA (kube-pki gen --replace-ca)`, EXIT.failed);
  return { pem, days: left, warning: `valid for ${left} day(s) instead of --days ${days}: capped to the remaining life of its CA ${ca.certPath}, which expires on ${expires}` };
}

/**
 * `kube-pki kubeconfig user`: a client certificate for a person signed by the cluster CA, its key
 * made in a private temporary folder and kept only inside the kubeconfig; recorded in the folder's
 * ledger under its lock, since nothing but expiry ends it.
 */
export async function issueUserKubeconfig(cluster: Cluster, out: string, options: UserOptions): Promise<UserResult> {
  const { name, groups } = validateUser(options.name, options.groups);
  const days = options.days ?? USER_DEFAULT_DAYS;
  const outDir = await existingOutDir(out);
  const target = options.kubeconfigFile === undefined ? null : await assertKubeconfigTarget(options.kubeconfigFile, !!options.force);
  const now = options.now ?? new Date();
  const instances = instancesFor(cluster);
  const ca = clusterCa(instances.certs);
  const warnings = identityWarnings(name, groups);
  await checkOpenssl();

  const unlock = await lockOutDir(outDir);
  let made: { cert: Buffer; key: Buffer; caPem: Buffer; entry: UserCertEntry };
  try {
    await recoverOutDir(outDir);
    const refusal = rotationRefusal('kubeconfig user', await rotationsUnderWay(outDir, instances));
    if (refusal) throw new UserError(refusal, EXIT.badInput);
    // A damaged ledger stops us before anything is signed: a certificate it cannot record must not exist.
    await readUserLedger(outDir);
    const signing = await signingCa(outDir, ca, days, now);
    if (signing.warning) warnings.push(signing.warning);
    const { cert, key } = await signUserCert({ cn: name, o: groups, key: cluster.key, days: signing.days, caCrt: join(outDir, ca.certPath), caKey: join(outDir, ca.keyPath) });
    const facts = certFacts(cert);
    const caFacts = certFacts(signing.pem);
    const entry: UserCertEntry = {
      serial: facts.serial,
      name,
      groups,
      notBefore: facts.notBefore.toISOString(),
      notAfter: facts.notAfter.toISOString(),
      issuer: { file: ca.certPath, subject: caFacts.cert.subject, fingerprint256: caFacts.cert.fingerprint256 },
      issuedAt: now.toISOString(),
    };
    // Recorded before anyone can hold it: a kubeconfig that fails to be written leaves an entry too many, never one too few.
    await recordUserCert(outDir, entry);
    made = { cert, key, caPem: signing.pem, entry };
  } finally {
    await unlock();
  }

  // Named as the profile's own kubeconfigs name their cluster; user and context as kubeadm's `kubeconfig user`.
  const clusterName = instances.kubeconfigs[0]?.clusterName ?? 'kubernetes';
  const source = { clusterName, contextName: `${name}@${clusterName}`, userName: name, server: https(cluster.apiServer.endpoint, cluster.apiServer.port), caFile: '', certFile: '', keyFile: '' };
  const text = kubeconfigFromPem(source, { ca: made.caPem, cert: made.cert, key: made.key });
  if (target) await writeKubeconfigFile(target, text, !!options.force);
  return { kubeconfig: target ? null : text, entry: made.entry, warnings };
}
