import { parseDocument } from 'yaml';
import { ENCRYPTION_KEY_BYTES, ENCRYPTION_PROVIDERS, keyNumber, type EncryptionProvider } from '../model/encryption.js';

// The EncryptionConfiguration file (apiserver.config.k8s.io/v1) as kube-pki writes and reads it: one
// resource (secrets), one provider with its keys (the first encrypts, all decrypt), then identity so
// that Secrets written before encryption was turned on stay readable ("Encrypting Confidential Data at
// Rest", kubernetes.io). Pure text in, text out: the secrets never reach a message.

export interface EncryptionKey {
  name: string;
  /** Base64 of the key's bytes, as the file holds it. */
  secret: string;
}

export interface EncryptionConfig {
  provider: EncryptionProvider;
  keys: EncryptionKey[];
}

/** The file's text; keys in this order (the first encrypts). */
export function renderEncryptionConfig(config: EncryptionConfig): string {
  return [
    'apiVersion: apiserver.config.k8s.io/v1',
    'kind: EncryptionConfiguration',
    'resources:',
    '  - resources:',
    '      - secrets',
    '    providers:',
    `      - ${config.provider}:`,
    '          keys:',
    ...config.keys.flatMap((k) => [`            - name: ${k.name}`, `              secret: ${k.secret}`]),
    '      - identity: {}',
    '',
  ].join('\n');
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** What is wrong with a key for its provider (never showing it): null when it is a right one. */
export function keyProblem(key: EncryptionKey): string | null {
  if (keyNumber(key.name) === null) return `key name ${JSON.stringify(key.name.slice(0, 40))} is not key<N> as kube-pki names keys`;
  if (!BASE64.test(key.secret)) return `key ${key.name}: the secret is not base64`;
  const bytes = Buffer.from(key.secret, 'base64').length;
  if (bytes !== ENCRYPTION_KEY_BYTES) return `key ${key.name}: ${bytes} bytes, not ${ENCRYPTION_KEY_BYTES} (AES-256 / secretbox take 32)`;
  return null;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Reads a configuration as kube-pki writes it; a file of another shape (several resources, other
 * providers, no identity at the end) is an error naming what differs, so that a rotation never
 * rewrites a configuration it does not understand. Messages never quote a secret.
 */
export function parseEncryptionConfig(text: string): EncryptionConfig | { error: string } {
  const doc = parseDocument(text, { uniqueKeys: true });
  if (doc.errors.length) return { error: 'not readable YAML' };
  const raw: unknown = doc.toJS();
  if (!isRecord(raw)) return { error: 'not a YAML mapping' };
  if (raw.apiVersion !== 'apiserver.config.k8s.io/v1' || raw.kind !== 'EncryptionConfiguration')
    return { error: 'not an EncryptionConfiguration of apiserver.config.k8s.io/v1' };
  const resources = raw.resources;
  if (!Array.isArray(resources) || resources.length !== 1 || !isRecord(resources[0])) return { error: 'resources: kube-pki writes exactly one entry (secrets)' };
  const entry = resources[0];
  if (!Array.isArray(entry.resources) || entry.resources.length !== 1 || entry.resources[0] !== 'secrets') return { error: 'resources[0].resources: must be [secrets]' };
  const providers = entry.providers;
  if (!Array.isArray(providers) || providers.length !== 2) return { error: 'resources[0].providers: must be one provider followed by identity' };
  const [first, last] = providers as unknown[];
  if (!isRecord(last) || Object.keys(last).join() !== 'identity') return { error: 'resources[0].providers: the last one must be identity: {}' };
  if (!isRecord(first) || Object.keys(first).length !== 1) return { error: 'resources[0].providers[0]: must be one of ' + ENCRYPTION_PROVIDERS.join(', ') };
  const provider = Object.keys(first)[0] as EncryptionProvider;
  if (!ENCRYPTION_PROVIDERS.includes(provider)) return { error: `resources[0].providers[0]: ${JSON.stringify(provider.slice(0, 40))} is not one of ${ENCRYPTION_PROVIDERS.join(', ')}` };
  const body = first[provider];
  if (!isRecord(body) || !Array.isArray(body.keys) || body.keys.length === 0) return { error: `${provider}.keys: must list at least one key` };
  const keys: EncryptionKey[] = [];
  for (const [i, k] of (body.keys as unknown[]).entries()) {
    if (!isRecord(k) || typeof k.name !== 'string' || typeof k.secret !== 'string') return { error: `${provider}.keys[${i}]: must have a name and a secret` };
    const key = { name: k.name, secret: k.secret };
    const problem = keyProblem(key);
    if (problem) return { error: `${provider}.keys[${i}]: ${problem}` };
    if (keys.some((x) => x.name === key.name)) return { error: `${provider}.keys[${i}]: the name ${key.name} is repeated` };
    keys.push(key);
  }
  return { provider, keys };
}

/** The newest key (highest number): the one a rotation added. */
export const newestKey = (config: EncryptionConfig): EncryptionKey => config.keys.reduce((a, b) => (keyNumber(b.name)! > keyNumber(a.name)! ? b : a));
