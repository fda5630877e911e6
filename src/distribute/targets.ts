import { readFile } from 'node:fs/promises';
import { homedir, userInfo } from 'node:os';
import { join, posix } from 'node:path';
import ssh2 from 'ssh2';
import type { ParsedKey } from 'ssh2';
import type { Cluster, ClusterNode } from '../model/cluster.js';
import { isDnsName, isIpAddress, isPlainPath, isUserName } from '../cluster/names.js';
import type { SshSettings } from '../model/cluster.js';
import { EXIT, UserError, showValue } from '../errors.js';
import type { Identity, Login } from '../ssh/connect.js';
import { readSshConfig, type SshConfigEntry } from '../ssh/ssh-config.js';

/** How one node is reached and where its files go: every value validated, keys loaded. */
export interface NodeTarget extends Login {
  node: ClusterNode;
  /** Absolute, or relative to the login folder (shown as ~/...). */
  remoteDir: string;
  sudo: boolean;
}

export interface TargetOptions {
  sshConfig?: string;
  env?: NodeJS.ProcessEnv;
  /**
   * Where problems with the login keys go (a missing or unreadable identity file, no key and no
   * agent). Unset: they are bad input like any other setting. A dry run collects them here instead:
   * it connects to nothing, so it needs no credentials.
   */
  credentialProblems?: string[];
}

/** Where files go when the description says nothing: ~/pki for hardway (the lab copies to the home folder), /etc/kubernetes for kubeadm. */
export const DEFAULT_REMOTE_DIR = { hardway: 'pki', kubeadm: '/etc/kubernetes' } as const;

const DEFAULT_IDENTITIES = ['id_ed25519', 'id_ecdsa', 'id_rsa'];

/** remoteDir as written ("~/pki", "/etc/kubernetes") → a normal path; a string is the reason it is refused. */
export function normalizeRemoteDir(value: string): { path: string } | string {
  if (value.startsWith('~') && !/^~(\/|$)/.test(value)) return 'only ~/ (the login folder) is understood, not ~user';
  const path = posix.normalize(value.replace(/^~\/?/, '') || '.').replace(/(.)\/+$/, '$1');
  if (path.split('/').includes('..')) return 'must not contain ".."';
  if (path === '/' || path === '.') return 'names / or the login folder itself; give the files a folder of their own, e.g. ~/pki';
  return { path };
}

/** "~/pki" for a path relative to the login folder, else the path. */
export const showRemoteDir = (dir: string) => (dir.startsWith('/') ? dir : `~/${dir}`);

type Key = keyof SshSettings;

interface Layer {
  values: Partial<Record<Key, unknown>>;
  field: (key: Key) => string;
}

type TakenName = Exclude<keyof SshConfigEntry, 'unsupported'>;

const SSH_CONFIG_NAMES: Partial<Record<Key, TakenName>> = { host: 'HostName', port: 'Port', user: 'User', identityFile: 'IdentityFile' };

function expandHome(path: string): string {
  return path === '~' ? homedir() : path.startsWith('~/') ? join(homedir(), path.slice(2)) : path;
}

/** Checks a value that came from an ssh_config file (strings only there); returns it typed, or a reason. */
function fromSshConfig(key: Key, value: string): unknown {
  if (key === 'host') return isIpAddress(value) || isDnsName(value) ? value : Error('is neither an IP address nor a DNS name');
  if (key === 'port') {
    const n = /^\d{1,5}$/.test(value) ? Number(value) : NaN;
    return n >= 1 && n <= 65535 ? n : Error('must be 1 to 65535');
  }
  if (key === 'user') return isUserName(value) ? value : Error('is not a valid user name');
  if (key === 'identityFile') return isPlainPath(value) && !value.includes('%') ? expandHome(value) : Error('is not a usable file path (%-tokens are not expanded)');
  return value;
}

