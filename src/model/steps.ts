import type { EncryptionKeyRef, EncryptionProvider } from './encryption.js';

/**
 * Steps are data: the executor runs them, `script` prints them as bash, `--dry-run` lists them.
 * File arguments are symbolic so that each consumer can place files where it needs them:
 *   { in: P }   an existing file of the PKI, P relative to the output folder;
 *   { out: P }  this item's own new version of P (the executor keeps it in a private temporary
 *               folder until the `install` step renames it into place);
 *   { serial }  a fresh random serial number;
 *   { passphrase } the root CA key's passphrase as openssl reads it from a file ("file:PATH"): the
 *               executor names the file the user gave, the script the file KUBE_PKI_CA_PASSPHRASE_FILE
 *               names. The passphrase itself is never an argument.
 *   { token }   the root CA key in a PKCS#11 token, by its URI (rootCA.pkcs11.uri): openssl signs
 *               through its pkcs11 engine, which gets the module and the PIN from a configuration
 *               the executor (or the script) hands it on file descriptor 3. No PIN in the URI.
 *   { notBefore } the certificate's start, BACKDATE_MS before the moment it is signed, as openssl ca's
 *               -startdate reads it (YYYYMMDDHHMMSSZ): the executor computes it when the step runs,
 *               the script once at its top ($KUBE_PKI_NOT_BEFORE).
 *   { caConfig } `openssl ca`'s own configuration file (its database in a private temporary folder):
 *               the executor writes it in the step's folder, the script in its temporary folder.
 */
export type Arg = string | { in: string } | { out: string } | { serial: true } | { passphrase: true } | { token: string } | { notBefore: true } | { caConfig: true };

export const NOT_BEFORE: Arg = { notBefore: true };
export const CA_CONFIG: Arg = { caConfig: true };

export const PASSPHRASE: Arg = { passphrase: true };

/** Does the step need the root key's passphrase? */
export const usesPassphrase = (step: Step): boolean => step.op === 'openssl' && step.args.some((a) => typeof a === 'object' && 'passphrase' in a);

/** Does the step sign with the root key in a PKCS#11 token (and so need its PIN)? */
export const usesToken = (step: Step): boolean => step.op === 'openssl' && step.args.some((a) => typeof a === 'object' && 'token' in a);

export type Step =
  | { op: 'write'; file: string; content: string }
  | { op: 'openssl'; args: Arg[] }
  | { op: 'install'; file: string; mode: number }
  | { op: 'backup'; file: string }
  | { op: 'kubeconfig'; file: string; kubeconfig: KubeconfigSource }
  | { op: 'copy'; from: string; to: string; mode: number }
  /**
   * CA certificates of the PKI as one PEM trust bundle (src/util/pem.ts: each file ending in one
   * newline), read back to exactly their certificates before it is installed.
   */
  | { op: 'concat'; from: string[]; to: string; mode: number }
  /**
   * An EncryptionConfiguration (docs/encryption.md) written 0600 to this item's new `file`: its keys are
   * fresh ones (openssl rand) or taken by name from a configuration in the folder, never in the plan.
   */
  | { op: 'encryption-config'; file: string; provider: EncryptionProvider; keys: EncryptionKeyRef[] }
  /** Removes a file of the PKI (backed up first by a 'backup' step when it is the only copy). */
  | { op: 'remove'; file: string };

/** What a kubeconfig is made of: names, server, and the PKI files whose contents it embeds. */
export interface KubeconfigSource {
  clusterName: string;
  contextName: string;
  userName: string;
  server: string;
  caFile: string;
  certFile: string;
  keyFile: string;
}

export type ItemGroup = 'ca' | 'cert' | 'keypair' | 'kubeconfig';

/** create: new files; reissue: a new certificate for a kept key; keep: nothing to do; stale: left as is although it no longer matches (needs --force). */
export type Action = 'create' | 'reissue' | 'keep' | 'stale';

export interface PlanItem {
  name: string;
  group: ItemGroup;
  action: Action;
  /** Why the action was chosen, for the user ("key kept", "SAN 192.168.5.13 missing"). */
  reasons: string[];
  /** Items whose files must be in place before `steps` run. */
  needs: string[];
  /** Steps that depend on nothing (key generation): they may start at once. */
  keySteps: Step[];
  steps: Step[];
  /** Files this item puts in the output folder. */
  outputs: string[];
  /** What the user should know although nothing failed (a validity capped to its CA's). */
  warnings?: string[];
}

export interface Plan {
  profile: string;
  items: PlanItem[];
  /**
   * Under rootCA: CA certificates in the folder that are not the root's (self-signed, from before
   * `rootCA`). Putting the root over them is a CA replacement: gen refuses without --replace-ca.
   */
  rootless?: string[];
}

