/** File modes of the PKI, locally and on nodes: private keys and kubeconfigs, certificates, folders. */
export const MODE = { secret: 0o600, public: 0o644, dir: 0o700 } as const;

/** The runner's private folder for half-made files under the output folder; never part of the PKI. */
export const TMP_DIR = '.kube-pki-tmp';

/**
 * Names at the top of an output folder that kube-pki keeps for itself, whatever follows: its lock,
 * temporary folder and records (.kube-pki*), its backups (backup-<time>/).
 */
export const OWN_PREFIXES = ['.kube-pki', 'backup-'] as const;

/**
 * The public keys (SHA-256 of the SPKI) of the CAs whose key this output folder held: a CA key that
 * kube-pki saw here and that is gone is lost, not an external CA's (inspect/held-keys.ts).
 */
export const HELD_KEYS_RECORD = '.kube-pki-ca-keys.json';

/**
 * renew's record of its last success, in the output folder: check --format prometheus reports it
 * (kube_pki_last_renewal_success_timestamp_seconds) so an alert can see an unattended renewal stall.
 */
export const RENEWAL_RECORD = '.kube-pki-renewal.json';
