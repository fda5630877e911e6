import type { Cluster, ClusterNode } from '../model/cluster.js';
import type { Catalog, CertSpec, KubeconfigSpec, Placement } from '../model/catalog.js';
import { usagesFor } from '../catalog/usages.js';
import { canonicalIp } from '../util/ip.js';
import { isIpAddress } from '../cluster/names.js';
import { ValidationError } from '../errors.js';
import { SHARED_DIR, type CertInstance, type CopyFile, type CopyInstance, type Instances, type KeyPairInstance, type KubeconfigInstance, type SanSet } from '../model/instances.js';
import { MODE } from '../model/files.js';
import { placedOn } from '../catalog/placement.js';
import { ROOT_CA_FILE, rootCaSpec } from '../catalog/root.js';
import { keptFiles, ownPrefixOf } from '../catalog/kept.js';
import { isBootstrapNode } from '../catalog/bootstrap.js';
import { encryptionInstance } from '../catalog/encryption.js';

/** The nodes a row is made for; a bootstrap worker has none made: the cluster signs its certificates (docs/bootstrap.md). */
function nodesFor(cluster: Cluster, scope: 'cluster' | 'node', roles: readonly string[] | undefined, firstOnly = false) {
  if (scope === 'cluster') return [undefined];
  const nodes = cluster.nodes.filter((n) => (!roles || roles.includes(n.role)) && !isBootstrapNode(n));
  return firstOnly ? nodes.slice(0, 1) : nodes;
}

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

/** Where a catalog's files go and what its instances are called: flat (hardway) or node trees (kubeadm). */
interface Naming {
  trees: boolean;
  instanceName: (id: string, node?: ClusterNode) => string;
  certBase: (spec: CertSpec, node?: ClusterNode) => string;
}

function namingFor(catalog: Catalog): Naming {
  const trees = catalog.layout === 'node-trees';
  return {
    trees,
    // Flat: per-node entries are named after their node ("worker-1"); trees: "<node>/<id>".
    instanceName: (id, node) => (node ? (trees ? `${node.name}/${id}` : node.name) : id),
    // Trees: a file only its own node receives lives in that node's tree; the rest in SHARED_DIR.
    certBase: (spec, node) =>
      !trees ? spec.file(node) : node && spec.crtTo === 'self' ? `${node.name}/${spec.file(node)}` : `${SHARED_DIR}/${spec.file(node)}`,
  };
}

export function resolveInstances(catalog: Catalog, cluster: Cluster): Instances {
  const naming = namingFor(catalog);
  const root = rootInstance(cluster);
  const certs = declareExternal(cluster, resolveCerts(catalog, cluster, naming, root));
  const keyPairs = catalog.keyPairs.map((spec): KeyPairInstance => {
    const base = naming.trees ? `${SHARED_DIR}/${spec.file}` : spec.file;
    return { name: spec.id, spec, keyPath: `${base}.key`, pubPath: `${base}.pub`, key: cluster.key };
  });
  const kubeconfigs = resolveKubeconfigs(catalog, cluster, naming, certs);
  const copies = naming.trees ? sharedCopies(cluster, certs, keyPairs) : [];
  const encryption = encryptionInstance(cluster, naming.trees);
  const instances: Instances = { certs, keyPairs, kubeconfigs, copies, ...(root ? { root, rootEncrypt: cluster.rootCA!.encrypt, ...(cluster.rootCA!.pkcs11 ? { rootToken: cluster.rootCA!.pkcs11 } : {}) } : {}), ...(encryption ? { encryption } : {}) };
  assertNoClashes(cluster, instances);
  return instances;
}

/** `externalCAs:` names catalog CAs (the root is never one: its key signs intermediates here). */
function declareExternal(cluster: Cluster, certs: CertInstance[]): CertInstance[] {
  const names = cluster.externalCAs ?? [];
  const cas = certs.filter((c) => c.spec.kind === 'ca').map((c) => c.name);
  const unknown = names.findIndex((n) => !cas.includes(n));
  if (unknown >= 0)
    throw new ValidationError(cluster.source, [
      { path: `externalCAs[${unknown}]`, message: `${JSON.stringify(names[unknown])}: is not a CA of the ${cluster.profile} profile (${cas.join(', ')})` },
    ]);
  return certs.map((c) => (names.includes(c.name) ? { ...c, declaredExternal: true } : c));
}

/** The root CA of `rootCA`, at the top of the output folder in both layouts (never in a node's tree). */
function rootInstance(cluster: Cluster): CertInstance | undefined {
  if (!cluster.rootCA) return undefined;
  // A root in a token has its own kind of key (rootCA.pkcs11.key); a root in a file, the cluster's.
  const key = cluster.rootCA.pkcs11?.key ?? cluster.key;
  return {
    name: rootCaSpec.id,
    spec: rootCaSpec,
    keyPath: `${ROOT_CA_FILE}.key`,
    certPath: `${ROOT_CA_FILE}.crt`,
    subject: { cn: cluster.rootCA.commonName, o: [] },
    sans: { dns: [], ip: [] },
    usages: usagesFor('ca', key),
    days: cluster.rootCA.validityDays,
    daysField: 'rootCA.validityDays',
    key,
  };
}

