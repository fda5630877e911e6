// Encryption of Secrets at rest (kube-apiserver --encryption-provider-config), as plain data: the
// providers kube-pki writes, the file's name, and what a rotation phase is (docs/encryption.md).

/** The providers of "Encrypting Confidential Data at Rest" that take a 32-byte key kube-pki can draw. */
export const ENCRYPTION_PROVIDERS = ['aescbc', 'aesgcm', 'secretbox'] as const;
export type EncryptionProvider = (typeof ENCRYPTION_PROVIDERS)[number];

/** Every provider's key is 32 bytes (AES-256; XSalsa20-Poly1305), drawn by `openssl rand`. */
export const ENCRYPTION_KEY_BYTES = 32;

/** The instance name of the encryption configuration in plans, checks and placements. */
export const ENCRYPTION_CONFIG = 'encryption-config';

/** Keys are named key1, key2, …: the highest number is the newest (what a rotation phase is read from). */
export const keyName = (n: number): string => `key${n}`;
export const keyNumber = (name: string): number | null => (/^key([1-9][0-9]{0,5})$/.exec(name) ? Number(name.slice(3)) : null);

/**
 * A key of a configuration as a step names it: a fresh one (drawn when the step runs), or one taken
 * from the configuration file in the folder by its name. Never the secret itself: plans are printed.
 */
export type EncryptionKeyRef = { name: string; fresh: true } | { name: string; from: string };

/** The EncryptionConfiguration of one cluster: its single source and where each node's copy is. */
export interface EncryptionInstance {
  name: typeof ENCRYPTION_CONFIG;
  provider: EncryptionProvider;
  /** The file, relative to the output folder (node trees: the source in _cluster/). */
  path: string;
  /** Node trees: the copy in each control plane's tree; flat: none (the file itself is sent). */
  copies: { node: string; path: string }[];
  /** The nodes that receive it: the control planes (kube-apiserver runs there). */
  nodes: string[];
}

/**
 * rotate-encryption-key's phases, read from the file: keys [old] → start [old, new] (new decrypts only)
 * → promote [new, old] (new encrypts) → finish [new]. The newest key is the one with the highest number.
 */
export const ENCRYPTION_PHASES = ['start', 'promote', 'finish'] as const;
export type EncryptionPhase = (typeof ENCRYPTION_PHASES)[number];
