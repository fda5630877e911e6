import { X509Certificate, type KeyObject } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { dirname, extname, join, normalize } from 'node:path';
import { parse } from 'yaml';
import { readIfExists } from '../inspect/disk.js';
import { certExtensions, type CertExtensions } from '../inspect/der.js';
import { certFacts, isEncryptedKey, privateKey, type CertFacts } from '../inspect/x509.js';
import { TMP_DIR } from '../model/files.js';

const CERT_EXT = new Set(['.crt', '.pem', '.cert']);
const KUBECONFIG_EXT = new Set(['.kubeconfig', '.conf']);
const KEY_EXT = new Set(['.key']);

/** A certificate file of the folder, parsed once. */
export interface LoadedCert {
  /** Path relative to the folder. */
  file: string;
  mode: number;
  /** The file's bytes: a CA file may carry the chain up to its root after the certificate. */
  pem: Buffer;
  /** null: the file is not a readable certificate (`error` says why). */
  facts: CertFacts | null;
  ext: CertExtensions | null;
  error?: string;
}

/** What a kubeconfig points at: its server and the embedded (or referenced) CA, client certificate and key. */
export interface LoadedKubeconfig {
  file: string;
  mode: number;
  server: string | null;
  ca: { pem: Buffer | null; where: string };
  cert: { pem: Buffer | null; where: string };
  key: { pem: Buffer | null; where: string; embedded: boolean };
  /** CN of the client certificate, when it parses: matches a kubeconfig to the catalog by its user. */
  cn: string | null;
}

export interface KeyFile {
  file: string;
  mode: number;
  key: KeyObject | null;
  /** Encrypted (the root CA's key): check cannot open it, and does not try. */
  encrypted?: boolean;
}

/** Relative paths of certificate, kubeconfig and private key candidates below `outDir` (backups and temporary files skipped); `all`: every file. */
export async function scanFolder(outDir: string, alsoIfPresent: readonly string[]): Promise<{ certs: string[]; kubeconfigs: string[]; keys: string[]; all: string[] }> {
  const files: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    for (const entry of await readdir(join(outDir, rel), { withFileTypes: true })) {
      const path = rel ? join(rel, entry.name) : entry.name;
      if (entry.isDirectory()) {
        if (!entry.name.startsWith('backup-') && entry.name !== TMP_DIR && !entry.name.startsWith('.')) await walk(path);
      } else if (entry.isFile() || entry.isSymbolicLink()) files.push(path);
    }
  };
  await walk('');
  for (const extra of alsoIfPresent.map(normalize)) {
    if (!files.includes(extra) && (await stat(join(outDir, extra)).catch(() => null))?.isFile()) files.push(extra);
  }
  return {
    certs: files.filter((f) => CERT_EXT.has(extname(f))).sort(),
    kubeconfigs: files.filter((f) => KUBECONFIG_EXT.has(extname(f))).sort(),
    keys: files.filter((f) => KEY_EXT.has(extname(f)) || f.endsWith('-key.pem')).sort(),
    all: files.sort(),
  };
}

const modeOf = async (path: string) => (await stat(path)).mode & 0o777;

/** Why a file cannot be read ("ENOENT: a dangling symbolic link"), for an `unreadable` problem. */
export function readErrorText(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'cannot be read (ENOENT: a dangling symbolic link, or removed while checking)';
  return `cannot be read (${code ?? (err as Error).message})`;
}

/** Reads a certificate file; a .pem without a certificate in it (a key) is skipped (null); a file that cannot be read is a row with an error. */
export async function loadCert(outDir: string, file: string): Promise<LoadedCert | null> {
  const path = join(outDir, file);
  let pem: Buffer;
  let mode: number;
  try {
    [pem, mode] = await Promise.all([readFile(path), modeOf(path)]);
  } catch (err) {
    return { file, mode: 0, pem: Buffer.alloc(0), facts: null, ext: null, error: readErrorText(err) };
  }
  if (extname(file) !== '.crt' && !pem.includes('-----BEGIN CERTIFICATE-----')) return null;
  try {
    const facts = certFacts(pem);
    try {
      return { file, mode, pem, facts, ext: certExtensions(facts.cert) };
    } catch (err) {
      return { file, mode, pem, facts, ext: null, error: `its extensions cannot be parsed (${(err as Error).message})` };
    }
  } catch {
    return { file, mode, pem, facts: null, ext: null, error: 'not a readable PEM certificate' };
  }
}

/** The key of a certificate file: the catalog's path, else base.key or base-key.pem (cfssl) next to it. */
export async function findKey(outDir: string, certFile: string, catalogKey: string | null): Promise<KeyFile | null> {
  const base = certFile.slice(0, certFile.length - extname(certFile).length);
  const candidates = catalogKey ? [catalogKey] : [`${base}.key`, `${base}-key.pem`];
  for (const file of candidates) {
    const pem = await readIfExists(join(outDir, file));
    if (!pem) continue;
    const key = privateKey(pem);
    return { file, mode: await modeOf(join(outDir, file)), key, ...(!key && isEncryptedKey(pem) ? { encrypted: true } : {}) };
  }
  return null;
}

type Yaml = Record<string, unknown>;
const isMap = (v: unknown): v is Yaml => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown) => (typeof v === 'string' ? v : null);

function named(list: unknown, name: string | null, field: string): Yaml | null {
  if (!Array.isArray(list)) return null;
  const entry = list.find((e) => isMap(e) && (name === null || e.name === name)) ?? list[0];
  return isMap(entry) && isMap(entry[field]) ? entry[field] : null;
}

/**
 * Parses a kubeconfig (null when the file is not one, e.g. an openssl .conf); paths it names are
 * relative to its folder. A file that cannot be read throws (the caller reports it as unreadable).
 */
export async function loadKubeconfig(outDir: string, file: string): Promise<LoadedKubeconfig | null> {
  const path = join(outDir, file);
  const text = await readFile(path, 'utf8');
  let doc: unknown;
  try {
    doc = parse(text);
  } catch {
    return null;
  }
  if (!isMap(doc) || !Array.isArray(doc.clusters) || !Array.isArray(doc.users)) return null;
  const context = named(doc.contexts, str(doc['current-context']), 'context');
  const cluster = named(doc.clusters, str(context?.cluster), 'cluster');
  const user = named(doc.users, str(context?.user), 'user');
  const material = async (section: Yaml | null, field: string) => {
    const data = str(section?.[`${field}-data`]);
    if (data) return { pem: Buffer.from(data, 'base64'), where: `${field}-data`, embedded: true };
    const ref = str(section?.[field]);
    if (ref) return { pem: await readIfExists(join(dirname(path), ref)), where: `${field} ${ref}`, embedded: false };
    return { pem: null, where: `${field}-data`, embedded: false };
  };
  const [ca, cert, key] = await Promise.all([
    material(cluster, 'certificate-authority'),
    material(user, 'client-certificate'),
    material(user, 'client-key'),
  ]);
  let cn: string | null = null;
  try {
    cn = cert.pem ? certFacts(cert.pem).cn : null;
  } catch {
    /* reported by the kubeconfig rules */
  }
  return { file, mode: await modeOf(path).catch(() => 0), server: str(cluster?.server), ca, cert, key, cn };
}

/** Parses a PEM certificate; null when it is not one. */
export function tryCert(pem: Buffer | null): X509Certificate | null {
  try {
    return pem ? new X509Certificate(pem) : null;
  } catch {
    return null;
  }
}