/** One certificate per catalog row, or per node of its roles; each knows its CA's files (a CA under `root`, the root's). */
function resolveCerts(catalog: Catalog, cluster: Cluster, { instanceName, certBase }: Naming, root: CertInstance | undefined): CertInstance[] {
  const byId = new Map(catalog.certs.map((s) => [s.id, s]));
  const rootRef = root && { name: root.name, certPath: root.certPath, keyPath: root.keyPath };
  return catalog.certs.flatMap((spec) =>
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
        ...(rootRef && !caSpec ? { root: rootRef } : {}),
        subject: { cn: spec.cn(node), o: [...(spec.o ?? [])] },
        sans: sanSet(spec.sans ? spec.sans(cluster, node) : []),
        usages: usagesFor(spec.kind, cluster.key),
        days: spec.kind === 'ca' ? cluster.validityDays.ca : cluster.validityDays.leaf,
        daysField: spec.kind === 'ca' ? 'validityDays.ca' : 'validityDays.leaf',
        key: cluster.key,
      };
    }),
  );
}

/** One kubeconfig per catalog row (flat) or per tree that receives it, each embedding its node's certificate. */
function resolveKubeconfigs(catalog: Catalog, cluster: Cluster, { trees, instanceName }: Naming, certs: CertInstance[]): KubeconfigInstance[] {
  return catalog.kubeconfigs.flatMap((spec) =>
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
        server: spec.server(cluster, node),
        clusterName: spec.clusterName,
        userName: spec.userName(node),
        contextName: spec.contextName,
      };
    }),
  );
}

/** No two files on one path, no two items of one name: a node named like a file would overwrite it. */
function assertNoClashes(cluster: Cluster, { certs, keyPairs, kubeconfigs, copies, root }: Instances): void {
  assertDistinctPaths(cluster, [
    ...(root ? [{ path: root.keyPath }, { path: root.certPath }] : []),
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
      ...(root ? [{ path: root.name }] : []),
      ...certs.map((c) => ({ path: c.name, node: c.node })),
      ...keyPairs.map((k) => ({ path: k.name })),
      ...kubeconfigs.map((k) => ({ path: k.name, node: k.node })),
      ...copies.map((c) => ({ path: c.name, node: c.node })),
    ],
    'would be named like',
    'another item of the PKI',
  );
  assertNoKeptNames(cluster, { certs, keyPairs, kubeconfigs, copies, ...(root ? { root } : {}) });
}

/** The files of the PKI that belong to one node, with the folders they are in ("w/pki/a.crt": "w", "w/pki"). */
function nodeEntries({ certs, kubeconfigs, copies }: Instances): { entry: string; node: ClusterNode }[] {
  const files = [
    ...certs.flatMap((c) => (c.node ? [{ path: c.keyPath, node: c.node }, { path: c.certPath, node: c.node }] : [])),
    ...kubeconfigs.flatMap((k) => (k.node ? [{ path: k.path, node: k.node }] : [])),
    ...copies.flatMap((c) => c.files.map((f) => ({ path: f.to, node: c.node }))),
  ];
  return files.flatMap(({ path, node }) => path.split('/').map((_, i, parts) => ({ entry: parts.slice(0, i + 1).join('/'), node })));
}

/**
 * A node's file or folder must not be one kube-pki keeps besides this description's files (catalog/kept.ts):
 * a CA's rotation files, the root CA's (a kubeadm node "root-ca.key" would be a folder in its way), its lock,
 * records and backups.
 */
function assertNoKeptNames(cluster: Cluster, instances: Instances): void {
  const kept = keptFiles(instances.certs.filter((c) => c.spec.kind === 'ca'));
  for (const { entry, node } of nodeEntries(instances)) {
    const why = kept.get(entry) ?? (entry.includes('/') ? undefined : ownPrefixOf(entry) && `for itself (names starting with ${ownPrefixOf(entry)} are its lock, records or backups)`);
    if (!why) continue;
    throw new ValidationError(cluster.source, [
      { path: `nodes[${cluster.nodes.indexOf(node)}].name`, message: `${JSON.stringify(node.name)}: would write ${entry}, which kube-pki keeps ${why}; rename the node` },
    ]);
  }
}

/** Flat: one kubeconfig per cluster entry. Trees: a cluster entry goes into every tree its `to` names. */
function kubeconfigNodes(cluster: Cluster, spec: KubeconfigSpec, trees: boolean): (ClusterNode | undefined)[] {
  if (!trees || spec.scope === 'node') return nodesFor(cluster, spec.scope, spec.roles, spec.firstOnly);
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
