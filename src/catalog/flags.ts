import { userInfo } from 'node:os';
import { posix } from 'node:path';
import type { Cluster, ClusterNode } from '../model/cluster.js';
import type { Catalog, FlagUse, KubeconfigUse } from '../model/catalog.js';
import { bootstrapKubeconfigOnNode, bootstrapWorkers, isBootstrapNode } from './bootstrap.js';
import { ENCRYPTION_FLAG, encryptionNodePath } from './encryption.js';

/** One flag of a component and the file it names on the node. */
export interface ComponentFlag {
  flag: string;
  path: string;
  /** Set when the file differs from node to node (hardway's <worker>.crt): the node it is for. */
  node?: string;
}

/**
 * Where kube-pki distribute puts a node's files when the description does not say (ssh.remoteDir):
 * the login user's ~/pki for the hard way (the lab copies to the home folder, no sudo), kubeadm's
 * /etc/kubernetes. The same as distribute's DEFAULT_REMOTE_DIR (test/flags-folder.test.ts keeps them
 * equal), so that the flags name the files where they land.
 */
export const DEFAULT_NODE_DIR = { hardway: '~/pki', kubeadm: '/etc/kubernetes' } as const;

export interface NodeFolder {
  /** Absolute: what the components' flags name. */
  dir: string;
  /** Where it comes from, for the reader. */
  from: string;
}

/**
 * The folder of the PKI files on a node, as distribute fills it: ssh.remoteDir, else the profile's
 * default; one under the login folder is taken in the SSH user's home (ssh.user, else the local user
 * name, as distribute logs in), /home/USER or /root.
 */
export function nodeFolder(cluster: Cluster, localUser = userInfo().username): NodeFolder {
  const set = cluster.ssh?.remoteDir;
  const remote = set ?? DEFAULT_NODE_DIR[cluster.profile];
  const why = set ? `ssh.remoteDir ${remote} in ${cluster.source}` : `kube-pki distribute's default for the ${cluster.profile} profile, ${remote}`;
  if (posix.isAbsolute(remote)) return { dir: posix.normalize(remote), from: why };
  const user = cluster.ssh?.user ?? localUser;
  const home = user === 'root' ? '/root' : `/home/${user}`;
  const userFrom = cluster.ssh?.user ? 'ssh.user' : 'the local user name, as distribute logs in without ssh.user';
  return { dir: posix.join(home, remote.replace(/^~\/?/, '')), from: `${why}, in the home folder of ${user} (${userFrom}), taken to be ${home}` };
}

/** Components in the order a learner sets them up; any other component follows in catalog order. */
const ORDER = ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'etcd', 'etcdctl', 'kubelet', 'kube-proxy', 'kubectl'];

const EXTENSION = { crt: '.crt', key: '.key', pub: '.pub' } as const;

/** A `uses` entry: which component flag reads which file, the file being named per node. */
type Entry = { uses: readonly (FlagUse | KubeconfigUse)[]; nodes: (ClusterNode | undefined)[]; file: (node: ClusterNode | undefined, use: FlagUse | KubeconfigUse) => string };

const extension = (use: FlagUse | KubeconfigUse) => ('part' in use ? EXTENSION[use.part] : '');

/**
 * The flags of every component that reads a file of the PKI (catalog `uses`), with the file's path
 * on the node: `dir` joined with the catalog's file name (kubeadm: the path inside /etc/kubernetes).
 */
export function componentFlags(catalog: Catalog, cluster: Cluster, dir: string): Map<string, ComponentFlag[]> {
  // A bootstrap worker gets no file of a per-node row: the cluster signs its certificates.
  const perNode = (scope: 'cluster' | 'node', roles: readonly string[] | undefined) =>
    scope === 'cluster' ? [undefined] : cluster.nodes.filter((n) => (!roles || roles.includes(n.role)) && !isBootstrapNode(n));
  // With bootstrap workers beside them, a per-node file is always named with its node: one path printed
  // without a node would read as every worker's.
  const tagAlways = bootstrapWorkers(cluster).length > 0;
  const entries: Entry[] = [
    ...catalog.certs.map((spec): Entry => ({
      uses: spec.uses ?? [],
      nodes: perNode(spec.scope, spec.roles),
      file: (n, u) => spec.file(n) + extension(u),
    })),
    ...catalog.keyPairs.map((spec): Entry => ({
      uses: spec.uses ?? [],
      nodes: [undefined],
      file: (_n, u) => spec.file + extension(u),
    })),
    ...catalog.kubeconfigs.map((spec): Entry => ({ uses: spec.uses ?? [], nodes: perNode(spec.scope, spec.roles), file: (n, u) => spec.file(n) + extension(u) })),
  ];
  const flags = new Map<string, ComponentFlag[]>();
  for (const entry of entries) {
    for (const use of entry.uses) {
      const list = flags.get(use.component) ?? [];
      const paths = entry.nodes.map((n) => ({ n, path: posix.join(dir, entry.file(n, use)) }));
      const same = new Set(paths.map((p) => p.path)).size <= 1 && !(tagAlways && entry.nodes.some((n) => n));
      for (const { n, path } of same ? paths.slice(0, 1) : paths) list.push({ flag: use.flag, path, ...(!same && n ? { node: n.name } : {}) });
      flags.set(use.component, list);
    }
  }
  for (const n of bootstrapWorkers(cluster)) {
    const list = flags.get('kubelet') ?? [];
    list.push({ flag: '--bootstrap-kubeconfig', path: posix.join(dir, bootstrapKubeconfigOnNode(cluster)), node: n.name });
    flags.set('kubelet', list);
  }
  // The EncryptionConfiguration (description `encryption`): not a certificate, but a flag of the same files.
  if (cluster.encryption) {
    const list = flags.get(ENCRYPTION_FLAG.component) ?? [];
    list.push({ flag: ENCRYPTION_FLAG.flag, path: posix.join(dir, encryptionNodePath(cluster)) });
    flags.set(ENCRYPTION_FLAG.component, list);
  }
  const rank = (c: string) => (ORDER.includes(c) ? ORDER.indexOf(c) : ORDER.length);
  return new Map([...flags].sort(([a], [b]) => rank(a) - rank(b)));
}
