import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { CertKind } from '../model/catalog.js';
import { checkPki } from '../check/check.js';
import type { CertRow, CheckReport, FileRow, KubeconfigRow } from '../check/report.js';
import type { Problem } from '../model/problem.js';
import { DEFAULT_WARN_DAYS } from '../model/time.js';
import type { Cluster, Role } from '../model/cluster.js';
import { placementFor, type PlacedFile } from '../distribute/manifest.js';
import { EXIT, UserError } from '../errors.js';
import { instancesFor, planFor } from '../pki.js';
import type { Instances, SanSet } from '../model/instances.js';

/**
 * What `graph` and `report` show, gathered once from the same sources as `check` (the check report),
 * `gen` (the plan: what is stale) and `distribute` (the placement): never a second copy of the catalog.
 */

/** planned: the folder does not hold the PKI yet; ok, missing, stale (no longer matches the description, as gen says), problem (check found one). */
export type State = 'planned' | 'ok' | 'missing' | 'stale' | 'problem';

interface ItemView {
  /** Catalog instance name (kube-apiserver, worker-1, master-1/apiserver). */
  name: string;
  state: State;
  /** What check found (notes included), empty when planned. */
  problems: Problem[];
  /** Why gen calls it stale. */
  staleReasons: string[];
  /** The nodes that receive any of its files. */
  nodes: string[];
}

export interface CertView extends ItemView {
  kind: CertKind;
  /** The signing CA's instance name (the root CA's for an intermediate); null for a self-signed CA. */
  ca: string | null;
  cn: string;
  o: string[];
  sans: SanSet;
  certPath: string;
  keyPath: string;
  /** Validity the description asks for. */
  days: number;
  /** From the certificate on disk (ISO); null when planned or missing. */
  notBefore: string | null;
  notAfter: string | null;
  /** The file check found for it (by file name or CN); null when missing or planned. */
  file: string | null;
}

export interface KubeconfigView extends ItemView {
  path: string;
  /** Instance name of the client certificate it embeds. */
  cert: string;
  ca: string;
  server: string;
  notAfter: string | null;
}

export interface KeyPairView extends ItemView {
  keyPath: string;
  pubPath: string;
}

export interface NodeFile extends PlacedFile {
  state: State;
  problems: Problem[];
}

export interface NodeView {
  name: string;
  role: Role;
  address: string;
  files: NodeFile[];
}

export interface PkiView {
  profile: string;
  source: string;
  /** --out as given, and resolved. */
  out: string;
  outDir: string;
  /** absent: no such folder; empty: it holds none of the PKI's files; present: it does (check ran). */
  folder: 'absent' | 'empty' | 'present';
  now: string;
  warnDays: number;
  cas: CertView[];
  certs: CertView[];
  kubeconfigs: KubeconfigView[];
  keyPairs: KeyPairView[];
  nodes: NodeView[];
  /** Certificates and kubeconfigs of the folder that are not in the catalog, and other files with problems. */
  others: { file: string; problems: Problem[] }[];
  /** --node NAME: the view is narrowed to what this node holds. */
  node: string | null;
  check: CheckReport | null;
}

export interface ViewOptions {
  node?: string;
  now?: Date;
  warnDays?: number;
}

const PROBLEM: ReadonlySet<Problem['severity']> = new Set(['error', 'warning']);
const hasProblem = (problems: Problem[]) => problems.some((p) => PROBLEM.has(p.severity));

function stateOf(present: boolean, problems: Problem[], stale: string[] | undefined): State {
  if (!present) return 'missing';
  if (stale) return 'stale';
  return hasProblem(problems) ? 'problem' : 'ok';
}

async function folderState(out: string, outDir: string, instances: Instances): Promise<PkiView['folder']> {
  const st = await stat(outDir).catch(() => null);
  if (!st) return 'absent';
  if (!st.isDirectory()) throw new UserError(`--out ${JSON.stringify(out)}: is not a folder (${outDir})`, EXIT.badInput);
  const paths = [...instances.certs.map((c) => c.certPath), ...instances.kubeconfigs.map((k) => k.path), ...instances.keyPairs.map((k) => k.keyPath)];
  const found = await Promise.all(paths.map((p) => exists(join(outDir, p))));
  return found.some(Boolean) ? 'present' : 'empty';
}

const exists = (path: string) => stat(path).then(() => true, () => false);

/**
 * A folder gen refuses to plan for (a lost CA key, leaves an external CA has not signed yet): shown
 * as it is, with check's findings saying why; no stale list. Anything else still stops graph.
 */
const plannedNothing = (err: unknown): null => {
  if (err instanceof UserError) return null;
  throw err;
};

