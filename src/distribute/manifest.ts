import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { readTokens, tokenOfKubeconfig, TOKENS_DIR } from '../bootstrap/store.js';
import { bundleOf } from '../model/rotation.js';
import { join, posix } from 'node:path';
import type { Cluster, ClusterNode } from '../model/cluster.js';
import { EXIT, UserError } from '../errors.js';
import { placedNodes, placedOn } from '../catalog/placement.js';
import { caKeyIn, caPublicKeys } from '../inspect/ca-keys.js';
import { newPair, saFiles } from '../inspect/sa-rotation.js';
import { instancesFor } from '../pki.js';
import type { Instances } from '../model/instances.js';
import { MODE } from '../model/files.js';
import { BOOTSTRAP_KUBECONFIG, bootstrapKubeconfigOnNode, bootstrapWorkers, isBootstrapNode } from '../catalog/bootstrap.js';

/** One file a node receives. */
export interface ManifestFile {
  /** Path in the local output folder. */
  local: string;
  /** Path under the node's remoteDir. */
  remote: string;
  mode: number;
  /** The private key of a CA: allowed on control-plane nodes only. */
  caKey: boolean;
  /** A rotation's file that goes away once the rotation is over (a CA's trust bundle, rotate-sa's new pair). */
  bundle?: boolean;
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
  /**
   * Paths under remoteDir that must not stay on the node: the trust bundle of a CA rotation that
   * is over (rotate-ca finish). distribute removes them; until then --verify lists them as extra.
   */
  retired: string[];
}

/** Mode on the node: certificates and public keys 0644; keys, kubeconfigs (they embed a key) and anything else 0600. */
export function modeFor(path: string): number {
  return /\.(crt|pub)$/.test(path) ? MODE.public : MODE.secret;
}

/** One file the catalog places on a node, whether or not the folder holds it yet. */
export interface PlacedFile extends ManifestFile {
  /** Instance name of the certificate, key pair or kubeconfig the file belongs to. */
  owner: string;
  part: 'crt' | 'key' | 'pub' | 'kubeconfig';
}

/**
 * Which files each node receives by the catalog's placement (crtTo / keyTo / pubTo / to), from the
 * description alone: `distribute` sends these (node trees: those in the folder), `graph` and
 * `report` draw them. Node trees: only files of the node's own tree (its certificates, its copies of
 * shared files, its kubeconfigs).
 */
export function placementFor(cluster: Cluster, instances: Instances = instancesFor(cluster)): Map<string, PlacedFile[]> {
  return new Map(
    cluster.nodes.map((node) => {
      const files = cluster.profile === 'kubeadm' ? treePlacement(instances, node) : flatPlacement(cluster, instances, node);
      return [node.name, isBootstrapNode(node) ? bootstrapPlacement(cluster, instances, files) : files];
    }),
  );
}

/**
 * A bootstrap worker (docs/bootstrap.md) receives the CA certificates it trusts and the bootstrap
 * kubeconfig only: no shared client key (kube-proxy's), nothing of its own; the cluster signs that.
 */
function bootstrapPlacement(cluster: Cluster, instances: Instances, files: PlacedFile[]): PlacedFile[] {
  const remote = bootstrapKubeconfigOnNode(cluster);
  return [
    ...files.filter(isCaCertOf(instances)),
    { local: BOOTSTRAP_KUBECONFIG, remote, mode: MODE.secret, caKey: false, owner: BOOTSTRAP_KUBECONFIG, part: 'kubeconfig' },
  ];
}

/** hardway: flat files, placed by the catalog's crtTo / keyTo / pubTo / to. */
function flatPlacement(cluster: Cluster, instances: Instances, node: ClusterNode): PlacedFile[] {
  const files: PlacedFile[] = [];
  const add = (nodes: ClusterNode[], path: string, owner: string, part: PlacedFile['part'], caKey = false) => {
    if (nodes.includes(node)) files.push({ local: path, remote: path, mode: modeFor(path), caKey, owner, part });
  };
  for (const c of instances.certs) {
    add(placedNodes(cluster, c.spec.crtTo, c.node), c.certPath, c.name, 'crt');
    add(placedNodes(cluster, c.spec.keyTo, c.node), c.keyPath, c.name, 'key', c.spec.kind === 'ca');
  }
  for (const k of instances.keyPairs) {
    add(placedNodes(cluster, k.spec.pubTo, undefined), k.pubPath, k.name, 'pub');
    add(placedNodes(cluster, k.spec.keyTo, undefined), k.keyPath, k.name, 'key');
  }
  for (const k of instances.kubeconfigs) add(placedNodes(cluster, k.spec.to, k.node), k.path, k.name, 'kubeconfig');
  // The key of every Secret: control planes only (kube-apiserver), 0600 as a private key.
  const enc = instances.encryption;
  if (enc) add(cluster.nodes.filter((n) => enc.nodes.includes(n.name)), enc.path, enc.name, 'key');
  return files;
}

