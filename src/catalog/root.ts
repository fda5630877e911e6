import type { CertSpec } from '../model/catalog.js';

// The single root CA of the "単一ルート認証局" section of the kubeadm PKI page (README "A root CA"):
// `rootCA:` in the description. It signs the catalog's CAs, which become intermediates (pathlen:0);
// its files stay at the top of the output folder, in no node's tree and in no kubeconfig.

export const ROOT_CA_ID = 'root-ca';

/** The root's files, relative to the output folder, in both profiles. */
export const ROOT_CA_FILE = 'root-ca';

/** The intermediates may sign leaves only: no CA below them. */
export const INTERMEDIATE_PATHLEN = 0;

export const rootCaSpec: CertSpec = {
  id: ROOT_CA_ID,
  scope: 'cluster',
  file: () => ROOT_CA_FILE,
  cn: () => 'kubernetes-root-ca',
  kind: 'ca',
  // No crtTo/keyTo: nothing places it on a node; distribute refuses its key by content, too.
  uses: [],
  explain: {
    purpose:
      'The single root CA, kept by the administrator: it signs the cluster\'s CAs as intermediates (pathlen:0, so they ' +
      'sign leaves only) and nothing else. Its key is encrypted at rest (or never leaves a PKCS#11 token: rootCA.pkcs11), never copied into a node\'s tree, never distributed, ' +
      'never in a kubeconfig; gen needs it (and its passphrase or PIN) only to make or replace an intermediate. Its certificate is ' +
      'the anchor for OpenSSL-based tools (openssl verify -CAfile root-ca.crt -untrusted <intermediate>); the components ' +
      'trust only their own intermediate, so one CA\'s certificates never open another\'s door.',
    subject: 'The CN (rootCA.commonName) only names the root; nothing authorizes on it.',
  },
};
