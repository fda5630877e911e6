import { createHash } from 'node:crypto';
import { signsTokens } from '../catalog/tokens.js';
import type { Instances } from '../model/instances.js';
import type { KeyRotationRecord, KeyRotationState } from '../model/key-rotation.js';
import { keyRotationRecord } from '../model/key-rotation.js';
import { readSnapshot, type Snapshot } from './rotation.js';
import { privateKey, publicKeyDer, samePublicKey } from './x509.js';

// Where a service-account key rotation (rotate-sa) stands, from its record and the key files. Layout
// (docs/key-rotation.md): the current pair keeps its names all along (hard way service-account.key +
// service-account.crt, a certificate that only carries the public key; kubeadm sa.key + sa.pub); the
// new pair is made beside it as <name>-new.* at start and becomes the current pair at finish, which
// leaves <name>-new.* behind as a copy of it ("retired") until every component runs without them.

/** One pair of the token key: the private key and the file that carries its public key. */
export interface SaPair {
  key: string;
  /** kubeadm: the public key (sa.pub); the hard way: a certificate (service-account.crt). */
  pub: string;
}

export interface SaFiles {
  /** The instance name (hardway service-account, kubeadm sa). */
  name: string;
  current: SaPair;
  next: SaPair;
  /** 'crt': the public half is a certificate signed by the cluster CA (hard way). */
  pubKind: 'crt' | 'pub';
  /** kubeadm node trees: each control plane's copies of the pair, and where its new pair goes. */
  copies: { node: string; current: SaPair; next: SaPair }[];
}

const newName = (path: string) => path.replace(/(\.[a-z]+)$/, '-new$1');
export const newPair = (p: SaPair): SaPair => ({ key: newName(p.key), pub: newName(p.pub) });

/** The service-account key files of this description (null: the catalog has none). */
export function saFiles(instances: Instances): SaFiles | null {
  const kp = instances.keyPairs.find((k) => (k.spec.uses ?? []).some((u) => u.flag.startsWith('--service-account-')));
  const crt = instances.certs.find(signsTokens);
  const name = kp?.name ?? crt?.name;
  if (!name) return null;
  const current: SaPair = kp ? { key: kp.keyPath, pub: kp.pubPath } : { key: crt!.keyPath, pub: crt!.certPath };
  const copies = instances.copies
    .filter((c) => c.source === name)
    .flatMap((c) => {
      const key = c.files.find((f) => f.part === 'key');
      const pub = c.files.find((f) => f.part !== 'key');
      if (!key || !pub) return [];
      const pair = { key: key.to, pub: pub.to };
      return [{ node: c.node.name, current: pair, next: newPair(pair) }];
    });
  return { name, current, next: newPair(current), pubKind: kp ? 'pub' : 'crt', copies };
}

/** Every file rotate-sa reads or writes, its record included. */
export function saPaths(files: SaFiles): string[] {
  const pairs = [files.current, files.next, ...files.copies.flatMap((c) => [c.current, c.next])];
  return [...pairs.flatMap((p) => [p.key, p.pub]), keyRotationRecord('sa')];
}

export const readSaSnapshot = (outDir: string, files: SaFiles, options: { unusableAsAbsent?: boolean } = {}): Promise<Snapshot> => readSnapshot(outDir, saPaths(files), options);

/** SHA-256 (hex) of the public key of a private key, public key or certificate; null when it is none. */
export function keyFingerprint(pem: Buffer | null | undefined): string | null {
  if (!pem) return null;
  try {
    const k = privateKey(pem);
    return createHash('sha256').update(publicKeyDer(k ?? pem)).digest('hex');
  } catch {
    return null;
  }
}

/** A pair whose public file holds the public half of its key. */
export function saPairMatches(snap: Snapshot, p: SaPair): boolean {
  const key = snap.get(p.key);
  const pub = snap.get(p.pub);
  const k = key ? privateKey(key) : null;
  return !!k && !!pub && samePublicKey(k, pub);
}

export interface SaRotation {
  files: SaFiles;
  state: KeyRotationState;
  record: KeyRotationRecord | null;
  /** Fingerprints of the current and the new key (null: absent or unreadable). */
  currentKey: string | null;
  newKey: string | null;
  /** The new pair is a copy of the current one: left by finish, marks no rotation; the next start replaces it. */
  retired: boolean;
  /**
   * A new pair of another key with no record: not a rotation's (an older key restored by hand, a record
   * deleted). Never taken as the new key: start backs it up and makes a fresh one.
   */
  leftover: boolean;
  /** The files fit no phase: what is wrong and what to do. */
  broken?: string;
}

const RECORD = keyRotationRecord('sa');

/** Where the rotation stands: the record says the phase (start writes it first, finish removes it last); without one, none. */
export function saRotation(files: SaFiles, snap: Snapshot): SaRotation {
  const currentKey = keyFingerprint(snap.get(files.current.key));
  const newKey = keyFingerprint(snap.get(files.next.key));
  const retired = !!newKey && newKey === currentKey;
  const base = { files, currentKey, newKey, retired, leftover: false };
  const text = snap.get(RECORD);
  if (!text) return { ...base, state: 'none', record: null, leftover: !!snap.get(files.next.key) && !retired };
  let record: KeyRotationRecord | null = null;
  try {
    const r = JSON.parse(text.toString('utf8')) as Partial<KeyRotationRecord>;
    if ((r.phase === 'start' || r.phase === 'promote' || r.phase === 'finish') && typeof r.newKey === 'string') record = { kind: 'sa', phase: r.phase, newKey: r.newKey };
  } catch {
    // broken below
  }
  if (!record) return { ...base, state: 'none', record: null, broken: `${RECORD} is not a record kube-pki wrote: move it away, then kube-pki rotate-sa status` };
  // The record names the new key: a new pair replaced by hand (or another start's) is not this rotation's.
  const made = record.phase === 'finish' ? [newKey, currentKey] : [newKey];
  if (record.phase !== 'start' && !made.includes(record.newKey))
    return {
      ...base,
      state: record.phase,
      record,
      broken: `${RECORD} names a new key that is not ${files.next.key}${record.phase === 'finish' ? ` nor ${files.current.key}` : ''}: restore that key from a backup-* folder, or move the record away and run kube-pki rotate-sa start again`,
    };
  return { ...base, state: record.phase, record };
}

/** The flags that name the token key's files, and what they read in each phase. */
export const SA_VERIFY_FLAG = '--service-account-key-file';
export const SA_SIGNING_FLAGS = ['--service-account-signing-key-file', '--service-account-private-key-file'] as const;

/**
 * The file(s) a service-account flag names in this phase, given the path it names outside a rotation
 * (a node path or a PKI path): from start to promote the apiservers verify with the current and the
 * new public key (the flag repeated), from promote on the new key signs.
 */
export function saFlagPaths(state: KeyRotationState, flag: string, path: string): string[] {
  const renamed = newPair({ key: path, pub: path }).key;
  if (state !== 'start' && state !== 'promote') return [path];
  if (flag === SA_VERIFY_FLAG) return [path, renamed];
  if (state === 'promote' && (SA_SIGNING_FLAGS as readonly string[]).includes(flag)) return [renamed];
  return [path];
}