/** Everything graph and report show for a cluster and its PKI folder (read only). */
export async function pkiView(cluster: Cluster, out: string, options: ViewOptions = {}): Promise<PkiView> {
  if (options.node !== undefined && !cluster.nodes.some((n) => n.name === options.node))
    throw new UserError(`--node ${JSON.stringify(options.node)}: no such node in ${cluster.source} (nodes: ${cluster.nodes.map((n) => n.name).join(', ')})`, EXIT.badInput);
  const outDir = resolve(out);
  const instances = instancesFor(cluster);
  const now = options.now ?? new Date();
  const warnDays = options.warnDays ?? DEFAULT_WARN_DAYS;
  const folder = await folderState(out, outDir, instances);
  const disk = folder === 'present';
  const [check, plan] = disk
    ? await Promise.all([checkPki(cluster, out, { warnDays, now }), planFor(cluster, outDir, {}, instances).then((p) => p.plan, plannedNothing)])
    : [null, null];
  const stale = new Map((plan?.items ?? []).filter((i) => i.action === 'stale').map((i) => [i.name, i.reasons]));
  const placement = placementFor(cluster, instances);
  const holders = new Map<string, string[]>();
  for (const [node, files] of placement) for (const f of files) if (!holders.get(f.owner)?.includes(node)) holders.set(f.owner, [...(holders.get(f.owner) ?? []), node]);

  const item = (name: string, row: { present: boolean; problems: Problem[] } | undefined) => ({
    name,
    state: disk ? stateOf(row?.present ?? false, row?.problems ?? [], stale.get(name)) : ('planned' as const),
    problems: row?.problems ?? [],
    staleReasons: stale.get(name) ?? [],
    nodes: holders.get(name) ?? [],
  });
  const certRows = new Map<string, CertRow>([...(check?.cas ?? []), ...(check?.certificates ?? [])].flatMap((r) => (r.catalog ? [[r.catalog, r]] : [])));
  const kcRows = new Map<string, KubeconfigRow>((check?.kubeconfigs ?? []).flatMap((r) => (r.catalog ? [[r.catalog, r]] : [])));
  // The root CA (rootCA) heads the CAs, as in check's table; its intermediates name it as their signer.
  const withRoot = [...(instances.root ? [instances.root] : []), ...instances.certs];
  const certViews = withRoot.map((c): CertView => {
    const row = certRows.get(c.name);
    return {
      ...item(c.name, row),
      kind: c.spec.kind,
      ca: c.caName ?? c.root?.name ?? null,
      cn: c.subject.cn,
      o: c.subject.o,
      sans: c.sans,
      certPath: c.certPath,
      keyPath: c.keyPath,
      days: c.days,
      notBefore: row?.notBefore ?? null,
      notAfter: row?.notAfter ?? null,
      file: row?.present ? row.file : null,
    };
  });
  const kubeconfigs = instances.kubeconfigs.map((k): KubeconfigView => {
    const row = kcRows.get(k.name);
    return { ...item(k.name, row), path: k.path, cert: k.certName, ca: k.caName, server: k.server, notAfter: row?.notAfter ?? null };
  });
  const keyPairs = await Promise.all(
    instances.keyPairs.map(async (kp): Promise<KeyPairView> => {
      const row = check?.keyPairs.find((r) => r.catalog === kp.name);
      const present = disk && (await exists(join(outDir, kp.keyPath))) && (await exists(join(outDir, kp.pubPath)));
      return { ...item(kp.name, row && { present, problems: row.problems }), keyPath: kp.keyPath, pubPath: kp.pubPath };
    }),
  );
  const owners = new Map<string, ItemView>([...certViews, ...kubeconfigs, ...keyPairs].map((v) => [v.name, v]));
  const fileProblems = new Map<string, Problem[]>([...(check?.copies ?? []), ...(check?.files ?? [])].map((r) => [r.file, r.problems]));
  // The encryption configuration: its problems on the file (a tree's copy: those naming that copy).
  const enc = check?.encryption;
  if (enc) {
    fileProblems.set(enc.file, enc.problems);
    for (const c of instances.encryption?.copies ?? []) fileProblems.set(c.path, enc.problems.filter((p) => p.message.includes(c.path)));
  }
  const nodes = await Promise.all(
    cluster.nodes.map(async (n): Promise<NodeView> => ({
      name: n.name,
      role: n.role,
      address: n.address,
      files: await Promise.all(
        placement.get(n.name)!.map(async (f): Promise<NodeFile> => {
          const own = fileProblems.get(f.local) ?? [];
          if (!disk) return { ...f, state: 'planned', problems: own };
          if (!(await exists(join(outDir, f.local)))) return { ...f, state: 'missing', problems: own };
          return fileState(f, owners.get(f.owner), own);
        }),
      ),
    })),
  );
  const placed = new Set([...placement.values()].flatMap((files) => files.map((f) => f.local)));
  const others = check ? otherFiles(check, placed) : [];
  const view: PkiView = {
    profile: cluster.profile,
    source: cluster.source,
    out,
    outDir,
    folder,
    now: now.toISOString(),
    warnDays,
    cas: certViews.filter((c) => c.kind === 'ca'),
    certs: certViews.filter((c) => c.kind !== 'ca'),
    kubeconfigs,
    keyPairs,
    nodes,
    others,
    node: null,
    check,
  };
  return options.node === undefined ? view : narrow(view, options.node);
}

