import { readFile } from 'node:fs/promises';
import { homedir, userInfo } from 'node:os';
import { join, posix } from 'node:path';
import ssh2 from 'ssh2';
import type { ParsedKey } from 'ssh2';
import type { Cluster, ClusterNode } from '../cluster/load.js';
import { isDnsName, isIpAddress, isPlainPath, isUserName } from '../cluster/names.js';
import type { SshSettings } from '../cluster/schema.js';
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

const SSH_CONFIG_NAMES: Partial<Record<Key, Exclude<keyof SshConfigEntry, 'unsupported'>>> = { host: 'HostName', port: 'Port', user: 'User', identityFile: 'IdentityFile' };

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

/**
 * Resolves every node's SSH settings, most specific first: the node's `ssh:` block, then the
 * --ssh-config entry for the node's name, then the top-level `ssh:` block, then defaults (host: the
 * node's address, port 22, the local user name, ~/.ssh/id_{ed25519,ecdsa,rsa}, remoteDir by
 * profile, no sudo). Throws one UserError (exit 2) listing every bad value; nothing is connected.
 */
export async function resolveTargets(cluster: Cluster, nodes: ClusterNode[], options: TargetOptions = {}): Promise<NodeTarget[]> {
  const env = options.env ?? process.env;
  const agent = env.SSH_AUTH_SOCK || undefined;
  const lookup = options.sshConfig ? await readSshConfig(options.sshConfig) : undefined;
  const issues = new Issues();
  const cache = new Map<string, Promise<Identity | null>>();
  const src = cluster.source;

  const targets = await Promise.all(
    nodes.map(async (node): Promise<NodeTarget | null> => {
      const index = cluster.nodes.indexOf(node);
      const layers: Layer[] = [{ values: node.ssh ?? {}, field: (k) => `${src}: nodes[${index}].ssh.${k}` }];
      if (lookup) {
        const entry = lookup(node.name);
        for (const [name, raw] of Object.entries(entry.unsupported ?? {}))
          issues.add(`--ssh-config ${options.sshConfig}: Host ${node.name}: ${name}`, raw, `kube-pki connects to each node directly and does not support ${name}; give the node's reachable address (ssh.host) instead, or distribute from a machine that reaches the nodes`);
        const values: Partial<Record<Key, unknown>> = {};
        for (const [key, name] of Object.entries(SSH_CONFIG_NAMES) as [Key, Exclude<keyof SshConfigEntry, 'unsupported'>][]) {
          const raw = entry[name];
          if (raw === undefined) continue;
          const value = fromSshConfig(key, raw);
          if (value instanceof Error) issues.add(`--ssh-config ${options.sshConfig}: Host ${node.name}: ${name}`, raw, value.message);
          else values[key] = value;
        }
        layers.push({ values, field: (k) => `--ssh-config ${options.sshConfig}: Host ${node.name}: ${SSH_CONFIG_NAMES[k]}` });
      }
      layers.push({ values: cluster.ssh ?? {}, field: (k) => `${src}: ssh.${k}` });
      const pick = <T>(key: Key): { value: T; field: string } | undefined => {
        for (const layer of layers) if (layer.values[key] !== undefined) return { value: layer.values[key] as T, field: layer.field(key) };
        return undefined;
      };

      const dirSetting = pick<string>('remoteDir');
      const dir = normalizeRemoteDir(dirSetting?.value ?? DEFAULT_REMOTE_DIR[cluster.profile]);
      if (typeof dir === 'string') issues.add(dirSetting!.field, dirSetting!.value, dir);

      const identitySetting = pick<string>('identityFile');
      const identities: Identity[] = [];
      if (identitySetting) {
        const id = await loadIdentity(expandHome(identitySetting.value), identitySetting.field, !!agent, issues, cache);
        if (id) identities.push(id);
      } else {
        for (const name of DEFAULT_IDENTITIES) {
          const path = join(homedir(), '.ssh', name);
          const id = await loadIdentity(path, `default identity ${path}`, true, new Issues(), cache);
          if (id) identities.push(id);
        }
        if (identities.length === 0 && !agent)
          issues.add(`${src}: nodes[${index}].ssh (${node.name})`, undefined, 'no SSH credentials: set ssh.identityFile (per node or at the top level), give --ssh-config, or start ssh-agent (SSH_AUTH_SOCK)');
      }

      const hostKey = pick<string>('hostKey');
      const host = pick<string>('host')?.value ?? node.address;
      if (typeof dir === 'string' || (identitySetting && identities.length === 0 && !agent)) return null;
      return {
        node,
        host,
        port: pick<number>('port')?.value ?? 22,
        user: pick<string>('user')?.value ?? userInfo().username,
        identities,
        ...(agent ? { agent } : {}),
        ...(hostKey ? { hostKey: { fingerprint: hostKey.value.replace(/=+$/, ''), field: hostKey.field } } : {}),
        remoteDir: dir.path,
        sudo: pick<boolean>('sudo')?.value ?? false,
      };
    }),
  );
  if (issues.lines.size > 0) throw new UserError([...issues.lines].join('\n'), EXIT.badInput);
  return targets.filter((t): t is NodeTarget => t !== null);
}
