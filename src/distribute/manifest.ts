import { readdir } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { Cluster, ClusterNode } from '../model/cluster.js';
import { EXIT, UserError } from '../errors.js';
import { placedNodes, placedOn } from '../catalog/placement.js';
import { caKeyIn, caPublicKeys } from '../inspect/ca-keys.js';
import { instancesFor } from '../pki.js';
import type { Instances } from '../model/instances.js';
import { MODE } from '../model/files.js';

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

/** A file of a node's tree that is not sent, and why (kubeadm: not in the catalog, or not generated). */
export interface NotSent {
  local: string;
  reason: string;
}

/** What one node receives; empty for a node that needs nothing (the load balancer). */
export interface NodeManifest {
  node: ClusterNode;
  files: ManifestFile[];
  /** Files left out: reported (dry-run, notes), never sent. */
  notSent: NotSent[];
}

/** Mode on the node: certificates and public keys 0644; keys, kubeconfigs (they embed a key) and anything else 0600. */
export function modeFor(path: string): number {
  return /\.(crt|pub)$/.test(path) ? MODE.public : MODE.secret;
}

/** hardway: flat files, placed by the catalog's crtTo / keyTo / pubTo / to. */
function hardwayManifest(cluster: Cluster): NodeManifest[] {
  const byNode = new Map<string, ManifestFile[]>(cluster.nodes.map((n) => [n.name, []]));
  const add = (nodes: ClusterNode[], path: string, caKey = false) => {
    for (const n of nodes) byNode.get(n.name)!.push({ local: path, remote: path, mode: modeFor(path), caKey });
  };
  const instances = instancesFor(cluster);
  for (const c of instances.certs) {
    add(placedNodes(cluster, c.spec.crtTo, c.node), c.certPath);
    add(placedNodes(cluster, c.spec.keyTo, c.node), c.keyPath, c.spec.kind === 'ca');
  }
  for (const k of instances.keyPairs) {
    add(placedNodes(cluster, k.spec.pubTo, undefined), k.pubPath);
    add(placedNodes(cluster, k.spec.keyTo, undefined), k.keyPath);
  }
  for (const k of instances.kubeconfigs) add(placedNodes(cluster, k.spec.to, k.node), k.path);
  return cluster.nodes.map((node) => ({ node, files: byNode.get(node.name)!, notSent: [] }));
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
    else files.push(rel);
  }
  return files;
}

/**
 * kubeadm: the catalog's files of the node's tree (`<node>/…`: its own certificates and kubeconfigs,
 * the copies of shared files), prefix removed. Anything else found in OUT/<node>/ is reported as not
 * in the catalog and never sent; a catalog file not in the folder (not generated yet, or an external
 * CA's key kept elsewhere) is not sent either.
 */
async function kubeadmManifest(cluster: Cluster, instances: Instances, outDir: string): Promise<NodeManifest[]> {
  return Promise.all(
    cluster.nodes.map(async (node): Promise<NodeManifest> => {
      const prefix = `${node.name}/`;
      const catalog = new Map<string, boolean>(); // local path → is a CA key
      for (const c of instances.certs) {
        if (c.node?.name !== node.name) continue;
        if (c.spec.crtTo === 'self' || placedOn(c.spec.crtTo, node)) catalog.set(c.certPath, false);
        if (c.spec.keyTo === 'self' || placedOn(c.spec.keyTo, node)) catalog.set(c.keyPath, c.spec.kind === 'ca');
      }
      for (const copy of instances.copies.filter((c) => c.node.name === node.name)) for (const f of copy.files) catalog.set(f.to, copy.group === 'ca' && f.part === 'key');
      for (const k of instances.kubeconfigs) if (k.path.startsWith(prefix)) catalog.set(k.path, false);
      const onDisk = new Set((await walk(join(outDir, node.name))).map((rel) => prefix + rel));
      const files: ManifestFile[] = [];
      const notSent: NotSent[] = [];
      for (const [local, caKey] of catalog) {
        if (!local.startsWith(prefix)) continue;
        const remote = local.slice(prefix.length);
        if (onDisk.has(local)) files.push({ local, remote, mode: modeFor(remote), caKey });
        else notSent.push({ local, reason: 'not in the folder (not generated yet, or a key kept elsewhere), not sent' });
      }
      for (const local of onDisk) if (!catalog.has(local)) notSent.push({ local, reason: 'not in the catalog, not sent' });
      notSent.sort((a, b) => a.local.localeCompare(b.local));
      return { node, files, notSent };
    }),
  );
}

/**
 * The per-node manifest: which local file goes where on which node, with its mode. One function
 * for `distribute`, its `--dry-run` and `--verify`. Refused (exit 2, before anything is connected):
 * a CA key on a node other than a control-plane node, and any file whose private key is the key of
 * a catalog CA (compared by public key, whatever the file's name) on a node the catalog does not
 * give that CA's key.
 */
export async function manifestFor(cluster: Cluster, outDir: string): Promise<NodeManifest[]> {
  const instances = instancesFor(cluster);
  const manifests = cluster.profile === 'kubeadm' ? await kubeadmManifest(cluster, instances, outDir) : hardwayManifest(cluster);
  const cas = await caPublicKeys(instances, outDir);
  for (const m of manifests) {
    m.files.sort((a, b) => a.remote.localeCompare(b.remote));
    const caKey = m.files.find((f) => f.caKey);
    if (caKey && m.node.role !== 'controlplane')
      throw new UserError(`refusing to distribute: ${caKey.local} is a CA key and ${m.node.name} is a ${m.node.role} node; CA keys go to control-plane nodes only`, EXIT.badInput);
    for (const f of m.files) {
      const ca = await caKeyIn(outDir, f.local, cas);
      if (ca && (m.node.role !== 'controlplane' || !placedOn(ca.spec.keyTo, m.node)))
        throw new UserError(
          `refusing to distribute: ${f.local} holds the private key of CA ${ca.name} (${ca.certPath}), and the catalog does not give that key to ${m.node.name} (a ${m.node.role} node)`,
          EXIT.badInput,
        );
    }
    for (const n of m.notSent) {
      const ca = n.reason.startsWith('not in the catalog') ? await caKeyIn(outDir, n.local, cas) : null;
      if (ca) n.reason += `; it holds the private key of CA ${ca.name}: remove it`;
    }
  }
  return manifests;
}