/** check reports a certificate's key problems on the certificate's row: they belong to the key file. */
const KEY_PROBLEM = /^key-(missing|mode|mismatch|unreadable)$/;

/**
 * A file on a node (present): a private key is judged by its own problems; a certificate, public key
 * or kubeconfig is as good as what it belongs to (stale, or a problem other than its key's).
 */
function fileState(f: PlacedFile, owner: ItemView | undefined, own: Problem[]): NodeFile {
  const ownerProblems = owner?.problems ?? [];
  if (f.part === 'key') {
    const problems = [...own, ...ownerProblems.filter((p) => KEY_PROBLEM.test(p.code))];
    return { ...f, state: hasProblem(problems) ? 'problem' : 'ok', problems };
  }
  const rest = ownerProblems.filter((p) => !KEY_PROBLEM.test(p.code));
  const state: State = hasProblem(own) ? 'problem' : owner?.state === 'stale' ? 'stale' : hasProblem(rest) && owner?.state !== 'missing' ? 'problem' : 'ok';
  return { ...f, state, problems: own };
}

/** What check found outside the catalog entries: unknown certificates and kubeconfigs, stray keys, CA keys on workers. */
function otherFiles(check: CheckReport, placed: Set<string>): PkiView['others'] {
  const unknown: (CertRow | KubeconfigRow | FileRow)[] = [...check.cas, ...check.certificates, ...check.kubeconfigs].filter((r) => !r.catalog);
  // A placed file's problems are shown on the node that receives it.
  const files = check.files.filter((f) => !placed.has(f.file));
  return [...unknown, ...files].map((r) => ({ file: r.file, problems: r.problems })).sort((a, b) => a.file.localeCompare(b.file));
}

/** --node NAME: its files, what they belong to, and the CAs that sign those (to keep the tree whole). */
function narrow(view: PkiView, node: string): PkiView {
  const held = new Set(view.nodes.find((n) => n.name === node)!.files.map((f) => f.owner));
  const kubeconfigs = view.kubeconfigs.filter((k) => held.has(k.name));
  const certs = view.certs.filter((c) => held.has(c.name) || kubeconfigs.some((k) => k.cert === c.name));
  const signing = view.cas.filter((c) => held.has(c.name) || certs.some((l) => l.ca === c.name));
  // The root over them, when there is one.
  const cas = view.cas.filter((c) => signing.includes(c) || signing.some((s) => s.ca === c.name));
  return {
    ...view,
    node,
    cas,
    certs,
    kubeconfigs,
    keyPairs: view.keyPairs.filter((k) => held.has(k.name)),
    nodes: view.nodes.filter((n) => n.name === node),
    others: view.others.filter((o) => o.file.startsWith(`${node}/`)),
  };
}

/** Anything to fix (exit 1): what check reports, and what gen would leave stale. */
export function hasProblems(view: PkiView): boolean {
  const items = [...view.cas, ...view.certs, ...view.kubeconfigs, ...view.keyPairs];
  const files = view.nodes.flatMap((n) => n.files);
  return (
    [...items, ...files].some((i) => i.state !== 'ok' && i.state !== 'planned') ||
    view.others.some((o) => hasProblem(o.problems)) ||
    hasProblem(view.check?.encryption?.problems ?? [])
  );
}

/** The certificates a CA signs, in catalog order (leaves; a root CA's intermediates are in `subCas`). */
export const signedBy = (view: PkiView, ca: string): CertView[] => view.certs.filter((c) => c.ca === ca);

/** The CAs a root CA signs (its intermediates). */
export const subCas = (view: PkiView, ca: string): CertView[] => view.cas.filter((c) => c.ca === ca);

/** The CAs nothing above signs: each heads a tree (the root CA, or the catalog's CAs without one). */
export const topCas = (view: PkiView): CertView[] => view.cas.filter((c) => !c.ca || !view.cas.some((p) => p.name === c.ca));

/** The kubeconfigs that embed a certificate. */
export const embedding = (view: PkiView, cert: string): KubeconfigView[] => view.kubeconfigs.filter((k) => k.cert === cert);
