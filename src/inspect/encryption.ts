import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parseEncryptionConfig, type EncryptionConfig } from '../encryption/config.js';
import { readPkiFile } from '../files/read.js';
import { MODE } from '../model/files.js';
import type { EncryptionInstance } from '../model/encryption.js';

/** The encryption configuration in the folder and each node tree's copy of it. */
export interface EncryptionState {
  exists: boolean;
  /** The parsed file (never shown: it holds the keys); null when absent or unreadable. */
  config: EncryptionConfig | null;
  /** Why it is not a configuration kube-pki understands; undefined when it is one (or absent). */
  problem?: string;
  /** Its mode bits, when it exists. */
  mode?: number;
  /** Node trees: per copy path, whether it exists and has the source's bytes. */
  copies: Map<string, { exists: boolean; same: boolean }>;
}

export async function inspectEncryption(outDir: string, instance: EncryptionInstance): Promise<EncryptionState> {
  const source = await readPkiFile(join(outDir, instance.path));
  const copies = new Map<string, { exists: boolean; same: boolean }>();
  for (const c of instance.copies) {
    const copy = await readPkiFile(join(outDir, c.path));
    copies.set(c.path, { exists: !!copy, same: !!copy && !!source && copy.equals(source) });
  }
  if (!source) return { exists: false, config: null, copies };
  const mode = (await stat(join(outDir, instance.path))).mode & 0o777;
  const parsed = parseEncryptionConfig(source.toString('utf8'));
  if ('error' in parsed) return { exists: true, config: null, problem: `${instance.path}: ${parsed.error}`, mode, copies };
  return { exists: true, config: parsed, mode, copies };
}

/** What check reports about it: mode, shape, key length, provider as described, copies equal. */
export function encryptionProblems(instance: EncryptionInstance, state: EncryptionState): string[] {
  if (!state.exists) return [`${instance.path} is missing (kube-pki gen makes it)`];
  const problems: string[] = [];
  if (state.mode !== undefined && state.mode !== MODE.secret) problems.push(`${instance.path} has mode 0${state.mode.toString(8)}, not 0600: it holds the key of every Secret`);
  if (state.problem) problems.push(state.problem);
  else if (state.config && state.config.provider !== instance.provider)
    problems.push(`${instance.path}: provider ${state.config.provider}, the description says ${instance.provider} (a provider change is a rotation to a new key: see docs/encryption.md)`);
  for (const [path, c] of state.copies) if (!c.same) problems.push(c.exists ? `${path} differs from ${instance.path}` : `${path} is missing`);
  return problems;
}

/** Where a key rotation stands, read from the file alone (its key names and their order). */
export interface EncryptionRotation {
  /** none: one key; start: [old, new] (new decrypts only); promote: [new, old] (new encrypts). */
  state: 'none' | 'start' | 'promote';
  /** Every node tree's copy equals the source (always true in the flat layout). */
  complete: boolean;
  /** The key names in the file's order (the first encrypts); never the secrets. */
  keys: string[];
  /** A file kube-pki cannot rotate (unreadable, three keys…): why. */
  broken?: string;
}

export function encryptionRotation(instance: EncryptionInstance, state: EncryptionState): EncryptionRotation {
  const complete = [...state.copies.values()].every((c) => c.same);
  if (!state.exists) return { state: 'none', complete, keys: [], broken: `${instance.path} is missing: kube-pki gen makes it` };
  if (!state.config) return { state: 'none', complete, keys: [], broken: state.problem ?? `${instance.path} is not readable` };
  const keys = state.config.keys.map((k) => k.name);
  const n = keys.map((k) => Number(k.slice(3)));
  if (keys.length === 1) return { state: 'none', complete, keys };
  if (keys.length === 2) return { state: n[1]! > n[0]! ? 'start' : 'promote', complete, keys };
  return { state: 'none', complete, keys, broken: `${instance.path} holds ${keys.length} keys (${keys.join(', ')}); kube-pki rotates a file of one key (or two during a rotation): remove the keys no Secret uses any more by hand` };
}

/** The phase of an encryption-key rotation under way in the folder, or null (for the other operations' refusals). */
export async function encryptionRotationUnderWay(outDir: string, instance: EncryptionInstance | undefined): Promise<string | null> {
  if (!instance) return null;
  const state = await inspectEncryption(outDir, instance);
  if (!state.exists || !state.config) return null;
  const r = encryptionRotation(instance, state);
  if (r.state !== 'none') return r.state;
  return r.complete ? null : 'finish';
}
