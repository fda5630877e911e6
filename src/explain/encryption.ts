import { posix, resolve } from 'node:path';
import { ENCRYPTION_FLAG, ENCRYPTION_FILE, encryptionNodePath } from '../catalog/encryption.js';
import { nodeFolder } from '../catalog/flags.js';
import { EXIT, UserError } from '../errors.js';
import { encryptionRotation, inspectEncryption } from '../inspect/encryption.js';
import type { Cluster } from '../model/cluster.js';
import { ENCRYPTION_CONFIG } from '../model/encryption.js';
import { instancesFor } from '../pki.js';

/** `kube-pki explain encryption-config`: what the file is, where it goes, who reads it, how it rotates. Key names only. */
export interface EncryptionExplanation {
  name: typeof ENCRYPTION_CONFIG;
  profile: string;
  provider: string;
  purpose: string;
  caution: string;
  usedBy: { component: string; flag: string; path: string }[];
  files: { path: string; mode: string; nodes: string[] }[];
  /** In the folder, when it is there: key names (the first encrypts) and the rotation phase. */
  onDisk: { keys: string[]; rotation: string } | null;
  commands: string[];
}

export const isEncryptionName = (name: string): boolean => [ENCRYPTION_CONFIG, ENCRYPTION_FILE].includes(name.replace(/^.*\//, ''));

export async function explainEncryption(cluster: Cluster, out: string): Promise<EncryptionExplanation> {
  const instance = instancesFor(cluster).encryption;
  if (!instance)
    throw new UserError(`encryption-config: ${cluster.source} has no encryption (encryption: { provider: aescbc } turns it on; docs/encryption.md)`, EXIT.badInput);
  const state = await inspectEncryption(resolve(out), instance).catch(() => null);
  const rotation = state?.config ? encryptionRotation(instance, state) : null;
  const path = posix.join(nodeFolder(cluster).dir, encryptionNodePath(cluster));
  return {
    name: ENCRYPTION_CONFIG,
    profile: cluster.profile,
    provider: instance.provider,
    purpose:
      `The EncryptionConfiguration kube-apiserver encrypts Secrets with before it writes them to etcd (${instance.provider}, a random 32-byte key ` +
      'from openssl rand, then identity so that Secrets written before encryption stay readable). The first key encrypts; every key listed decrypts.',
    caution:
      'It holds the key of every Secret in etcd: 0600, control planes only, never printed, never made again while it exists (a new key would make ' +
      'every Secret unreadable). Back it up with etcd: an etcd backup without it cannot be read. Rotate it with kube-pki rotate-encryption-key.',
    usedBy: [{ ...ENCRYPTION_FLAG, path }],
    files: [instance.path, ...instance.copies.map((c) => c.path)].map((p, i) => ({
      path: p,
      mode: '0600',
      nodes: instance.copies.length ? (i === 0 ? [] : [instance.copies[i - 1]!.node]) : instance.nodes,
    })),
    onDisk: rotation ? { keys: rotation.keys, rotation: rotation.state } : null,
    commands: ['ENCRYPTION_KEY=$(openssl rand -base64 32)   # then the YAML of kube-pki script, secret: ${ENCRYPTION_KEY}', 'chmod 600 ' + ENCRYPTION_FILE],
  };
}

export function encryptionText(e: EncryptionExplanation): string {
  return [
    `${e.name}: EncryptionConfiguration of Secrets at rest, ${e.provider} (profile ${e.profile})`,
    '',
    'WHO USES IT AND FOR WHAT',
    `  ${e.purpose}`,
    ...e.usedBy.map((u) => `  ${u.component}  ${u.flag}=${u.path}`),
    '',
    'TAKE CARE',
    `  ${e.caution}`,
    '',
    'FILES',
    ...e.files.map((f) => `  ${f.path}  ${f.mode}  ${f.nodes.length ? `on ${f.nodes.join(', ')}` : 'source of the copies (sent to no node)'}`),
    ...(e.onDisk ? ['', `IN THE FOLDER  keys ${e.onDisk.keys.join(', ')} (the first encrypts); rotation: ${e.onDisk.rotation === 'none' ? 'none under way' : `phase ${e.onDisk.rotation}`}`] : []),
    '',
    'COMMANDS (as kube-pki script writes them)',
    ...e.commands.map((c) => `  ${c}`),
    '',
  ].join('\n');
}
