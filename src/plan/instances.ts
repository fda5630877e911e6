import type { Cluster, ClusterNode, KeySpec } from '../cluster/load.js';
import type { Catalog, CertSpec, KeyPairSpec, KubeconfigSpec } from '../catalog/types.js';
import { usagesFor, type Usages } from '../catalog/usages.js';
import { canonicalIp } from '../util/ip.js';
import { isIpAddress } from '../cluster/names.js';
import { ValidationError } from '../errors.js';

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

export interface Instances {
  certs: CertInstance[];
  keyPairs: KeyPairInstance[];
  kubeconfigs: KubeconfigInstance[];
}

function nodesFor(cluster: Cluster, scope: 'cluster' | 'node', roles: readonly string[] | undefined) {
  if (scope === 'cluster') return [undefined];
  return cluster.nodes.filter((n) => !roles || roles.includes(n.role));
}

/** Splits SAN values into DNS names and canonical IPs, dropping repeats but keeping first-seen order. */
export function sanSet(values: string[]): SanSet {
  const dns: string[] = [];
  const ip: string[] = [];
  for (const v of values) {
    if (isIpAddress(v)) {
      const c = canonicalIp(v)!;
      if (!ip.includes(c)) ip.push(c);
    } else if (!dns.includes(v)) dns.push(v);
  }
  return { dns, ip };
}

export function resolveInstances(catalog: Catalog, cluster: Cluster): Instances {
  const certName = (spec: CertSpec | KubeconfigSpec, node?: ClusterNode) => (node ? node.name : spec.id);
  const byId = new Map(catalog.certs.map((s) => [s.id, s]));

  const certs = catalog.certs.flatMap((spec) =>
    nodesFor(cluster, spec.scope, spec.roles).map((node): CertInstance => {
      const base = spec.file(node);
      const caSpec = spec.ca ? byId.get(spec.ca) : undefined;
      if (spec.ca && (!caSpec || caSpec.scope !== 'cluster')) throw new Error(`catalog: ${spec.id} names CA ${spec.ca}, not a cluster CA`);
      return {
        name: certName(spec, node),
        spec,
        ...(node ? { node } : {}),
        keyPath: `${base}.key`,
        certPath: `${base}.crt`,
        ...(caSpec ? { caName: caSpec.id, ca: { certPath: `${caSpec.file(undefined)}.crt`, keyPath: `${caSpec.file(undefined)}.key` } } : {}),
        subject: { cn: spec.cn(node), o: [...(spec.o ?? [])] },
        sans: sanSet(spec.sans ? spec.sans(cluster, node) : []),
        usages: usagesFor(spec.kind, cluster.key),
        days: spec.kind === 'ca' ? cluster.validityDays.ca : cluster.validityDays.leaf,
        key: cluster.key,
      };
    }),
  );

  const keyPairs = catalog.keyPairs.map((spec): KeyPairInstance => ({
    name: spec.id,
    spec,
    keyPath: `${spec.file}.key`,
    pubPath: `${spec.file}.pub`,
    key: cluster.key,
  }));

  const kubeconfigs = catalog.kubeconfigs.flatMap((spec) =>
    nodesFor(cluster, spec.scope, spec.roles).map((node): KubeconfigInstance => {
      const cert = certs.find((c) => c.spec.id === spec.cert && (spec.scope === 'cluster' || c.node?.name === node?.name));
      if (!cert?.caName) throw new Error(`catalog: kubeconfig ${spec.id} needs a signed certificate ${spec.cert}`);
      return {
        name: `${certName(spec, node)}.kubeconfig`,
        spec,
        ...(node ? { node } : {}),
        path: spec.file(node),
        certName: cert.name,
        caName: cert.caName,
        server: spec.server(cluster),
        clusterName: spec.clusterName,
        userName: spec.userName(node),
        contextName: spec.contextName,
      };
    }),
  );

  assertDistinctPaths(cluster, [
    ...certs.flatMap((c) => [{ path: c.keyPath, node: c.node }, { path: c.certPath, node: c.node }]),
    ...keyPairs.flatMap((k) => [{ path: k.keyPath }, { path: k.pubPath }]),
    ...kubeconfigs.map((k) => ({ path: k.path, node: k.node })),
  ]);
  return { certs, keyPairs, kubeconfigs };
}

/** A node named like another file (a worker called "admin" or "ca") would overwrite it: refuse. */
function assertDistinctPaths(cluster: Cluster, files: { path: string; node?: ClusterNode | undefined }[]): void {
  const seen = new Map<string, ClusterNode | undefined>();
  for (const f of files) {
    if (!seen.has(f.path)) {
      seen.set(f.path, f.node);
      continue;
    }
    const node = f.node ?? seen.get(f.path);
    if (!node) throw new Error(`catalog: two entries write ${f.path}`);
    const index = cluster.nodes.indexOf(node);
    throw new ValidationError(cluster.source, [
      { path: `nodes[${index}].name`, message: `${JSON.stringify(node.name)}: would write ${f.path}, which another file of the PKI already uses; rename the node` },
    ]);
  }
}
