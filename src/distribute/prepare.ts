import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Cluster, ClusterNode } from '../model/cluster.js';
import { EXIT, UserError } from '../errors.js';
import { KnownHosts } from '../ssh/known-hosts.js';
import { manifestFor, type NodeManifest } from './manifest.js';
import type { SessionOptions } from './node.js';
import { resolveTargets, type NodeTarget } from './targets.js';

/** How to reach the nodes: shared by distribute, --verify and a `check --remote`. */
export interface RemoteOptions {
  /** The PKI folder. */
  out: string;
  /** Node names to work on (default: every node). */
  only?: string[];
  /** Nodes at once (default 16). */
  parallel?: number;
  sshConfig?: string;
  /** known_hosts file (default ~/.ssh/known_hosts). */
  knownHosts?: string;
  acceptNew?: boolean;
  /** Further attempts after a connection error (default 2). */
  retries?: number;
  /** Seconds to wait for a node's SSH handshake (default 20). */
  timeout?: number;
  /** Milliseconds before the first retry, doubled each time (default 500). */
  backoffMs?: number;
}

export interface DistributeOptions extends RemoteOptions {
  dryRun?: boolean;
  json?: boolean;
  verify?: boolean;
}

export interface Prepared {
  outDir: string;
  /** The selected nodes, in description order, with their manifests. */
  manifests: NodeManifest[];
  targets: Map<string, NodeTarget>;
  /** With `withoutCredentials` (a dry run): what the real run would refuse about the login keys. */
  credentialProblems: string[];
}

/**
 * Everything that can be checked without a connection: --only, the manifest, every node's SSH
 * settings and keys. Throws UserError (exit 2) on bad input.
 */
export async function prepareDistribution(cluster: Cluster, options: RemoteOptions, { withoutCredentials = false } = {}): Promise<Prepared> {
  const outDir = resolve(options.out);
  const names = cluster.nodes.map((n) => n.name);
  const unknown = (options.only ?? []).filter((n) => !names.includes(n));
  if (unknown.length)
    throw new UserError(`--only ${unknown.map((n) => JSON.stringify(n)).join(', ')}: no such node in ${cluster.source} (nodes: ${names.join(', ')})`, EXIT.badInput);
  const selected = (n: ClusterNode) => !options.only?.length || options.only.includes(n.name);
  const manifests = (await manifestFor(cluster, outDir)).filter((m) => selected(m.node));
  const withFiles = manifests.filter((m) => m.files.length > 0).map((m) => m.node);
  const credentialProblems: string[] = [];
  const targetOptions = { ...(options.sshConfig ? { sshConfig: options.sshConfig } : {}), ...(withoutCredentials ? { credentialProblems } : {}) };
  const targets = new Map((await resolveTargets(cluster, withFiles, targetOptions)).map((t) => [t.node.name, t]));
  return { outDir, manifests, targets, credentialProblems };
}

export async function sessionOptions(options: RemoteOptions): Promise<SessionOptions> {
  return {
    knownHosts: await KnownHosts.load(options.knownHosts ?? join(homedir(), '.ssh', 'known_hosts')),
    acceptNew: !!options.acceptNew,
    timeoutMs: (options.timeout ?? 20) * 1000,
    retries: options.retries ?? 2,
    backoffMs: options.backoffMs ?? 500,
  };
}

