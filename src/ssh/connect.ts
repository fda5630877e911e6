import ssh2 from 'ssh2';
import type { AnyAuthMethod, Client, ClientChannel, ParsedKey, SFTPWrapper } from 'ssh2';
import { fingerprint, keyTypeOf, knownHostsName, SYSTEM_KNOWN_HOSTS, type KnownHosts } from './known-hosts.js';
import { Sftp } from './sftp.js';

const { Client: SshClient } = ssh2;

/** A loaded private key and where it came from (the path is shown in messages, never the key). */
export interface Identity {
  path: string;
  key: ParsedKey;
}

/** Where a node is and how to log in: validated settings, keys loaded. */
export interface Login {
  host: string;
  port: number;
  user: string;
  identities: Identity[];
  /** ssh-agent socket (SSH_AUTH_SOCK) when set. */
  agent?: string;
  /** A fingerprint pinned in the description, and the field that holds it. */
  hostKey?: { fingerprint: string; field: string };
}

/** Everything needed to reach one node. */
export interface Endpoint extends Login {
  /** The node name, for messages. */
  label: string;
  knownHosts: KnownHosts;
  acceptNew: boolean;
  timeoutMs: number;
}

/** A failure to reach or talk to a node; `retryable` when trying again may help (network, timeouts). */
export class SshError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
    this.name = 'SshError';
  }
}

const DEFAULT_HOST_KEY_ALGORITHMS = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'rsa-sha2-512',
  'rsa-sha2-256',
  'ssh-rsa',
];

/** Known key types first (as OpenSSH orders HostKeyAlgorithms), so that a known host shows the key we know. */
export function hostKeyAlgorithms(knownTypes: string[]): string[] {
  const first = knownTypes.flatMap((t) => (t === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [t]));
  const preferred = first.filter((a) => DEFAULT_HOST_KEY_ALGORITHMS.includes(a));
  return [...new Set([...preferred, ...DEFAULT_HOST_KEY_ALGORITHMS])];
}

const RETRYABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'EAI_AGAIN']);

export const where = (e: Pick<Endpoint, 'user' | 'host' | 'port'>) => `${e.user}@${e.host}:${e.port}`;

function describeError(endpoint: Endpoint, err: Error & { code?: string; level?: string }): SshError {
  const at = `${endpoint.host}:${endpoint.port}`;
  if (err.code === 'ECONNREFUSED') return new SshError(`connection refused by ${at} (is sshd running there?)`, true);
  if (err.code === 'ENOTFOUND') return new SshError(`cannot resolve host ${JSON.stringify(endpoint.host)}`, false);
  if (err.level === 'client-timeout' || err.code === 'ETIMEDOUT') return new SshError(`no SSH answer from ${at} within ${endpoint.timeoutMs / 1000}s`, true);
  if (err.level === 'client-authentication') {
    const tried = [...endpoint.identities.map((i) => `key ${i.path}`), ...(endpoint.agent ? ['ssh-agent'] : [])];
    return new SshError(`${where(endpoint)}: permission denied (publickey); tried ${tried.join(', ')}`, false);
  }
  const retryable = RETRYABLE_CODES.has(err.code ?? '') || err.level === 'client-socket' || /connection lost|closed/i.test(err.message);
  return new SshError(`${at}: ${err.code ? `${err.code} ` : ''}${err.message}`.replace(/\s+$/, ''), retryable);
}

/**
 * Decides on a host key like OpenSSH with StrictHostKeyChecking=yes (or accept-new): a pinned
 * fingerprint wins; else known_hosts; an unknown host only with acceptNew (then recorded).
 * Returns null when the key is accepted, else the reason to refuse it.
 */
