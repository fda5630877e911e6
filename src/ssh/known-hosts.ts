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
}

export function parseKnownHosts(text: string): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  text.split('\n').forEach((raw, i) => {
    const fields = raw.trim().split(/\s+/);
    if (!fields[0] || fields[0].startsWith('#')) return;
    const marker = fields[0].startsWith('@') ? fields.shift() : undefined;
    const [patterns, type, key] = fields;
    if (!patterns || !type || !key || (marker && marker !== '@revoked' && marker !== '@cert-authority')) return;
    entries.push({ ...(marker ? { marker: marker as KnownHostEntry['marker'] } : {}), patterns, type, key: Buffer.from(key, 'base64'), line: i + 1 });
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

export type HostKeyVerdict =
  | { kind: 'known' }
  | { kind: 'unknown' }
  | { kind: 'changed'; known: { type: string; fingerprint: string; line: number }[] }
  | { kind: 'revoked'; line: number };

/** A known_hosts file: looked up like OpenSSH; new keys appended (one writer at a time). */
export class KnownHosts {
  private writing: Promise<void> = Promise.resolve();

  constructor(
    readonly path: string,
    private readonly entries: KnownHostEntry[],
  ) {}

  static async load(path: string): Promise<KnownHosts> {
    let text = '';
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    return new KnownHosts(path, parseKnownHosts(text));
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
    if (revoked) return { kind: 'revoked', line: revoked.line };
    if (same.length > 0) return { kind: 'known' };
    const others = entries.filter((e) => !e.marker);
    if (others.length === 0) return { kind: 'unknown' };
    // Known under another key (of this type or another): OpenSSH's "IDENTIFICATION HAS CHANGED".
    return { kind: 'changed', known: others.map((e) => ({ type: e.type, fingerprint: fingerprint(e.key), line: e.line })) };
  }

  /** Records a host key (--accept-new), creating the file 0600 in a 0700 folder if needed. */
  add(name: string, keyBlob: Buffer): Promise<void> {
    const entry: KnownHostEntry = { patterns: name, type: keyTypeOf(keyBlob), key: keyBlob, line: 0 };
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
