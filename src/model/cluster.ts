import type { EncryptionProvider } from './encryption.js';

// The cluster description as the rest of the code sees it: plain types, no validation here
// (src/cluster/ turns YAML into these through its zod schema, which takes its choices from below).

export const ROLES = ['controlplane', 'worker', 'loadbalancer'] as const;
export const PROFILES = ['hardway', 'kubeadm'] as const;
export const RSA_SIZES = [2048, 3072, 4096] as const;
export const CURVES = ['P-256', 'P-384'] as const;
/** Profile kubeadm: what kubeadm makes today (v1.29 and later), or the v1.27 layout of clusters made with it. */
export const KUBEADM_LAYOUTS = ['current', 'v1.27'] as const;

export type Role = (typeof ROLES)[number];
export type Profile = (typeof PROFILES)[number];
export type KubeadmLayout = (typeof KUBEADM_LAYOUTS)[number];
export type KeySpec = { algorithm: 'rsa'; size: (typeof RSA_SIZES)[number] } | { algorithm: 'ecdsa'; curve: (typeof CURVES)[number] };

/** How a node is reached over SSH (distribution); every field optional, defaults at the top level. */
export interface SshSettings {
  host?: string | undefined;
  port?: number | undefined;
  user?: string | undefined;
  identityFile?: string | undefined;
  hostKey?: string | undefined;
  remoteDir?: string | undefined;
  sudo?: boolean | undefined;
}

/** `rootCA:` in the description: a root CA over the cluster's CAs (README "A root CA"). */
export interface RootCaSettings {
  commonName: string;
  validityDays: number;
  encrypt: boolean;
  /** The root key lives in a PKCS#11 token (HSM, YubiKey, SoftHSM2), never in a file (docs/pkcs11.md). */
  pkcs11?: Pkcs11Settings | undefined;
}

/** Root keys a token is asked to make: what YubiKeys and network HSMs have in common. */
export const TOKEN_RSA_SIZES = [3072, 4096] as const;
export type TokenKeySpec = { algorithm: 'rsa'; size: (typeof TOKEN_RSA_SIZES)[number] } | { algorithm: 'ecdsa'; curve: (typeof CURVES)[number] };

/** `rootCA.pkcs11`: which module opens the token, which object is the root key, what kind of key it is. */
export interface Pkcs11Settings {
  /** The token's PKCS#11 module; absent: SoftHSM2's, where it is installed. */
  module?: string | undefined;
  /** RFC 7512 URI of the key: pkcs11:token=…;object=… (no PIN in it: that comes from --ca-pin-file). */
  uri: string;
  /** The key root init makes, and the kind a key found in the token must be. */
  key: TokenKeySpec;
}

/** Components `--restart` restarts and health-checks (their commands and health ports may be set in `restart:`). */
export const RESTART_COMPONENTS = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kubelet', 'kube-proxy'] as const;
export type RestartComponent = (typeof RESTART_COMPONENTS)[number];

/**
 * `restart:` (top level, and per node: the node's wins per component): how `--restart` restarts a
 * component (an argv run over SSH) and where its health endpoint is (address: the node's by default).
 */
export interface RestartSettings {
  commands?: Partial<Record<RestartComponent, string[]>> | undefined;
  ports?: Partial<Record<RestartComponent, number>> | undefined;
  /** Components not run there (or restarted by other means): neither restarted nor waited for. */
  skip?: RestartComponent[] | undefined;
  /** Where the health checks connect (node level only): default the node's address. */
  address?: string | undefined;
}

export interface ClusterNode {
  name: string;
  address: string;
  role: Role;
  ssh?: SshSettings;
  /**
   * A worker that joins by kubelet TLS bootstrap (docs/bootstrap.md): no key or certificate is made
   * for it centrally; it receives ca.crt and the bootstrap kubeconfig, and the cluster signs its own.
   * Resolved: `bootstrap:` of the node, else the description's `kubeletBootstrap`.
   */
  bootstrap?: boolean;
  /** The kubelet's root folder on the node (--root-dir; default /var/lib/kubelet): where it keeps what it obtains by bootstrap. */
  kubeletDir?: string;
  restart?: RestartSettings;
}

/** A validated cluster description with every default filled in. */
export interface Cluster {
  profile: Profile;
  /** Profile kubeadm only (default 'current'); absent for hardway. */
  kubeadmLayout?: KubeadmLayout;
  clusterDomain: string;
  serviceCIDR: string;
  /** First address of serviceCIDR: the in-cluster address of the apiserver. */
  serviceIP: string;
  apiServer: { endpoint: string; port: number; extraSANs: string[] };
  key: KeySpec;
  validityDays: { ca: number; leaf: number };
  /** The root CA that signs the cluster's CAs as intermediates; absent: self-signed CAs. */
  rootCA?: RootCaSettings;
  /** Secrets encrypted at rest by kube-apiserver with this provider (docs/encryption.md); absent: off. */
  encryption?: { provider: EncryptionProvider };
  /** CAs (catalog names) whose key is kept elsewhere on purpose: without their key they are external CAs, not lost keys. */
  externalCAs?: string[];
  nodes: ClusterNode[];
  ssh?: SshSettings;
  /** `kubeletBootstrap: true`: every worker joins by TLS bootstrap unless its own `bootstrap: false` says otherwise. */
  kubeletBootstrap?: boolean;
  restart?: RestartSettings;
  /** Where it came from, for messages: a file path or "(built-in lab default)". */
  source: string;
}
