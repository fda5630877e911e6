import { readdir } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { Placement } from '../catalog/types.js';
import type { Cluster, ClusterNode } from '../cluster/load.js';
import { EXIT, UserError } from '../errors.js';
import { instancesFor } from '../pki.js';
import { MODE } from '../plan/steps.js';

/** One file a node receives. */
export interface ManifestFile {
  /** Path in the local output folder. */
  local: string;
  /** Path under the node's remoteDir. */
  remote: string;
  mode: number;
  /** The private key of a CA: allowed on control-plane nodes only. */
  caKey: boolean;
}

/** What one node receives; empty for a node that needs nothing (the load balancer). */
export interface NodeManifest {
  node: ClusterNode;
  files: ManifestFile[];
}

/** Mode on the node: certificates and public keys 0644; keys, kubeconfigs (they embed a key) and anything else 0600. */
export function modeFor(path: string): number {
  return /\.(crt|pub)$/.test(path) ? MODE.public : MODE.secret;
}

function placed(cluster: Cluster, placement: Placement | undefined, owner: ClusterNode | undefined): ClusterNode[] {
  if (!placement) return [];
  if (placement === 'self') return owner ? [owner] : [];
  return cluster.nodes.filter((n) => placement.includes(n.role));
}

/** hardway: flat files, placed by the catalog's crtTo / keyTo / pubTo / to. */
function hardwayManifest(cluster: Cluster): NodeManifest[] {
  const byNode = new Map<string, ManifestFile[]>(cluster.nodes.map((n) => [n.name, []]));
  const add = (nodes: ClusterNode[], path: string, caKey = false) => {
    for (const n of nodes) byNode.get(n.name)!.push({ local: path, remote: path, mode: modeFor(path), caKey });
  };
  const instances = instancesFor(cluster);
  for (const c of instances.certs) {
    add(placed(cluster, c.spec.crtTo, c.node), c.certPath);
    add(placed(cluster, c.spec.keyTo, c.node), c.keyPath, c.spec.kind === 'ca');
  }
  for (const k of instances.keyPairs) {
    add(placed(cluster, k.spec.pubTo, undefined), k.pubPath);
    add(placed(cluster, k.spec.keyTo, undefined), k.keyPath);
  }
  for (const k of instances.kubeconfigs) add(placed(cluster, k.spec.to, k.node), k.path);
  return cluster.nodes.map((node) => ({ node, files: byNode.get(node.name)! }));
}

async function walk(root: string, under = ''): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(join(root, under), { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const files: string[] = [];
  for (const e of entries) {
    const rel = under ? posix.join(under, e.name) : e.name;
    if (e.isDirectory()) files.push(...(await walk(root, rel)));
    else if (e.isFile()) files.push(rel);
  }
  return files;
}

/** kubeadm: every output path starts with "<node>/"; the node gets that tree, prefix removed. */
async function kubeadmManifest(cluster: Cluster, outDir: string): Promise<NodeManifest[]> {
  return Promise.all(
    cluster.nodes.map(async (node) => ({
      node,
      files: (await walk(join(outDir, node.name))).map((rel) => ({ local: posix.join(node.name, rel), remote: rel, mode: modeFor(rel), caKey: /(^|\/|-)ca\.key$/.test(rel) })),
    })),
  );
}

/**
 * The per-node manifest: which local file goes where on which node, with its mode. One function
 * for `distribute`, its `--dry-run` and `--verify`. A CA key on a node other than a control-plane
 * node is refused here, whatever the catalog or the output folder says.
 */
export async function manifestFor(cluster: Cluster, outDir: string): Promise<NodeManifest[]> {
  const manifests = cluster.profile === 'kubeadm' ? await kubeadmManifest(cluster, outDir) : hardwayManifest(cluster);
  for (const m of manifests) {
    m.files.sort((a, b) => a.remote.localeCompare(b.remote));
    const caKey = m.files.find((f) => f.caKey);
    if (caKey && m.node.role !== 'controlplane')
      throw new UserError(`refusing to distribute: ${caKey.local} is a CA key and ${m.node.name} is a ${m.node.role} node; CA keys go to control-plane nodes only`, EXIT.badInput);
  }
  return manifests;
}