class Issues {
  readonly lines = new Set<string>();
  /** `field: value: message`, or `field: message` when there is no value to show. */
  add(field: string, value: unknown, message: string): void {
    this.lines.add(value === undefined ? `${field}: ${message}` : `${field}: ${showValue(value)}: ${message}`);
  }
}

async function loadIdentity(path: string, field: string, agent: boolean, issues: Issues, cache: Map<string, Promise<Identity | null>>): Promise<Identity | null> {
  const load = async (): Promise<Identity | null> => {
    let data: Buffer;
    try {
      data = await readFile(path);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      issues.add(field, path, code === 'ENOENT' ? 'no such file' : `cannot read it (${code})`);
      return null;
    }
    const parsed = ssh2.utils.parseKey(data);
    const key = (Array.isArray(parsed) ? parsed[0] : parsed) as ParsedKey | Error | undefined;
    if (key instanceof Error && /passphrase/i.test(key.message)) {
      if (agent) return null; // the agent may hold it; kube-pki never prompts
      issues.add(field, path, 'is encrypted; kube-pki does not ask for passphrases: load it into ssh-agent (ssh-add) and set SSH_AUTH_SOCK');
      return null;
    }
    if (!key || key instanceof Error || !key.isPrivateKey()) {
      issues.add(field, path, 'is not a private key in a format ssh2 reads (OpenSSH, PEM or PPK)');
      return null;
    }
    return { path, key };
  };
  if (!cache.has(path)) cache.set(path, load());
  return cache.get(path)!;
}

/** What resolving every node's settings shares: the description, the agent, --ssh-config, the issues found, loaded keys. */
interface Resolving {
  cluster: Cluster;
  agent: string | undefined;
  sshConfig: string | undefined;
  lookup: ((host: string) => SshConfigEntry) | undefined;
  issues: Issues;
  /** Problems with the login keys: `issues` itself unless a dry run collects them apart. */
  keyIssues: Issues;
  identities: Map<string, Promise<Identity | null>>;
}

/**
 * Resolves every node's SSH settings, most specific first: the node's `ssh:` block, then the
 * --ssh-config entry for the node's name, then the top-level `ssh:` block, then defaults (host: the
 * node's address, port 22, the local user name, ~/.ssh/id_{ed25519,ecdsa,rsa}, remoteDir by
 * profile, no sudo). Throws one UserError (exit 2) listing every bad value; nothing is connected.
 */
export async function resolveTargets(cluster: Cluster, nodes: ClusterNode[], options: TargetOptions = {}): Promise<NodeTarget[]> {
  const env = options.env ?? process.env;
  const ctx: Resolving = {
    cluster,
    agent: env.SSH_AUTH_SOCK || undefined,
    sshConfig: options.sshConfig,
    lookup: options.sshConfig ? await readSshConfig(options.sshConfig) : undefined,
    issues: new Issues(),
    keyIssues: new Issues(),
    identities: new Map(),
  };
  if (!options.credentialProblems) ctx.keyIssues = ctx.issues;
  const targets = await Promise.all(nodes.map((node) => resolveTarget(node, ctx)));
  if (ctx.issues.lines.size > 0) throw new UserError([...ctx.issues.lines].join('\n'), EXIT.badInput);
  if (ctx.keyIssues !== ctx.issues) options.credentialProblems!.push(...ctx.keyIssues.lines);
  return targets.filter((t): t is NodeTarget => t !== null);
}

