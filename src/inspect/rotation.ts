import { X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { CertInstance, Instances, KubeconfigInstance } from '../model/instances.js';
import { bundleOf, rotationFiles, type RotationFiles, type RotationState } from '../model/rotation.js';
import { UnusableFile } from '../files/read.js';
import { readIfExists } from './disk.js';
import { issuedBy, privateKey } from './x509.js';
import { pemCertificates } from '../util/pem.js';

// Where a CA rotation stands, read from the files themselves (as MKE4 does): no state file that
// could be lost or disagree with the folder. See src/model/rotation.ts for the layout.

/** The bytes of every file a rotation looks at, by path relative to the PKI folder (null: absent). */
export type Snapshot = ReadonlyMap<string, Buffer | null>;

export interface CaRotation {
  ca: CertInstance;
  files: RotationFiles;
  state: RotationState;
  /** Set when the files fit no phase (e.g. a bundle without a new or old CA): what is wrong. */
  broken?: string;
  /** The new CA certificate once made (ca-new.crt before reissue's swap, ca.crt after). */
  next: X509Certificate | null;
  /** The CA being replaced (ca.crt before the swap, ca-old.crt after). */
  previous: X509Certificate | null;
  /**
   * The bundle holds just the CA of ca.crt: left by finish (or abort) under its name, so that a
   * component still started with it keeps working until its restart; the next start reuses it.
   */
  retired: boolean;
}

/** A bundle that holds exactly the certificates of the CA file beside it: no longer an overlap. */
export function isRetiredBundle(bundle: Buffer | null | undefined, crt: Buffer | null | undefined): boolean {
  if (!bundle || !crt) return false;
  try {
    const prints = (pem: Buffer) => pemCertificates(pem).map((c) => c.fingerprint256).join();
    return prints(bundle) === prints(crt) && prints(crt) !== '';
  } catch {
    return false;
  }
}

/** The copies of a CA's certificate in node trees, and where each tree's bundle goes. */
export function bundleCopies(instances: Instances, caName: string): { node: string; from: string; to: string }[] {
  return instances.copies
    .filter((c) => c.source === caName)
    .flatMap((c) => c.files.filter((f) => f.part === 'crt').map((f) => ({ node: c.node.name, from: bundleOf(f.from), to: bundleOf(f.to) })));
}

export const caFiles = (ca: CertInstance): RotationFiles => rotationFiles(ca.certPath, ca.keyPath);

/** Every file a rotation of these CAs reads or writes. */
export function rotationPaths(instances: Instances, caNames: readonly string[]): string[] {
  const paths = new Set<string>();
  for (const name of caNames) {
    const ca = instances.certs.find((c) => c.name === name)!;
    for (const p of Object.values(caFiles(ca))) paths.add(p);
    for (const b of bundleCopies(instances, name)) paths.add(b.to);
    const leaves = instances.certs.filter((c) => c.caName === name);
    for (const l of leaves) [l.certPath, l.keyPath].forEach((p) => paths.add(p));
    const sources = new Set([name, ...leaves.map((l) => l.name)]);
    for (const copy of instances.copies.filter((c) => sources.has(c.source))) for (const f of copy.files) paths.add(f.to);
    for (const kc of instances.kubeconfigs.filter((k) => k.caName === name)) paths.add(kc.path);
  }
  return [...paths];
}

/**
 * With unusableAsAbsent, a file that cannot be read (a folder, a link loop…) counts as absent: check
 * reports such a file itself and must not stop at the rotation's look at it.
 */
export async function readSnapshot(outDir: string, paths: readonly string[], { unusableAsAbsent = false } = {}): Promise<Snapshot> {
  const read = async (p: string) => {
    try {
      return await readIfExists(join(outDir, p));
    } catch (err) {
      if (unusableAsAbsent && err instanceof UnusableFile) return null;
      throw err;
    }
  };
  const entries = await Promise.all(paths.map(async (p) => [p, await read(p)] as const));
  return new Map(entries);
}

export const cert = (pem: Buffer | null | undefined): X509Certificate | null => {
  if (!pem) return null;
  try {
    return new X509Certificate(pem);
  } catch {
    return null;
  }
};

/** True when the key file holds the private key of the certificate. */
export function pairMatches(crt: Buffer | null | undefined, key: Buffer | null | undefined): boolean {
  const c = cert(crt);
  const k = key ? privateKey(key) : null;
  return !!c && !!k && c.checkPrivateKey(k);
}

/** Signed by this CA (names and signature). */
export const signedBy = (leaf: Buffer | null | undefined, ca: X509Certificate | null): boolean => {
  const l = cert(leaf);
  return !!l && !!ca && issuedBy(l, ca);
};

/** The CA and client certificate a kubeconfig embeds (first cluster and user), or null. */
export function embedded(kubeconfig: Buffer | null | undefined): { ca: Buffer | null; cert: Buffer | null } | null {
  if (!kubeconfig) return null;
  try {
    const doc = parse(kubeconfig.toString('utf8')) as { clusters?: { cluster?: Record<string, unknown> }[]; users?: { user?: Record<string, unknown> }[] };
    const b64 = (v: unknown) => (typeof v === 'string' ? Buffer.from(v, 'base64') : null);
    return { ca: b64(doc.clusters?.[0]?.cluster?.['certificate-authority-data']), cert: b64(doc.users?.[0]?.user?.['client-certificate-data']) };
  } catch {
    return null;
  }
}

/** Where one CA's rotation stands, from which of its rotation files exist. */
export function caRotation(ca: CertInstance, snap: Snapshot): CaRotation {
  const files = caFiles(ca);
  const has = (p: string) => !!snap.get(p);
  const hasNew = has(files.newCrt) || has(files.newKey);
  const hasOld = has(files.oldCrt) || has(files.oldKey);
  const retired = isRetiredBundle(snap.get(files.bundle), snap.get(files.crt));
  // The overlap's bundle: old + new. A retired one (the current CA alone) marks no phase.
  const hasBundle = has(files.bundle) && !retired;
  const crt = cert(snap.get(files.crt));
  const base = { ca, files, retired };
  if (!hasNew && !hasOld && !hasBundle) return { ...base, state: 'none', next: null, previous: crt };
  if (hasNew && !hasOld) return { ...base, state: 'start', next: cert(snap.get(files.newCrt)), previous: crt };
  // Reissue copies the old pair to ca-old.* first, then moves the new one into ca.*.
  const oldCrt = cert(snap.get(files.oldCrt)) ?? crt;
  const next = cert(snap.get(files.newCrt)) ?? (crt && oldCrt && crt.fingerprint256 !== oldCrt.fingerprint256 ? crt : null);
  if (hasOld && hasBundle) return { ...base, state: 'reissue', next, previous: oldCrt };
  if (hasOld) return { ...base, state: 'finish', next, previous: oldCrt };
  return {
    ...base,
    state: 'none',
    next: null,
    previous: crt,
    broken: `${files.bundle} holds more than ${files.crt} but there is no ${files.newCrt} or ${files.oldCrt}: not a rotation kube-pki can follow; move it away (or restore the missing CA files from a backup-* folder)`,
  };
}

/** Kubeconfigs of a CA: the instances whose embedded CA is this one. */
export const kubeconfigsOf = (instances: Instances, caName: string): KubeconfigInstance[] => instances.kubeconfigs.filter((k) => k.caName === caName);

/** The CAs of the folder with a rotation under way (for gen and renew, which must not cut into one). */
export async function rotationsUnderWay(outDir: string, instances: Instances): Promise<CaRotation[]> {
  const cas = instances.certs.filter((c) => !c.caName);
  const snap = await readSnapshot(outDir, cas.flatMap((c) => Object.values(caFiles(c))));
  return cas.map((c) => caRotation(c, snap)).filter((r) => r.state !== 'none' || r.broken);
}

/** Why a command must not run now: a rotation is under way; null when there is none. */
export function rotationRefusal(what: string, under: CaRotation[]): string | null {
  if (!under.length) return null;
  const list = under.map((r) => `${r.ca.name} (${r.state === 'none' ? 'unclear' : `phase ${r.state}`})`).join(', ');
  return (
    `${what}: a CA rotation is under way here: ${list}. ${what} would sign with or re-embed one CA in the middle of it; ` +
    'roll it forward first (kube-pki rotate-ca status says what to run next; kube-pki rotate-ca finish ends it)'
  );
}
