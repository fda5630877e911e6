import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/** OpenSSH's fingerprint of a public key blob: "SHA256:" and unpadded base64 of its SHA-256. */
export function fingerprint(keyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

/** The key type named at the start of a public key blob ("ssh-ed25519", "ssh-rsa", ...). */
export function keyTypeOf(keyBlob: Buffer): string {
  if (keyBlob.length < 4) return 'unknown';
  const len = keyBlob.readUInt32BE(0);
  return len > 0 && len < 64 && keyBlob.length >= 4 + len ? keyBlob.toString('latin1', 4, 4 + len) : 'unknown';
}

/** How OpenSSH names a host in known_hosts: the bare host on port 22, else "[host]:port". */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

export interface KnownHostEntry {
  marker?: '@revoked' | '@cert-authority';
  patterns: string;
  type: string;
  key: Buffer;
  line: number;
  /** The file it is in, for messages. */
  file?: string;
}

/** OpenSSH's GlobalKnownHostsFile: read as well as the user's file, never written. */
export const SYSTEM_KNOWN_HOSTS = '/etc/ssh/ssh_known_hosts';

export function parseKnownHosts(text: string, file?: string): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  text.split('\n').forEach((raw, i) => {
    const fields = raw.trim().split(/\s+/);
    if (!fields[0] || fields[0].startsWith('#')) return;
    const marker = fields[0].startsWith('@') ? fields.shift() : undefined;
    const [patterns, type, key] = fields;
    if (!patterns || !type || !key || (marker && marker !== '@revoked' && marker !== '@cert-authority')) return;
    entries.push({ ...(marker ? { marker: marker as KnownHostEntry['marker'] } : {}), patterns, type, key: Buffer.from(key, 'base64'), line: i + 1, ...(file ? { file } : {}) });
  });
  return entries;
}

function wildcard(pattern: string, name: string): boolean {
  const re = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${re}$`, 'i').test(name);
}

function hashedMatch(pattern: string, name: string): boolean {
  const [, magic, salt, hash] = pattern.split('|');
  if (magic !== '1' || !salt || !hash) return false;
  const want = Buffer.from(hash, 'base64');
  const got = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest();
  return want.length === got.length && timingSafeEqual(want, got);
}

/** OpenSSH's host list semantics: comma-separated patterns, `*`/`?` wildcards, `!` negation, `|1|` hashes. */
export function hostMatches(patterns: string, host: string): boolean {
  const name = host.toLowerCase();
  let matched = false;
  for (const pattern of patterns.split(',')) {
    const negated = pattern.startsWith('!');
    const p = negated ? pattern.slice(1) : pattern;
    const hit = p.startsWith('|') ? hashedMatch(p, name) : wildcard(p, name);
    if (hit && negated) return false;
    if (hit) matched = true;
  }
  return matched;
}

/** Where an entry is: "FILE:LINE". */
export const entryPlace = (e: Pick<KnownHostEntry, 'file' | 'line'>) => `${e.file ?? 'known_hosts'}:${e.line}`;

export type HostKeyVerdict =
  | { kind: 'known' }
  | { kind: 'unknown' }
  | { kind: 'changed'; known: { type: string; fingerprint: string; place: string }[] }
  | { kind: 'revoked'; place: string }
  /** Only a @cert-authority line covers the host: host certificates are not checked by kube-pki. */
  | { kind: 'cert-authority'; place: string };

async function readKnownHosts(path: string): Promise<KnownHostEntry[]> {
  try {
    return parseKnownHosts(await readFile(path, 'utf8'), path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    return [];
  }
}

/**
 * The user's known_hosts file and the system's (like OpenSSH's UserKnownHostsFile and
 * GlobalKnownHostsFile): looked up together; new keys appended to the user's (one writer at a time).
 */
export class KnownHosts {
  private writing: Promise<void> = Promise.resolve();

  constructor(
    readonly path: string,
    private readonly entries: KnownHostEntry[],
  ) {}

  static async load(path: string, systemPath: string = SYSTEM_KNOWN_HOSTS): Promise<KnownHosts> {
    const [user, system] = await Promise.all([readKnownHosts(path), readKnownHosts(systemPath)]);
    return new KnownHosts(path, [...user, ...system]);
  }

  private plainFor(name: string): KnownHostEntry[] {
    return this.entries.filter((e) => e.marker !== '@cert-authority' && hostMatches(e.patterns, name));
  }

  /** Key types recorded for a host: the handshake asks for these first, as OpenSSH does. */
  typesFor(name: string): string[] {
    return [...new Set(this.plainFor(name).filter((e) => !e.marker).map((e) => e.type))];
  }

  check(name: string, keyBlob: Buffer): HostKeyVerdict {
    const entries = this.plainFor(name);
    const same = entries.filter((e) => e.key.equals(keyBlob));
    const revoked = same.find((e) => e.marker === '@revoked');
    if (revoked) return { kind: 'revoked', place: entryPlace(revoked) };
    if (same.length > 0) return { kind: 'known' };
    const others = entries.filter((e) => !e.marker);
    if (others.length === 0) {
      const ca = this.entries.find((e) => e.marker === '@cert-authority' && hostMatches(e.patterns, name));
      return ca ? { kind: 'cert-authority', place: entryPlace(ca) } : { kind: 'unknown' };
    }
    // Known under another key (of this type or another): OpenSSH's "IDENTIFICATION HAS CHANGED".
    return { kind: 'changed', known: others.map((e) => ({ type: e.type, fingerprint: fingerprint(e.key), place: entryPlace(e) })) };
  }

  /** Records a host key (--accept-new), creating the file 0600 in a 0700 folder if needed. */
  add(name: string, keyBlob: Buffer): Promise<void> {
    const entry: KnownHostEntry = { patterns: name, type: keyTypeOf(keyBlob), key: keyBlob, line: 0, file: this.path };
    const write = async () => {
      await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
      const current = await readFile(this.path, 'utf8').catch(() => '');
      const sep = current === '' || current.endsWith('\n') ? '' : '\n';
      await appendFile(this.path, `${sep}${name} ${entry.type} ${keyBlob.toString('base64')}\n`, { mode: 0o600 });
      this.entries.push(entry);
    };
    this.writing = this.writing.then(write, write);
    return this.writing;
  }
}