/** The layers of one node's settings, most specific first; a bad --ssh-config value is an issue and left out. */
function settingLayers(node: ClusterNode, ctx: Resolving): Layer[] {
  const src = ctx.cluster.source;
  const index = ctx.cluster.nodes.indexOf(node);
  const layers: Layer[] = [{ values: node.ssh ?? {}, field: (k) => `${src}: nodes[${index}].ssh.${k}` }];
  if (ctx.lookup) {
    const entry = ctx.lookup(node.name);
    for (const [name, raw] of Object.entries(entry.unsupported ?? {}))
      ctx.issues.add(
        `--ssh-config ${ctx.sshConfig}: Host ${node.name}: ${name}`,
        raw,
        `kube-pki connects to each node directly and does not support ${name}; give the node's reachable address (ssh.host) instead, or distribute from a machine that reaches the nodes`,
      );
    const values: Partial<Record<Key, unknown>> = {};
    for (const [key, name] of Object.entries(SSH_CONFIG_NAMES) as [Key, TakenName][]) {
      const raw = entry[name];
      if (raw === undefined) continue;
      const value = fromSshConfig(key, raw);
      if (value instanceof Error) ctx.issues.add(`--ssh-config ${ctx.sshConfig}: Host ${node.name}: ${name}`, raw, value.message);
      else values[key] = value;
    }
    layers.push({ values, field: (k) => `--ssh-config ${ctx.sshConfig}: Host ${node.name}: ${SSH_CONFIG_NAMES[k]}` });
  }
  layers.push({ values: ctx.cluster.ssh ?? {}, field: (k) => `${src}: ssh.${k}` });
  return layers;
}

/** The first layer's value of a setting, and the field it came from (for messages). */
function pick<T>(layers: Layer[], key: Key): { value: T; field: string } | undefined {
  for (const layer of layers) if (layer.values[key] !== undefined) return { value: layer.values[key] as T, field: layer.field(key) };
  return undefined;
}

/** The keys to log in with: the identityFile set, else those of ~/.ssh/id_{ed25519,ecdsa,rsa} that load. */
async function identitiesFor(node: ClusterNode, setting: { value: string; field: string } | undefined, ctx: Resolving): Promise<Identity[]> {
  const identities: Identity[] = [];
  if (setting) {
    const id = await loadIdentity(expandHome(setting.value), setting.field, !!ctx.agent, ctx.keyIssues, ctx.identities);
    if (id) identities.push(id);
    return identities;
  }
  for (const name of DEFAULT_IDENTITIES) {
    const path = join(homedir(), '.ssh', name);
    const id = await loadIdentity(path, `default identity ${path}`, true, new Issues(), ctx.identities);
    if (id) identities.push(id);
  }
  if (identities.length === 0 && !ctx.agent)
    ctx.keyIssues.add(
      `${ctx.cluster.source}: nodes[${ctx.cluster.nodes.indexOf(node)}].ssh (${node.name})`,
      undefined,
      'no SSH credentials: set ssh.identityFile (per node or at the top level), give --ssh-config, or start ssh-agent (SSH_AUTH_SOCK)',
    );
  return identities;
}

/** One node's target, or null when one of its settings is bad (the issue is recorded). */
async function resolveTarget(node: ClusterNode, ctx: Resolving): Promise<NodeTarget | null> {
  const layers = settingLayers(node, ctx);
  const dirSetting = pick<string>(layers, 'remoteDir');
  const dir = normalizeRemoteDir(dirSetting?.value ?? DEFAULT_REMOTE_DIR[ctx.cluster.profile]);
  if (typeof dir === 'string') ctx.issues.add(dirSetting!.field, dirSetting!.value, dir);

  const identitySetting = pick<string>(layers, 'identityFile');
  const identities = await identitiesFor(node, identitySetting, ctx);

  const hostKey = pick<string>(layers, 'hostKey');
  const host = pick<string>(layers, 'host')?.value ?? node.address;
  if (typeof dir === 'string' || (identitySetting && identities.length === 0 && !ctx.agent && ctx.keyIssues === ctx.issues)) return null;
  return {
    node,
    host,
    port: pick<number>(layers, 'port')?.value ?? 22,
    user: pick<string>(layers, 'user')?.value ?? userInfo().username,
    identities,
    ...(ctx.agent ? { agent: ctx.agent } : {}),
    ...(hostKey ? { hostKey: { fingerprint: hostKey.value.replace(/=+$/, ''), field: hostKey.field } } : {}),
    remoteDir: dir.path,
    sudo: pick<boolean>(layers, 'sudo')?.value ?? false,
  };
}
