import type { Cluster, ClusterNode, Role } from './cluster.js';

/** What a certificate is for; fixes its keyUsage, extendedKeyUsage and CA flag (see cert-matrix.md). */
export type CertKind = 'ca' | 'server' | 'client' | 'server-client';

/** Which nodes receive a file: nodes of these roles, or only the node the certificate belongs to. */
export type Placement = readonly Role[] | 'self';

/** A component flag that reads one of the certificate's files, for `flags` and `explain`. */
export interface FlagUse {
  component: string;
  flag: string;
  part: 'crt' | 'key' | 'pub';
}

export interface Explanation {
  /** Who uses it and for what, in a sentence or two. */
  purpose: string;
  /** Why the CN and O are what they are. */
  subject: string;
  /** What the SANs are for, when it has any. */
  sans?: string;
  /** What to take care of with it (who may hold it, what it needs first): check shows it as a note. */
  caution?: string;
}

/**
 * One row of the certificate table, like kubeadm's certlist.go: everything else (planner, script,
 * check, distribute, explain) reads these rows.
 */
export interface CertSpec {
  /** Catalog name, e.g. "kube-apiserver" or "kubelet" (one per worker). */
  id: string;
  /** "cluster": one certificate; "node": one per node with one of `roles`. */
  scope: 'cluster' | 'node';
  roles?: readonly Role[];
  /** File base name relative to the output folder, without .crt/.key. */
  file: (node: ClusterNode | undefined) => string;
  /** Catalog id of the signing CA; absent for a self-signed CA. */
  ca?: string;
  cn: (node: ClusterNode | undefined) => string;
  o?: readonly string[];
  kind: CertKind;
  /** Subject alternative names, IPs and DNS names mixed; validated values only. */
  sans?: (cluster: Cluster, node: ClusterNode | undefined) => string[];
  /** Which nodes get the certificate and the key when distributing. */
  crtTo?: Placement;
  keyTo?: Placement;
  uses?: readonly FlagUse[];
  explain: Explanation;
}

/** A bare key pair (kubeadm's sa.key / sa.pub): not a certificate. */
export interface KeyPairSpec {
  id: string;
  file: string;
  keyTo?: Placement;
  pubTo?: Placement;
  uses?: readonly FlagUse[];
  explain: Explanation;
}

/** A component flag that reads a kubeconfig file (e.g. kube-scheduler --kubeconfig). */
export type KubeconfigUse = Omit<FlagUse, 'part'>;

/** A kubeconfig file that embeds the CA and one client certificate. */
export interface KubeconfigSpec {
  id: string;
  scope: 'cluster' | 'node';
  roles?: readonly Role[];
  /** Only on the first node of `roles` in the description (kubeadm init's super-admin.conf; join makes none). */
  firstOnly?: boolean;
  file: (node: ClusterNode | undefined) => string;
  /** Catalog id of the client certificate it embeds (per-node certs: the same node's). */
  cert: string;
  /** The apiserver it talks to; `node`: the tree it lands in (kubeadm's LocalAPIEndpoint is that node's own). */
  server: (cluster: Cluster, node: ClusterNode | undefined) => string;
  clusterName: string;
  userName: (node: ClusterNode | undefined) => string;
  contextName: string;
  to?: Placement;
  /** The components that read it (`--kubeconfig`): who must restart when it changes, for `renew` and `explain`. */
  uses?: readonly KubeconfigUse[];
  explain: Explanation;
}

/**
 * Where the files go. 'flat': every file in the output folder under its `file` name (hardway).
 * 'node-trees': OUT/<node>/ mirrors that node's /etc/kubernetes, `file` being the path inside it;
 * a file several nodes share has its single source in OUT/_cluster/ and is copied into their trees
 * (crtTo/keyTo/pubTo/to say which), and a file no node receives (a client certificate that only
 * lives inside a kubeconfig) stays in OUT/_cluster/ (kubeadm).
 */
export type Layout = 'flat' | 'node-trees';

/** A ClusterRoleBinding the catalog's subjects rely on, applied once per cluster (`kube-pki manifests`). */
export interface BindingSpec {
  name: string;
  clusterRole: string;
  subject: { kind: 'Group' | 'User'; name: string };
  /** Why the cluster needs it, as a YAML comment. */
  why: string;
}

export interface Catalog {
  profile: Cluster['profile'];
  /** Profile kubeadm: which kubeadm's layout the tables follow. */
  kubeadmLayout?: Cluster['kubeadmLayout'];
  /** Default 'flat'. */
  layout?: Layout;
  certs: readonly CertSpec[];
  keyPairs: readonly KeyPairSpec[];
  kubeconfigs: readonly KubeconfigSpec[];
  /** RBAC the certificates need beyond the built-in bindings; none: nothing to apply. */
  bindings?: readonly BindingSpec[];
}
