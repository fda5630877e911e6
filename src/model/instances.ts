import type { CertSpec, KeyPairSpec, KubeconfigSpec } from './catalog.js';
import type { ClusterNode, KeySpec, Pkcs11Settings } from './cluster.js';
import type { Usages } from './usages.js';
import type { EncryptionInstance } from './encryption.js';

// The catalog applied to one cluster: every certificate, key pair, kubeconfig and copy with its files
// (src/plan/instances.ts makes them; everything after the planner reads them).

export interface SanSet {
  dns: string[];
  ip: string[];
}

/** One concrete certificate: a catalog row applied to the cluster (and to one node if per-node). */
export interface CertInstance {
  /** Unique name: the catalog id, or the node name for per-node rows ("worker-1"). */
  name: string;
  spec: CertSpec;
  node?: ClusterNode;
  keyPath: string;
  certPath: string;
  /** Instance name of the signing CA; absent for a self-signed CA. */
  caName?: string;
  /** The signing CA's files. */
  ca?: { certPath: string; keyPath: string };
  /** A CA listed in `externalCAs`: its key is kept elsewhere on purpose (never a lost key). */
  declaredExternal?: boolean;
  /** A catalog CA under `rootCA`: an intermediate the root signs (its files here), with pathlen:0. */
  root?: RootRef;
  subject: { cn: string; o: string[] };
  sans: SanSet;
  usages: Usages;
  days: number;
  /** The description field its validity comes from, for messages. */
  daysField: string;
  key: KeySpec;
}

/** The root CA's files, as an intermediate refers to them. */
export interface RootRef {
  name: string;
  certPath: string;
  keyPath: string;
}

export interface KeyPairInstance {
  name: string;
  spec: KeyPairSpec;
  keyPath: string;
  pubPath: string;
  key: KeySpec;
}

export interface KubeconfigInstance {
  name: string;
  spec: KubeconfigSpec;
  node?: ClusterNode;
  path: string;
  certName: string;
  caName: string;
  server: string;
  clusterName: string;
  userName: string;
  contextName: string;
}

/** One file of a copy: a shared file's single source and its place in one node's tree. */
export interface CopyFile {
  part: 'crt' | 'key' | 'pub';
  from: string;
  to: string;
  mode: number;
}

/**
 * A shared certificate or key pair copied into one node's tree (layout 'node-trees'): the files of
 * `source` that this node receives, by its crtTo/keyTo/pubTo placement.
 */
export interface CopyInstance {
  /** "<node>/<catalog id>", e.g. "master-2/ca". */
  name: string;
  /** Instance name of the certificate or key pair copied. */
  source: string;
  group: 'ca' | 'cert' | 'keypair';
  node: ClusterNode;
  files: CopyFile[];
}

export interface Instances {
  certs: CertInstance[];
  /** The root CA (description `rootCA`): not in `certs`, which hold the catalog's own. */
  root?: CertInstance;
  /** rootCA.encrypt: a new root key is written encrypted. */
  rootEncrypt?: boolean;
  /** rootCA.pkcs11: the root key is in this token, not in root-ca.key. */
  rootToken?: Pkcs11Settings;
  keyPairs: KeyPairInstance[];
  kubeconfigs: KubeconfigInstance[];
  /** Copies of shared files into node trees; empty for the flat layout. */
  copies: CopyInstance[];
  /** The EncryptionConfiguration of Secrets at rest (description `encryption`); absent: off. */
  encryption?: EncryptionInstance;
}

/**
 * Layout 'node-trees': the folder that holds the single source of every shared file and the files
 * no node receives. Node names are DNS-1123 names, which cannot start with "_": never a node's tree.
 */
export const SHARED_DIR = '_cluster';