/** kubeadm: the catalog's files of the node's tree (`<node>/…`), prefix removed for the remote path. */
function treePlacement(instances: Instances, node: ClusterNode): PlacedFile[] {
  const prefix = `${node.name}/`;
  const files = new Map<string, PlacedFile>();
  const add = (local: string, owner: string, part: PlacedFile['part'], caKey: boolean) => {
    if (!local.startsWith(prefix)) return;
    const remote = local.slice(prefix.length);
    files.set(local, { local, remote, mode: modeFor(remote), caKey, owner, part });
  };
  for (const c of instances.certs) {
    if (c.node?.name !== node.name) continue;
    if (c.spec.crtTo === 'self' || placedOn(c.spec.crtTo, node)) add(c.certPath, c.name, 'crt', false);
    if (c.spec.keyTo === 'self' || placedOn(c.spec.keyTo, node)) add(c.keyPath, c.name, 'key', c.spec.kind === 'ca');
  }
  for (const copy of instances.copies.filter((c) => c.node.name === node.name))
    for (const f of copy.files) add(f.to, copy.source, f.part, copy.group === 'ca' && f.part === 'key');
  for (const k of instances.kubeconfigs) add(k.path, k.name, 'kubeconfig', false);
  for (const c of instances.encryption?.copies ?? []) if (c.node === node.name) add(c.path, instances.encryption!.name, 'key', false);
  return [...files.values()];
}

/** hardway: every placed file is sent (a missing one fails the node's distribution, as it should). */
function hardwayManifest(cluster: Cluster, instances: Instances): NodeManifest[] {
  const placement = placementFor(cluster, instances);
  return cluster.nodes.map((node) => ({ node, files: placement.get(node.name)!, notSent: [], retired: [] }));
}

/** A CA certificate (or a node tree's copy of one): its rotation bundle goes where it goes. */
const isCaCertOf = (instances: Instances) => (f: { local: string }) =>
  instances.certs.some((c) => !c.caName && c.certPath === f.local) || instances.copies.some((c) => c.group === 'ca' && c.files.some((x) => x.part === 'crt' && x.to === f.local));

/**
 * Every local file that distribute can send to some node, by the catalog's placement alone (a CA
 * certificate's rotation bundle included): to tell a user which changed files reach the nodes.
 */
export function sendablePaths(cluster: Cluster, instances: Instances = instancesFor(cluster)): Set<string> {
  const placed = [...placementFor(cluster, instances).values()].flat();
  const sa = saKeyFiles(instances);
  return new Set([...placed.map((f) => f.local), ...placed.filter(isCaCertOf(instances)).map((f) => bundleOf(f.local)), ...placed.filter((f) => sa.has(f.local)).map((f) => newFile(f.local))]);
}

/**
 * A CA rotation's trust bundle (rotate-ca, docs/ca-rotation.md) goes wherever its CA certificate goes
 * while it is in the folder; once finish removed it, it is retired on the nodes.
 */
function addRotationBundles(m: NodeManifest, instances: Instances, outDir: string): void {
  for (const ca of m.files.filter(isCaCertOf(instances))) {
    const bundle = { ...ca, local: bundleOf(ca.local), remote: bundleOf(ca.remote), bundle: true };
    if (existsSync(join(outDir, bundle.local))) {
      m.files.push(bundle);
      m.notSent = m.notSent.filter((n) => n.local !== bundle.local);
    } else m.retired.push(bundle.remote);
  }
}

/** The service-account key files of the PKI folder and of the node trees (their rotation's new pair goes beside them). */
function saKeyFiles(instances: Instances): Set<string> {
  const files = saFiles(instances);
  if (!files) return new Set();
  return new Set([files.current, ...files.copies.map((c) => c.current)].flatMap((p) => [p.key, p.pub]));
}

const newFile = (path: string) => newPair({ key: path, pub: path }).key;

