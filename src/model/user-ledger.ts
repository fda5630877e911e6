// The ledger of user certificates (`kube-pki kubeconfig user`): kube-apiserver cannot revoke a client
// certificate, so the PKI folder keeps a list of those it signed, for `check` to show until they expire.

/** The ledger's file, at the top of the PKI folder. */
export const USER_LEDGER_FILE = 'users.json';

export interface UserCertEntry {
  /** Hex, as openssl prints it. */
  serial: string;
  name: string;
  groups: string[];
  notBefore: string;
  notAfter: string;
  /** The signing CA: its file in the PKI folder, subject and SHA-256 fingerprint (never a key). */
  issuer: { file: string; subject: string; fingerprint256: string };
  issuedAt: string;
}

export interface UserLedger {
  version: 1;
  users: UserCertEntry[];
}
