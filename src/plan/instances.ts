import type { Cluster, ClusterNode, KeySpec } from '../cluster/load.js';
import type { Catalog, CertSpec, KeyPairSpec, KubeconfigSpec, Placement } from '../catalog/types.js';
import { usagesFor, type Usages } from '../catalog/usages.js';
import { canonicalIp } from '../util/ip.js';
import { isIpAddress } from '../cluster/names.js';
import { ValidationError } from '../errors.js';
import { MODE } from './steps.js';

export interface SanSet {
  dns: string[];
  ip: string[];
}

/** One concrete certificate: a catalog row applied to the cluster (and to one node if per-node). */
export interface CertInstance {
  /** Unique name: the catalog id, or the node name for per-node rows ("worker-1"). */
  name: string;
  spec: CertSpec;
  node?: ClusterNode;
  keyPath: string;
  certPath: string;
  /** Instance name of the signing CA; absent for a self-signed CA. */
  caName?: string;
  /** The signing CA's files. */
  ca?: { certPath: string; keyPath: string };
  subject: { cn: string; o: string[] };
  sans: SanSet;
  usages: Usages;
  days: number;
  key: KeySpec;
}

export interface KeyPairInstance {
  name: string;
  spec: KeyPairSpec;
  keyPath: string;
  pubPath: string;
  key: KeySpec;
}

export interface KubeconfigInstance {
  name: string;
  spec: KubeconfigSpec;
  node?: ClusterNode;
  path: string;
  certName: string;
  caName: string;
  server: string;
  clusterName: string;
  userName: string;
  contextName: string;
}

/** One file of a copy: a shared file's single source and its place in one node's tree. */
export interface CopyFile {
  part: 'crt' | 'key' | 'pub';
  from: string;
  to: string;
  mode: number;
}

/**
 * A shared certificate or key pair copied into one node's tree (layout 'node-trees'): the files of
 * `source` that this node receives, by its crtTo/keyTo/pubTo placement.
 */
export interface CopyInstance {
  /** "<node>/<catalog id>", e.g. "master-2/ca". */
  name: string;
  /** Instance name of the certificate or key pair copied. */
  source: string;
  group: 'ca' | 'cert' | 'keypair';
  node: ClusterNode;
  files: CopyFile[];
}

export interface Instances {
  certs: CertInstance[];
  keyPairs: KeyPairInstance[];
  kubeconfigs: KubeconfigInstance[];
  /** Copies of shared files into node trees; empty for the flat layout. */
  copies: CopyInstance[];
}

/**
 * Layout 'node-trees': the folder that holds the single source of every shared file and the files
 * no node receives. Node names are DNS-1123 names, which cannot start with "_": never a node's tree.
 */
export const SHARED_DIR = '_cluster';

function nodesFor(cluster: Cluster, scope: 'cluster' | 'node', roles: readonly string[] | undefined) {
  if (scope === 'cluster') return [undefined];
  return cluster.nodes.filter((n) => !roles || roles.includes(n.role));
}

const placedOn = (placement: Placement | undefined, node: ClusterNode) => placement !== undefined && placement !== 'self' && placement.includes(node.role);

/**
 * Splits SAN values into DNS names and canonical IPs, dropping repeats but keeping first-seen order.
 * DNS names are case-insensitive: "Kubernetes" repeats "kubernetes" and is dropped.
 */
export function sanSet(values: string[]): SanSet {
  const dns: string[] = [];
  const ip: string[] = [];
  for (const v of values) {
    if (isIpAddress(v)) {
      const c = canonicalIp(v)!;
      if (!ip.includes(c)) ip.push(c);
    } else if (!dns.some((d) => d.toLowerCase() === v.toLowerCase())) dns.push(v);
  }
  return { dns, ip };
}