export async function judgeHostKey(endpoint: Endpoint, keyBlob: Buffer): Promise<string | null> {
  const got = fingerprint(keyBlob);
  const type = typeName(keyBlob);
  const name = knownHostsName(endpoint.host, endpoint.port);
  // The node's name is not repeated here: every report and line that shows this message names it.
  const head = `host key verification failed for ${name}`;
  if (endpoint.hostKey) return endpoint.hostKey.fingerprint === got ? null : pinMismatch(endpoint, [`${type} key ${got}`]);
  const verdict = endpoint.knownHosts.check(name, keyBlob);
  const file = endpoint.knownHosts.path;
  switch (verdict.kind) {
    case 'known':
      return null;
    case 'revoked':
      return `${head}: its ${type} key ${got} is marked @revoked in ${verdict.place}`;
    case 'cert-authority':
      return (
        `${head}: only a @cert-authority line (${verdict.place}) covers it, and kube-pki does not check SSH host certificates. ` +
        `Its ${type} key fingerprint is ${got}: check it on the node, then set ssh.hostKey to it or add the host's own key to ${file}.`
      );
    case 'changed':
      return (
        `${head}: REMOTE HOST IDENTIFICATION HAS CHANGED: the ${type} key it sent has fingerprint ${got}, but ` +
        verdict.known.map((k) => `${k.place} has ${k.type} ${k.fingerprint}`).join(', ') +
        '. Someone could be eavesdropping on you right now (man-in-the-middle attack), or the host key was just changed. ' +
        `If the change is expected, remove the old key (ssh-keygen -f ${file} -R '${name}') and run again with --accept-new.`
      );
    case 'unknown':
      if (endpoint.acceptNew) {
        await endpoint.knownHosts.add(name, keyBlob);
        return null;
      }
      return (
        `${head}: the authenticity of the host can't be established: it is not in ${file} nor ${SYSTEM_KNOWN_HOSTS} and the description pins no ssh.hostKey. ` +
        `Its ${type} key fingerprint is ${got}. Check it on the node (ssh-keygen -lf /etc/ssh/ssh_host_${type.toLowerCase().replace(/-.*/, '')}_key.pub), ` +
        'then set ssh.hostKey or run again with --accept-new.'
      );
  }
}

const typeName = (keyBlob: Buffer) => keyTypeOf(keyBlob).replace(/^ssh-/, '').replace(/-sha2-nistp\d+$/, '').toUpperCase();

function pinMismatch(endpoint: Endpoint, seen: string[]): string {
  const pin = endpoint.hostKey!;
  return (
    `host key verification failed for ${knownHostsName(endpoint.host, endpoint.port)}: REMOTE HOST IDENTIFICATION HAS CHANGED ` +
    `(or ${pin.field} is wrong): it sent ${seen.join(', ')}, but ${pin.field} expects ${pin.fingerprint}. ` +
    'Someone could be eavesdropping on you right now (man-in-the-middle attack), or the host key was just changed. Nothing was sent to this node.'
  );
}

/**
 * A fingerprint does not say its key's type, and a server shows one host key per connection (the
 * first type the client offers that it has): a pin is tried against each type in turn, the type
 * that matched first next time. Only a key with the pinned fingerprint is ever accepted.
 */
