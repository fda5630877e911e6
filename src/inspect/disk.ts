import { readPkiFile } from '../files/read.js';
import { DAY_MS } from '../model/time.js';
import { X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import type { Instances, KubeconfigInstance } from '../model/instances.js';
import { kubeconfigDifferences } from '../kubeconfig/compare.js';
import { kubeconfigSource } from '../kubeconfig/source.js';
import { certProblems, intermediateProblems, keySpecText, keyText } from './compare.js';
import { heldKeyEvidence } from './held-keys.js';
import { inspectEncryption, type EncryptionState } from './encryption.js';
import { certFacts, isEncryptedKey, issuedBy, privateKey, samePublicKey, type CertFacts } from './x509.js';

export interface CertState {
  keyExists: boolean;
  /** The key file exists but is not a readable private key (an encrypted one is not unreadable). */
  keyUnreadable: boolean;
  /** The key is encrypted (the root CA's): only its passphrase opens it. */
  keyEncrypted?: boolean;
  /** Under rootCA, a CA that is not the root's (self-signed, or of another root): only --replace-ca makes it one. */
  notUnderRoot?: boolean;
  certExists: boolean;
  facts?: CertFacts;
  /** Differences from the catalog and the description; empty when the certificate is right. */
  problems: string[];
  /** Days (fractional) until the certificate expires, as of the inspection: what a CA has left to sign with. */
  remainingDays?: number;
  /** A CA certificate whose key is gone although this folder held it (inspect/held-keys.ts): where that shows. */
  keyLost?: string;
  /** A leaf's key file holds a key of another type than `key:` says ("RSA 2048"): signing for it again cannot fix that. */
  keyOfOtherType?: string;
}

export interface KeyPairState {
  keyExists: boolean;
  keyUnreadable: boolean;
  pubExists: boolean;
  pubMatches: boolean;
}

export interface KubeconfigState {
  exists: boolean;
  /** true: what matters equals what its CA, cert and key give; false: differs; null: cannot tell (inputs missing). */
  current: boolean | null;
  /** How it differs (names, server, embedded CA, certificate or key); a comment or a namespace does not count. */
  differences?: string[];
}

/** One copied file (layout 'node-trees'): its source in the shared folder and the copy in a node's tree. */
export interface CopyState {
  sourceExists: boolean;
  targetExists: boolean;
  /** Both exist with the same bytes. */
  same: boolean;
}

/** What is already in the output folder, as the planner needs it. */
export interface DiskState {
  certs: Map<string, CertState>;
  keyPairs: Map<string, KeyPairState>;
  kubeconfigs: Map<string, KubeconfigState>;
  /** By copy target path; absent means nothing is known (every copy is then missing). */
  copies?: Map<string, CopyState>;
  /** The EncryptionConfiguration (description `encryption`); absent when it is off or not inspected. */
  encryption?: EncryptionState;
}

/** A file of the PKI, or null when it is absent; a folder, a link loop or an unreadable file stops the run (UnusableFile, exit 1). */
export const readIfExists = readPkiFile;

export const emptyDisk = (): DiskState => ({ certs: new Map(), keyPairs: new Map(), kubeconfigs: new Map(), copies: new Map() });

export async function inspectDisk(outDir: string, instances: Instances, now = new Date()): Promise<DiskState> {
  const state = emptyDisk();
  const caCerts = new Map<string, X509Certificate | null>();
  // CA certificates without their key (external CAs): their leaves come signed from elsewhere.
  const keylessCas = new Set<string>();
  // The root, then the CAs: a CA is judged against the root on disk, a leaf against its CA.
  const ordered = [...(instances.root ? [instances.root] : []), ...[...instances.certs].sort((a, b) => Number(!!a.caName) - Number(!!b.caName))];
  let root: X509Certificate | null = null;
  for (const cert of ordered) {
    const [keyPem, certPem] = await Promise.all([readIfExists(join(outDir, cert.keyPath)), readIfExists(join(outDir, cert.certPath))]);
    const key = keyPem ? privateKey(keyPem) : null;
    const encrypted = !!keyPem && !key && isEncryptedKey(keyPem);
    const s: CertState = { keyExists: !!keyPem, keyUnreadable: !!keyPem && !key && !encrypted, certExists: !!certPem, problems: [], ...(encrypted ? { keyEncrypted: true } : {}) };
    if (key && cert.caName && keyText(key) !== keySpecText(cert.key)) s.keyOfOtherType = keyText(key);
    if (certPem) {
      try {
        s.facts = certFacts(certPem);
        s.remainingDays = (s.facts.notAfter.getTime() - now.getTime()) / DAY_MS;
        s.problems = certProblems(cert, s.facts, {
          key,
          caCert: cert.caName ? (caCerts.get(cert.caName) ?? null) : null,
          now,
          signedElsewhere: !!cert.caName && keylessCas.has(cert.caName),
          keyless: !cert.caName && !keyPem,
        });
        if (!cert.caName) s.problems.push(...chainProblems(cert.certPath, certPem));
        if (cert.root) {
          const under = intermediateProblems(s.facts, root, cert.root.certPath);
          s.problems.push(...under.problems);
          if (under.notUnderRoot) s.notUnderRoot = true;
        }
        if (cert === instances.root) root = s.facts.cert;
      } catch {
        s.problems = [`${cert.certPath} is not a readable PEM certificate`];
      }
    }
    if (!cert.caName && certPem && !keyPem && cert !== instances.root && !cert.declaredExternal) {
      const evidence = await heldKeyEvidence(outDir, instances, cert, certPem);
      if (evidence) s.keyLost = evidence;
    }
    if (!cert.caName && certPem && !keyPem && !s.keyLost) keylessCas.add(cert.name);
    if (!cert.caName) caCerts.set(cert.name, s.facts?.cert ?? null);
    state.certs.set(cert.name, s);
  }
  for (const kp of instances.keyPairs) {
    const [keyPem, pubPem] = await Promise.all([readIfExists(join(outDir, kp.keyPath)), readIfExists(join(outDir, kp.pubPath))]);
    const key = keyPem ? privateKey(keyPem) : null;
    state.keyPairs.set(kp.name, {
      keyExists: !!keyPem,
      keyUnreadable: !!keyPem && !key,
      pubExists: !!pubPem,
      pubMatches: !!key && !!pubPem && samePublicKey(key, pubPem),
    });
  }
  for (const kc of instances.kubeconfigs) state.kubeconfigs.set(kc.name, await kubeconfigState(outDir, instances, kc));
  for (const file of (instances.copies ?? []).flatMap((c) => c.files)) {
    const [source, target] = await Promise.all([readIfExists(join(outDir, file.from)), readIfExists(join(outDir, file.to))]);
    state.copies!.set(file.to, { sourceExists: !!source, targetExists: !!target, same: !!source && !!target && source.equals(target) });
  }
  if (instances.encryption) state.encryption = await inspectEncryption(outDir, instances.encryption);
  return state;
}

/**
 * A CA file may hold an external CA followed by the chain up to its root (kubeadm.md, "External
 * CA"): each certificate must be issued by the next one. kube-pki signs with the first.
 */
export function chainProblems(path: string, pem: Buffer): string[] {
  const blocks = pem.toString('utf8').match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  const problems: string[] = [];
  let chain: X509Certificate[];
  try {
    chain = blocks.map((b) => new X509Certificate(b));
  } catch {
    return [`${path}: a certificate after the first is not readable PEM`];
  }
  for (let i = 0; i + 1 < chain.length; i++) {
    if (!issuedBy(chain[i]!, chain[i + 1]!)) problems.push(`${path}: certificate ${i + 2} of the file did not issue certificate ${i + 1} (the chain must go from the CA up to its root)`);
  }
  return problems;
}

async function kubeconfigState(outDir: string, instances: Instances, kc: KubeconfigInstance): Promise<KubeconfigState> {
  const existing = await readIfExists(join(outDir, kc.path));
  if (!existing) return { exists: false, current: null };
  const source = kubeconfigSource(instances, kc);
  const [ca, cert, key] = await Promise.all(
    [source.caFile, source.certFile, source.keyFile].map((p) => readIfExists(join(outDir, p))),
  );
  if (!ca || !cert || !key) return { exists: true, current: null };
  const differences = kubeconfigDifferences(existing.toString('utf8'), source, { ca, cert, key }).map((d) => d.message);
  return { exists: true, current: differences.length === 0, differences };
}