export function resolveInstances(catalog: Catalog, cluster: Cluster): Instances {
  const trees = catalog.layout === 'node-trees';
  // Flat: per-node entries are named after their node ("worker-1"); trees: "<node>/<id>".
  const instanceName = (id: string, node?: ClusterNode) => (node ? (trees ? `${node.name}/${id}` : node.name) : id);
  // Trees: a file only its own node receives lives in that node's tree; the rest in SHARED_DIR.
  const certBase = (spec: CertSpec, node?: ClusterNode) =>
    !trees ? spec.file(node) : node && spec.crtTo === 'self' ? `${node.name}/${spec.file(node)}` : `${SHARED_DIR}/${spec.file(node)}`;
  const byId = new Map(catalog.certs.map((s) => [s.id, s]));

  const certs = catalog.certs.flatMap((spec) =>
    nodesFor(cluster, spec.scope, spec.roles).map((node): CertInstance => {
      const base = certBase(spec, node);
      const caSpec = spec.ca ? byId.get(spec.ca) : undefined;
      if (spec.ca && (!caSpec || caSpec.scope !== 'cluster')) throw new Error(`catalog: ${spec.id} names CA ${spec.ca}, not a cluster CA`);
      return {
        name: instanceName(spec.id, node),
        spec,
        ...(node ? { node } : {}),
        keyPath: `${base}.key`,
        certPath: `${base}.crt`,
        ...(caSpec ? { caName: caSpec.id, ca: { certPath: `${certBase(caSpec)}.crt`, keyPath: `${certBase(caSpec)}.key` } } : {}),
        subject: { cn: spec.cn(node), o: [...(spec.o ?? [])] },
        sans: sanSet(spec.sans ? spec.sans(cluster, node) : []),
        usages: usagesFor(spec.kind, cluster.key),
        days: spec.kind === 'ca' ? cluster.validityDays.ca : cluster.validityDays.leaf,
        key: cluster.key,
      };
    }),
  );

  const keyPairs = catalog.keyPairs.map((spec): KeyPairInstance => {
    const base = trees ? `${SHARED_DIR}/${spec.file}` : spec.file;
    return { name: spec.id, spec, keyPath: `${base}.key`, pubPath: `${base}.pub`, key: cluster.key };
  });

  const kubeconfigs = catalog.kubeconfigs.flatMap((spec) =>
    kubeconfigNodes(cluster, spec, trees).map((node): KubeconfigInstance => {
      const cert = certs.find((c) => c.spec.id === spec.cert && (!c.node || c.node.name === node?.name));
      if (!cert?.caName) throw new Error(`catalog: kubeconfig ${spec.id} needs a signed certificate ${spec.cert}`);
      return {
        name: trees ? `${node!.name}/${spec.file(node)}` : `${instanceName(spec.id, node)}.kubeconfig`,
        spec,
        ...(node ? { node } : {}),
        path: trees ? `${node!.name}/${spec.file(node)}` : spec.file(node),
        certName: cert.name,
        caName: cert.caName,
        server: spec.server(cluster),
        clusterName: spec.clusterName,
        userName: spec.userName(node),
        contextName: spec.contextName,
      };
    }),
  );

  const copies = trees ? sharedCopies(cluster, certs, keyPairs) : [];

  assertDistinctPaths(cluster, [
    ...certs.flatMap((c) => [{ path: c.keyPath, node: c.node }, { path: c.certPath, node: c.node }]),
    ...keyPairs.flatMap((k) => [{ path: k.keyPath }, { path: k.pubPath }]),
    ...kubeconfigs.map((k) => ({ path: k.path, node: k.node })),
    ...copies.flatMap((c) => c.files.map((f) => ({ path: f.to, node: c.node }))),
  ]);
  // Item names key the plan (what each item needs, the progress lines): a node named like another
  // item (a worker "admin.kubeconfig" next to the admin kubeconfig) would make two items one.
  assertDistinct(
    cluster,
    [
      ...certs.map((c) => ({ path: c.name, node: c.node })),
      ...keyPairs.map((k) => ({ path: k.name })),
      ...kubeconfigs.map((k) => ({ path: k.name, node: k.node })),
      ...copies.map((c) => ({ path: c.name, node: c.node })),
    ],
    'would be named like',
    'another item of the PKI',
  );
  return { certs, keyPairs, kubeconfigs, copies };
}

/** Flat: one kubeconfig per cluster entry. Trees: a cluster entry goes into every tree its `to` names. */
function kubeconfigNodes(cluster: Cluster, spec: KubeconfigSpec, trees: boolean): (ClusterNode | undefined)[] {
  if (!trees || spec.scope === 'node') return nodesFor(cluster, spec.scope, spec.roles);
  return cluster.nodes.filter((n) => placedOn(spec.to, n));
}

/** The copies of shared certificates and key pairs into the trees of the nodes that receive them. */
function sharedCopies(cluster: Cluster, certs: CertInstance[], keyPairs: KeyPairInstance[]): CopyInstance[] {
  const inTree = (path: string) => path.slice(SHARED_DIR.length + 1);
  type Part = { part: CopyFile['part']; placement: Placement | undefined; path: string; mode: number };
  const sources: { name: string; id: string; group: CopyInstance['group']; parts: Part[] }[] = [
    ...certs
      .filter((c) => !c.node)
      .map((c) => ({
        name: c.name,
        id: c.spec.id,
        group: c.caName ? ('cert' as const) : ('ca' as const),
        parts: [
          { part: 'crt' as const, placement: c.spec.crtTo, path: c.certPath, mode: MODE.public },
          { part: 'key' as const, placement: c.spec.keyTo, path: c.keyPath, mode: MODE.secret },
        ],
      })),
    ...keyPairs.map((k) => ({
      name: k.name,
      id: k.spec.id,
      group: 'keypair' as const,
      parts: [
        { part: 'key' as const, placement: k.spec.keyTo, path: k.keyPath, mode: MODE.secret },
        { part: 'pub' as const, placement: k.spec.pubTo, path: k.pubPath, mode: MODE.public },
      ],
    })),
  ];
  return sources.flatMap((source) =>
    cluster.nodes.flatMap((node): CopyInstance[] => {
      const files = source.parts
        .filter((p) => placedOn(p.placement, node))
        .map((p) => ({ part: p.part, from: p.path, to: `${node.name}/${inTree(p.path)}`, mode: p.mode }));
      return files.length ? [{ name: `${node.name}/${source.id}`, source: source.name, group: source.group, node, files }] : [];
    }),
  );
}

/** A node named like another file (a worker called "admin" or "ca") would overwrite it: refuse. */
function assertDistinctPaths(cluster: Cluster, files: { path: string; node?: ClusterNode | undefined }[]): void {
  assertDistinct(cluster, files, 'would write', 'which another file of the PKI already uses');
}

function assertDistinct(cluster: Cluster, files: { path: string; node?: ClusterNode | undefined }[], verb: string, clash: string): void {
  const seen = new Map<string, ClusterNode | undefined>();
  for (const f of files) {
    if (!seen.has(f.path)) {
      seen.set(f.path, f.node);
      continue;
    }
    const node = f.node ?? seen.get(f.path);
    if (!node) throw new Error(`catalog: two entries ${verb} ${f.path}`);
    const index = cluster.nodes.indexOf(node);
    throw new ValidationError(cluster.source, [
      { path: `nodes[${index}].name`, message: `${JSON.stringify(node.name)}: ${verb} ${f.path}, ${clash}; rename the node` },
    ]);
  }
}