const PIN_ORDER = [['ssh-ed25519'], ['ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521'], ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']];
const pinnedType = new Map<string, number>();

/** The pinned key is not among the keys this connection could show. */
class PinMissed extends SshError {
  constructor(readonly seen: string | null) {
    super('pinned host key not shown', false);
  }
}

/** Opens an authenticated SSH connection; the host key is checked before any authentication. */
export async function connect(endpoint: Endpoint): Promise<Client> {
  if (!endpoint.hostKey) return connectOffering(endpoint, hostKeyAlgorithms(endpoint.knownHosts.typesFor(knownHostsName(endpoint.host, endpoint.port))));
  const at = where(endpoint);
  const first = pinnedType.get(at) ?? 0;
  const seen: string[] = [];
  for (const i of [first, ...PIN_ORDER.keys()].filter((v, n, all) => all.indexOf(v) === n)) {
    try {
      const client = await connectOffering(endpoint, PIN_ORDER[i]!);
      pinnedType.set(at, i);
      return client;
    } catch (err) {
      if (!(err instanceof PinMissed)) throw err;
      if (err.seen) seen.push(err.seen);
    }
  }
  throw new SshError(pinMismatch(endpoint, seen.length ? seen : ['no host key of a type kube-pki knows']), false);
}

function connectOffering(endpoint: Endpoint, serverHostKey: string[]): Promise<Client> {
  return new Promise((resolve, reject) => {
    const client = new SshClient();
    client.setMaxListeners(50); // a 'close' listener per SFTP session and per running command
    let refused: SshError | null = null;
    let settled = false;
    const fail = (err: SshError) => {
      if (settled) return;
      settled = true;
      client.end();
      reject(err);
    };
    const auth: AnyAuthMethod[] = [
      ...endpoint.identities.map((i): AnyAuthMethod => ({ type: 'publickey', username: endpoint.user, key: i.key })),
      ...(endpoint.agent ? [{ type: 'agent', username: endpoint.user, agent: endpoint.agent } as AnyAuthMethod] : []),
    ];
    const pinned = !!endpoint.hostKey;
    client
      .on('ready', () => {
        settled = true;
        resolve(client);
      })
      .on('error', (err: Error & { code?: string; level?: string }) => {
        // A server without a host key of the offered type: for a pin, the next type is tried.
        if (pinned && !refused && /no matching host ?key/i.test(err.message)) return fail(new PinMissed(null));
        fail(refused ?? describeError(endpoint, err));
      })
      .on('close', () => fail(refused ?? new SshError(`${endpoint.host}:${endpoint.port}: connection closed during the handshake`, true)));
    client.connect({
      host: endpoint.host,
      port: endpoint.port,
      username: endpoint.user,
      authHandler: auth,
      readyTimeout: endpoint.timeoutMs,
      keepaliveInterval: 5000,
      keepaliveCountMax: 3,
      algorithms: { serverHostKey: serverHostKey as never },
      hostVerifier: (key: Buffer, verify: (ok: boolean) => void) => {
        if (pinned) {
          const ok = fingerprint(key) === endpoint.hostKey!.fingerprint;
          if (!ok) refused = new PinMissed(`${typeName(key)} key ${fingerprint(key)}`);
          return verify(ok);
        }
        judgeHostKey(endpoint, key).then(
          (reason) => {
            if (reason) refused = new SshError(reason, false);
            verify(reason === null);
          },
          (err: Error) => {
            refused = new SshError(`cannot record the host key in ${endpoint.knownHosts.path}: ${err.message}`, false);
            verify(false);
          },
        );
      },
    });
  });
}

/** Runs one command; resolves with its exit code and output (stdout kept as bytes). */
export function execCommand(client: Client, command: string): Promise<{ code: number; stdout: Buffer; stderr: string }> {
  return new Promise((resolve, reject) => {
    const lost = () => reject(new Error('the SSH connection closed (connection lost?)'));
    client.once('close', lost);
    client.exec(command, (err: Error | undefined, channel: ClientChannel) => {
      if (err) {
        client.off('close', lost);
        return reject(err);
      }
      const out: Buffer[] = [];
      const errs: Buffer[] = [];
      let code = -1;
      channel.on('data', (d: Buffer) => out.push(d));
      channel.stderr.on('data', (d: Buffer) => errs.push(d));
      channel.on('exit', (c: number | null) => (code = c ?? -1));
      channel.on('close', () => {
        client.off('close', lost);
        resolve({ code, stdout: Buffer.concat(out), stderr: Buffer.concat(errs).toString('utf8').trim() });
      });
    });
  });
}

export async function openSftp(client: Client): Promise<Sftp> {
  const raw = await new Promise<SFTPWrapper>((resolve, reject) => client.sftp((err, sftp) => (err ? reject(err) : resolve(sftp))));
  return new Sftp(raw, client);
}
