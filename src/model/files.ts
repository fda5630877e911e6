/** File modes of the PKI, locally and on nodes: private keys and kubeconfigs, certificates, folders. */
export const MODE = { secret: 0o600, public: 0o644, dir: 0o700 } as const;

/** The runner's private folder for half-made files under the output folder; never part of the PKI. */
export const TMP_DIR = '.kube-pki-tmp';

/**
 * renew's record of its last success, in the output folder: check --format prometheus reports it
 * (kube_pki_last_renewal_success_timestamp_seconds) so an alert can see an unattended renewal stall.
 */
export const RENEWAL_RECORD = '.kube-pki-renewal.json';