/**
 * A service-account key rotation's new pair (rotate-sa, docs/key-rotation.md) goes wherever the
 * current pair goes while it is in the folder; once deleted there, it is retired on the nodes.
 */
function addSaRotationFiles(m: NodeManifest, instances: Instances, outDir: string): void {
  const sa = saKeyFiles(instances);
  for (const f of m.files.filter((x) => sa.has(x.local))) {
    // Marked like a trust bundle: its hash is recorded as sent, so that only a file kube-pki put there is removed once retired.
    const next = { ...f, local: newFile(f.local), remote: newFile(f.remote), bundle: true };
    if (existsSync(join(outDir, next.local))) {
      m.files.push(next);
      m.notSent = m.notSent.filter((n) => n.local !== next.local);
    } else m.retired.push(next.remote);
  }
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
  const placement = placementFor(cluster, instances);
  return Promise.all(
    cluster.nodes.map(async (node): Promise<NodeManifest> => {
      const prefix = `${node.name}/`;
      const catalog = placement.get(node.name)!;
      const onDisk = new Set((await walk(join(outDir, node.name))).map((rel) => prefix + rel));
      const files: ManifestFile[] = [];
      const notSent: NotSent[] = [];
      for (const f of catalog) {
        // The bootstrap kubeconfig is the folder's, not a tree's: one for every bootstrap worker.
        if (onDisk.has(f.local) || (f.local === BOOTSTRAP_KUBECONFIG && existsSync(join(outDir, f.local)))) files.push(f);
        else notSent.push({ local: f.local, reason: 'not in the folder (not generated yet, or a key kept elsewhere), not sent' });
      }
      const inCatalog = new Set(catalog.map((f) => f.local));
      for (const local of onDisk) if (!inCatalog.has(local)) notSent.push({ local, reason: 'not in the catalog, not sent' });
      notSent.sort((a, b) => a.local.localeCompare(b.local));
      return { node, files, notSent, retired: [] };
    }),
  );
}

/** The bootstrap kubeconfig must carry a token of the folder that has not expired: a worker could not join with it. */
async function assertBootstrapTokenValid(outDir: string): Promise<void> {
  const path = join(outDir, BOOTSTRAP_KUBECONFIG);
  const carried = tokenOfKubeconfig(await readFile(path, 'utf8'));
  const token = (await readTokens(outDir)).find((t) => `${t.id}.${t.secret}` === carried);
  if (!token) throw new UserError(`${path}: carries no token of ${join(outDir, TOKENS_DIR)}; kube-pki token create --out ${outDir} writes it anew`, EXIT.badInput);
  if (token.expiration <= new Date())
    throw new UserError(`${path}: its token ${token.id} expired at ${token.expiration.toISOString()}: kube-pki token create --out ${outDir} writes a new one`, EXIT.badInput);
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
  const joining = bootstrapWorkers(cluster);
  if (joining.length && !existsSync(join(outDir, BOOTSTRAP_KUBECONFIG)))
    throw new UserError(
      `${join(outDir, BOOTSTRAP_KUBECONFIG)}: missing, and ${joining.map((n) => n.name).join(', ')} join by TLS bootstrap with it: kube-pki token create --out ${outDir} (no valid token is left, or none was made)`,
      EXIT.badInput,
    );
  if (joining.length) await assertBootstrapTokenValid(outDir);
  const manifests = cluster.profile === 'kubeadm' ? await kubeadmManifest(cluster, instances, outDir) : hardwayManifest(cluster, instances);
  for (const m of manifests) {
    addRotationBundles(m, instances, outDir);
    addSaRotationFiles(m, instances, outDir);
  }
  const cas = await caPublicKeys(instances, outDir);
  for (const m of manifests) {
    m.files.sort((a, b) => a.remote.localeCompare(b.remote));
    const caKey = m.files.find((f) => f.caKey);
    if (caKey && m.node.role !== 'controlplane')
      throw new UserError(`refusing to distribute: ${caKey.local} is a CA key and ${m.node.name} is a ${m.node.role} node; CA keys go to control-plane nodes only`, EXIT.badInput);
    for (const f of m.files) {
      const ca = await caKeyIn(outDir, f.local, cas);
      // The root CA's key goes nowhere, whatever a placement says (README "A root CA").
      if (ca && ca === instances.root)
        throw new UserError(`refusing to distribute: ${f.local} holds the root CA's private key (${ca.keyPath}); it never leaves the admin's folder: remove it from ${m.node.name}'s files`, EXIT.badInput);
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
