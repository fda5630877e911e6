import type { X509Certificate } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { join, normalize, resolve } from 'node:path';
import type { Cluster } from '../model/cluster.js';
import { EXIT, UserError } from '../errors.js';
import { intermediateProblems, isExternalCa, sanDiff, subjectProblems } from '../inspect/compare.js';
import { chainProblems } from '../inspect/disk.js';
import { pathProblem } from '../files/read.js';
import { kubeconfigNameDifferences } from '../kubeconfig/compare.js';
import { issuedBy, privateKey, samePublicKey, type CertFacts } from '../inspect/x509.js';
import { caRotation, readSnapshot, rotationPaths } from '../inspect/rotation.js';
import { saRotationRows } from './sa-rotation.js';
import { instancesFor, ownPaths } from '../pki.js';
import { assertOutDir } from '../exec/run-locked.js';
import { heldKeyEvidence } from '../inspect/held-keys.js';
import { isSigningFlag } from '../model/rotation.js';
import type { CertInstance, CopyFile, CopyInstance, Instances, KeyPairInstance, KubeconfigInstance } from '../model/instances.js';
import { caKeyIn, caPublicKeys } from '../inspect/ca-keys.js';
import { findKey, loadCert, loadKubeconfig, readErrorText, readOrNull, scanFolder, tryCert, type LoadedCert, type LoadedKubeconfig } from './files.js';
import { matchFiles, type Matched } from './match.js';
import { backupRows } from './backups.js';
import { encryptionRow } from './encryption.js';
import { userRows } from './users.js';
import { problem, type Problem } from '../model/problem.js';
import { statusOf, type BackupRow, type CertRow, type CheckReport, type CopyRow, type EncryptionRow, type FileRow, type KeyPairRow, type KubeconfigRow, type UserCertRow } from './report.js';
import { certModeRules, keyRules, secretModeRules } from './rules.js';
import { usageRules } from '../inspect/usage-rules.js';
import { residualDays } from '../util/time.js';
import { validityProblems } from './validity.js';

export interface CheckOptions {
  /** Certificates expiring within this many days are reported (a warning: exit 1). */
  warnDays: number;
  now?: Date;
}

type CertMatch = Matched<CertInstance, LoadedCert>;
type KubeconfigMatch = Matched<KubeconfigInstance, LoadedKubeconfig>;

interface Context {
  outDir: string;
  profile: string;
  now: Date;
  warnDays: number;
  /** Every certificate found, by catalog instance name. */
  byInstance: Map<string, CertMatch>;
  /** The CAs of the folder, with their parsed certificates. */
  cas: { file: string; cert: X509Certificate; facts: CertFacts }[];
  /** CAs in the overlap of a rotation (rotate-ca): their trust bundle and the CA being replaced. */
  overlap: Map<string, { bundleFile: string; bundle: Buffer | null; old: X509Certificate | null }>;
  /** Catalog paths where something other than a file is (a folder, a link loop…), with gen's words for it. */
  unusable: Unusable;
  instances: Instances;
}

type Unusable = Map<string, string>;

/** Where a catalog file is absent: `fallback`, or the reason it cannot be used when something else is there. */
function absent(unusable: Unusable, file: string, fallback: Problem): Problem {
  const reason = unusable.get(normalize(file));
  return reason ? problem('error', 'unreadable', `${file}: ${reason}`) : fallback;
}

/** The catalog paths that hold something other than a regular file: as gen sees them (UnusableFile). */
async function unusablePaths(outDir: string, instances: Instances): Promise<Unusable> {
  const found = await Promise.all(ownPaths(instances).map(async (p) => [normalize(p), await pathProblem(join(outDir, p))] as const));
  return new Map(found.filter((f): f is readonly [string, string] => f[1] !== null));
}

const selfIssued = (facts: CertFacts) => facts.cert.subject === facts.issuer;
const notNull = <T>(v: T | null): v is T => v !== null;
const cnText = (facts: { cn: string }) => `CN=${facts.cn}`;

/**
 * Reads a PKI folder (any folder of certificates, including hand-made ones) and judges every file
 * against the catalog and the description. Reads only; never writes.
 */
export async function checkPki(cluster: Cluster, out: string, options: CheckOptions): Promise<CheckReport> {
  const outDir = await folderToCheck(out);
  const now = options.now ?? new Date();
  const instances = instancesFor(cluster);
  // gen's answer for a folder that is not a PKI (a project: never walk into its node_modules).
  await assertOutDir(outDir, ownPaths(instances), { reading: true });
  const unusable = await unusablePaths(outDir, instances);
  const files: FileRow[] = [];
  const { scanned, certs, kubeconfigs } = await loadFolder(outDir, instances, files);
  if (certs.length + kubeconfigs.length === 0)
    throw new UserError(`--out ${JSON.stringify(out)}: no certificates (*.crt, *.pem) or kubeconfigs in ${outDir}; is it the PKI folder?`, EXIT.badInput);
  const { certMatches, kcMatches } = matchToCatalog(instances, certs, kubeconfigs);
  const caMatches = certMatches.filter((m) => isCaMatch(m, certs));
  const ctx: Context = {
    outDir,
    profile: cluster.profile,
    now,
    warnDays: options.warnDays,
    byInstance: new Map(certMatches.filter((m) => m.instance && m.file).map((m) => [m.instance!.name, m])),
    cas: caMatches.flatMap((m) => (m.file?.facts ? [{ file: m.file.file, cert: m.file.facts.cert, facts: m.file.facts }] : [])),
    overlap: await rotationOverlap(instances, outDir),
    unusable,
    instances,
  };

  const cas = await Promise.all(caMatches.map((m) => certRow(m, true, ctx)));
  const leaves = await Promise.all(certMatches.filter((m) => !caMatches.includes(m)).map((m) => certRow(m, false, ctx)));
  const kcRows = await Promise.all(kcMatches.map((m) => kubeconfigRow(m, ctx)));
  const keyPairs = await Promise.all(instances.keyPairs.map((kp) => keyPairRow(kp, outDir, unusable)));
  const copies = (await Promise.all(instances.copies.flatMap((c) => c.files.map((f) => copyRow(c, f, outDir, unusable))))).filter(notNull);
  const saRotation = await saRotationRows(instances, outDir);
  const usedKeys = new Set([...cas, ...leaves].flatMap((r) => (r.keyFile ? [normalize(r.keyFile)] : [])));
  for (const p of saRotation.paths) usedKeys.add(normalize(p));
  files.push(...(await keyRows(cluster, instances, outDir, scanned, usedKeys)), ...saRotation.rows);
  files.sort((a, b) => a.file.localeCompare(b.file));
  const backups = await backupRows(outDir, now);
  // The CA that signs user certificates now: one signed by an earlier CA is worth a note.
  const userCa = instances.certs.find((c) => c.spec.id === 'ca' && !c.caName);
  const users = await userRows(outDir, now, ctx.byInstance.get(userCa?.name ?? '')?.file?.facts?.cert.fingerprint256);
  files.push(...users.files);
  const encryption = await encryptionRow(outDir, instances);
  const checked = report(cluster, ctx, { cas, leaves, kcRows, keyPairs, copies, files, backups, users: users.users, encryption }, [...certMatches, ...kcMatches]);
  // The hard way's new token certificate is the rotation's (listed under files), not outside the catalog.
  checked.catalog.unknown = checked.catalog.unknown.filter((f) => !saRotation.paths.has(f));
  return checked;
}

/** CAs whose rotation is between start and finish: a bundle in a trust location is right then. */
async function rotationOverlap(instances: Instances, outDir: string): Promise<Context['overlap']> {
  const caNames = instances.certs.filter((c) => !c.caName).map((c) => c.name);
  const snap = await readSnapshot(outDir, rotationPaths(instances, caNames), { unusableAsAbsent: true });
  const overlap: Context['overlap'] = new Map();
  for (const ca of instances.certs.filter((c) => !c.caName)) {
    const r = caRotation(ca, snap);
    if (r.state === 'start' || r.state === 'reissue') overlap.set(ca.name, { bundleFile: r.files.bundle, bundle: snap.get(r.files.bundle) ?? null, old: r.previous });
  }
  return overlap;
}

/** The folder --out names, which must exist and be a folder. */
async function folderToCheck(out: string): Promise<string> {
  const outDir = resolve(out);
  const st = await stat(outDir).catch(() => null);
  if (!st?.isDirectory()) throw new UserError(`--out ${JSON.stringify(out)}: ${st ? 'is not a folder' : 'no such folder'} (${outDir})`, EXIT.badInput);
  return outDir;
}

/**
 * The folder's certificates and kubeconfigs, parsed (copies in node trees left out: they are judged
 * against their source). A kubeconfig that cannot be read becomes a problem row in `files`.
 */
async function loadFolder(outDir: string, instances: Instances, files: FileRow[]) {
  const scanned = await scanFolder(outDir, [...withRoot(instances).map((c) => c.certPath), ...instances.kubeconfigs.map((k) => k.path)]);
  // Copies of shared files in node trees are judged against their source, not as certificates of their own.
  const copyTargets = new Set(instances.copies.flatMap((c) => c.files.map((f) => normalize(f.to))));
  scanned.certs = scanned.certs.filter((f) => !copyTargets.has(normalize(f)));
  // A kubeconfig that cannot be read (a dangling symbolic link) is a problem row, not a crash.
  const readKubeconfig = (f: string) =>
    loadKubeconfig(outDir, f).catch((err: unknown) => {
      files.push(fileRow(f, null, [problem('error', 'unreadable', `${f} ${readErrorText(err)}`)]));
      return null;
    });
  const [certs, kubeconfigs] = await Promise.all([
    Promise.all(scanned.certs.map((f) => loadCert(outDir, f))).then((l) => l.filter(notNull)),
    Promise.all(scanned.kubeconfigs.map(readKubeconfig)).then((l) => l.filter(notNull)),
  ]);
  return { scanned, certs, kubeconfigs };
}

/** The root CA (rootCA) is judged with the catalog's CAs; it heads the CA table. */
const withRoot = (instances: Instances): CertInstance[] => [...(instances.root ? [instances.root] : []), ...instances.certs];

/** Ties files to catalog entries: by path, else by CN (a kubeconfig by its client certificate's CN). */
function matchToCatalog(instances: Instances, certs: LoadedCert[], kubeconfigs: LoadedKubeconfig[]): { certMatches: CertMatch[]; kcMatches: KubeconfigMatch[] } {
  const certMatches = matchFiles(withRoot(instances), certs, {
    instancePath: (i) => i.certPath,
    filePath: (f) => f.file,
    instanceCn: (i) => i.subject.cn,
    fileCn: (f) => f.facts?.cn ?? null,
  });
  const cnOf = new Map(instances.certs.map((c) => [c.name, c.subject.cn]));
  const kcMatches = matchFiles(instances.kubeconfigs, kubeconfigs, {
    instancePath: (k) => k.path,
    filePath: (f) => f.file,
    instanceCn: (k) => cnOf.get(k.certName) ?? '',
    fileCn: (f) => f.cn,
  });
  return { certMatches, kcMatches };
}

/**
 * A catalog CA; outside the catalog a certificate is a CA if it says so, or if it is self-signed and
 * signs another certificate of the folder (a v1 CA made by hand); a self-signed server certificate is not one.
 */
function isCaMatch(m: CertMatch, certs: LoadedCert[]): boolean {
  const signsOthers = (f: LoadedCert) => certs.some((o) => o !== f && o.facts && f.facts && issuedBy(o.facts.cert, f.facts.cert));
  return m.instance ? !m.instance.caName : !!m.file?.facts && (!!m.file.ext?.basicConstraints?.ca || (selfIssued(m.file.facts) && signsOthers(m.file)));
}

const fileRow = (file: string, catalog: string | null, problems: Problem[]): FileRow => ({ file, catalog, status: statusOf(problems), problems });

/**
 * Private keys outside the catalog: a *.key file no catalog entry names and no certificate of the
 * folder uses is a warning (a backup, a stray copy?). Any private key (a key file or a kubeconfig's
 * embedded key) in the tree of a worker or load balancer that is the key of a catalog CA is an error,
 * whatever its name: those nodes never hold a CA key.
 */
async function keyRows(
  cluster: Cluster,
  instances: Instances,
  outDir: string,
  scanned: { keys: string[]; all: string[] },
  usedKeys: Set<string>,
): Promise<FileRow[]> {
  const catalogKeys = new Map<string, string>([
    ...withRoot(instances).map((c) => [normalize(c.keyPath), c.name] as const),
    ...instances.keyPairs.map((k) => [normalize(k.keyPath), k.name] as const),
    ...instances.copies.flatMap((c) => c.files.filter((f) => f.part === 'key').map((f) => [normalize(f.to), c.name] as const)),
  ]);
  const rows = new Map<string, FileRow>();
  for (const f of scanned.keys) {
    const file = normalize(f);
    if (catalogKeys.has(file) || usedKeys.has(file)) continue;
    rows.set(file, fileRow(f, null, [problem('warning', 'key-not-in-catalog', `${f}: a private key file that is not in the ${cluster.profile} catalog and belongs to no certificate here (a stray copy? remove it)`)]));
  }
  // The root CA's key is in no node's tree, control planes included; the others' not on workers.
  const guarded = cluster.nodes.filter((n) => n.role !== 'controlplane' || instances.root).map((n) => `${n.name}/`);
  const inGuardedTree = scanned.all.filter((f) => guarded.some((p) => f.startsWith(p)));
  if (inGuardedTree.length) {
    const cas = await caPublicKeys(instances, outDir);
    for (const f of inGuardedTree) {
      const ca = await caKeyIn(outDir, f, cas);
      const node = cluster.nodes.find((n) => f.startsWith(`${n.name}/`))!;
      if (!ca || (ca !== instances.root && node.role === 'controlplane')) continue;
      const file = normalize(f);
      rows.set(
        file,
        fileRow(f, catalogKeys.get(file) ?? null, [
          ca === instances.root
            ? problem('error', 'root-key-on-node', `${f} holds the root CA's private key (${ca.keyPath}); it never leaves the admin's folder, not even to a control plane: remove it`)
            : problem('error', 'ca-key-on-node', `${f} holds the private key of CA ${ca.name} (${ca.certPath}); ${node.name} is a ${node.role} node and never gets a CA key: remove it`),
        ]),
      );
    }
  }
  // A root in a token has no key file: one in the folder is a copy that should not exist (gen refuses it).
  const rootKey = instances.root && instances.rootToken ? normalize(instances.root.keyPath) : undefined;
  if (rootKey && scanned.keys.some((f) => normalize(f) === rootKey))
    rows.set(
      rootKey,
      fileRow(instances.root!.keyPath, instances.root!.name, [
        problem('error', 'root-key-file-with-token', `${instances.root!.keyPath}: rootCA.pkcs11 keeps the root CA key in the token ${instances.rootToken!.uri}, so no file may hold one: move it away (gen refuses to run beside it)`),
      ]),
    );
  return [...rows.values()];
}

function report(
  cluster: Cluster,
  ctx: Context,
  rows: { cas: CertRow[]; leaves: CertRow[]; kcRows: KubeconfigRow[]; keyPairs: KeyPairRow[]; copies: CopyRow[]; files: FileRow[]; backups: BackupRow[]; users: UserCertRow[]; encryption: EncryptionRow | null },
  matches: (CertMatch | KubeconfigMatch)[],
): CheckReport {
  const all = [...rows.cas, ...rows.leaves, ...rows.kcRows, ...rows.keyPairs, ...rows.copies, ...rows.files, ...rows.backups, ...rows.users, ...(rows.encryption ? [rows.encryption] : [])].flatMap((r) => r.problems);
  const count = (s: Problem['severity']) => all.filter((p) => p.severity === s).length;
  const pathOf = (i: CertInstance | KubeconfigInstance) => ('certPath' in i ? i.certPath : i.path);
  const summary = {
    certificates: rows.leaves.filter((r) => r.present).length,
    cas: rows.cas.filter((r) => r.present).length,
    kubeconfigs: rows.kcRows.filter((r) => r.present).length,
    errors: count('error'),
    warnings: count('warning'),
    notes: count('note'),
  };
  return {
    outDir: ctx.outDir,
    profile: cluster.profile,
    source: cluster.source,
    checkedAt: ctx.now.toISOString(),
    warnDays: ctx.warnDays,
    result: summary.errors + summary.warnings ? 'problems' : 'ok',
    summary,
    cas: rows.cas,
    certificates: rows.leaves,
    kubeconfigs: rows.kcRows,
    keyPairs: rows.keyPairs,
    copies: rows.copies,
    files: rows.files,
    backups: rows.backups,
    users: rows.users,
    encryption: rows.encryption,
    catalog: {
      recognised: matches.flatMap((m) => (m.instance && m.file && m.by ? [{ name: m.instance.name, file: m.file.file, by: m.by }] : [])),
      missing: matches.flatMap((m) => (m.instance && !m.file ? [{ name: m.instance.name, file: pathOf(m.instance) }] : [])),
      unknown: matches.flatMap((m) => (!m.instance && m.file ? [m.file.file] : [])),
    },
  };
}

function missingRow<T extends CertRow | KubeconfigRow>(file: string, name: string, rest: Omit<T, keyof CertRow & keyof KubeconfigRow>, unusable: Unusable): T {
  return {
    file,
    catalog: name,
    matchedBy: null,
    present: false,
    ca: null,
    notAfter: null,
    residualDays: null,
    status: 'error',
    problems: [absent(unusable, file, problem('error', 'missing', `${file} not found (catalog entry ${name})`))],
    ...rest,
  } as T;
}

const emptyCert = { keyFile: null, subject: null, issuer: null, serial: null, notBefore: null, sans: null, sanCheck: null, keyUsage: null, extendedKeyUsage: null };

function matchNotes(m: { instance: { name: string } | null; by: 'file' | 'cn' | null }, expectedFile: string | undefined, ctx: Context): Problem[] {
  if (m.by === 'cn') return [problem('note', 'matched-by-cn', `recognised as catalog entry ${m.instance!.name} by its CN (the catalog names it ${expectedFile})`)];
  if (!m.instance) return [problem('note', 'not-in-catalog', `not in the ${ctx.profile} catalog: only chain, key, validity and mode are checked`)];
  return [];
}

/** A catalog CA without its key: lost (error) or external (a note saying what that costs). */
async function caKeyAbsent(inst: CertInstance, pem: Buffer, ctx: Context): Promise<Problem> {
  const token = inst === ctx.instances.root ? ctx.instances.rootToken : undefined;
  if (token)
    return problem('note', 'root-key-in-token', `the root CA key is in the PKCS#11 token ${token.uri} (module ${token.module ?? 'SoftHSM2\'s'}), not in a file: it signs intermediates only there (gen, rotate-ca start with --ca-pin-file)`);
  const lost = inst.declaredExternal || inst === ctx.instances.root ? null : await heldKeyEvidence(ctx.outDir, ctx.instances, inst, pem);
  if (lost)
    return problem(
      'error',
      'ca-key-lost',
      `${inst.keyPath} is missing, but this folder held it (${lost}): restore it; if it is kept elsewhere on purpose, declare externalCAs: [${inst.name}]; if it is lost, kube-pki gen --replace-ca`,
    );
  // What the key would do on a node: the components that sign with it go without.
  const signers = [...new Set((inst.spec.uses ?? []).filter((u) => u.part === 'key' && isSigningFlag(u.flag)).map((u) => `${u.component} ${u.flag}`))];
  const cost = signers.length
    ? `; without it ${signers.join(', ')} cannot be set, so the controller-manager cannot sign kubelet (and other CSR API) certificates: approve and sign those elsewhere`
    : '';
  return problem('note', 'ca-key-absent', `no ${inst.keyPath}: an external CA whose key is kept elsewhere${inst.declaredExternal ? ' (externalCAs)' : ''}; kube-pki signs nothing with it${cost}`);
}

async function certRow(m: CertMatch, isCa: boolean, ctx: Context): Promise<CertRow> {
  const inst = m.instance;
  if (!m.file) return missingRow<CertRow>(inst!.certPath, inst!.name, { isCa, ...emptyCert }, ctx.unusable);
  const { file, facts, ext } = m.file;
  const base: CertRow = { file, catalog: inst?.name ?? null, matchedBy: m.by, present: true, isCa, ...emptyCert, ca: null, notAfter: null, residualDays: null, status: 'error', problems: [] };
  if (!facts) return { ...base, problems: [problem('error', 'unreadable', `${file}: ${m.file.error}`)] };

  const problems: Problem[] = matchNotes(m, inst?.certPath, ctx);
  // As gen does: an external CA keeps its own name and issuer; its file must chain up to its root.
  const external = !!inst && isExternalCa(inst, facts);
  const issuer = selfIssued(facts) ? 'self-signed' : `issued by ${facts.issuer.replace(/\n/g, ', ')}`;
  if (external) problems.push(problem('note', 'external-ca', `external CA ${cnText(facts)} (${issuer}): used as it is, as gen does`));
  else if (inst) problems.push(...subjectProblems(inst, facts).map((message) => problem('error', 'subject', message)));
  if (inst && !inst.caName) problems.push(...chainProblems(file, m.file.pem).map((message) => problem('error', 'chain', message)));
  const sanCheck = inst ? sanDiff(inst.sans, facts.sans) : null;
  if (sanCheck?.missing.length) problems.push(problem('error', 'san-missing', `SANs missing: ${sanCheck.missing.join(', ')}`));
  if (sanCheck?.unexpected.length) problems.push(problem('warning', 'san-unexpected', `SANs not in the description: ${sanCheck.unexpected.join(', ')}`));
  if (ext) problems.push(...usageRules(ext, inst?.spec.kind ?? (isCa ? 'ca' : null), facts.cert.publicKey.asymmetricKeyType === 'rsa', external));
  else problems.push(problem('error', 'extensions', `${file}: ${m.file.error}`));
  problems.push(...validityProblems(facts.notBefore, facts.notAfter, ctx.now, ctx.warnDays));

  const key = await findKey(ctx.outDir, file, m.by === 'file' ? inst!.keyPath : null);
  // Something unusable in the key's place, as gen reports it (never taken for an absent key).
  if (!key && inst && ctx.unusable.has(normalize(inst.keyPath))) problems.push(absent(ctx.unusable, inst.keyPath, problem('error', 'key-missing', '')));
  // A CA certificate without its key: a lost key when this folder held it (an error, as gen says),
  // else an external CA (declared, or never held here) whose leaves come signed (kube-pki csr).
  else if (!key && inst && !inst.caName) problems.push(await caKeyAbsent(inst, m.file.pem, ctx));
  else if (key || inst) problems.push(...keyRules(facts.cert, key, m.by === 'file' ? inst!.keyPath : file.replace(/\.[^.]+$/, '.key')));
  else problems.push(problem('note', 'key-not-found', 'no key found next to it'));
  problems.push(...certModeRules(file, m.file.mode));

  const chain = chainRules(facts, isCa, inst, ctx);
  problems.push(...chain.problems);
  return {
    ...base,
    keyFile: key?.file ?? null,
    subject: { cn: facts.cn, o: facts.o },
    issuer: facts.issuer.replace(/\n/g, ', '),
    serial: facts.serial,
    notBefore: facts.notBefore.toISOString(),
    notAfter: facts.notAfter.toISOString(),
    residualDays: residualDays(facts.notAfter, ctx.now),
    sans: facts.sans,
    sanCheck,
    keyUsage: ext?.keyUsage?.usages ?? null,
    extendedKeyUsage: ext?.extendedKeyUsage?.usages ?? null,
    ca: chain.ca,
    status: statusOf(problems),
    problems,
  };
}

/** Which CA of the folder signed it, and whether that is the CA the catalog says (and still valid). */
function chainRules(facts: CertFacts, isCa: boolean, inst: CertInstance | null, ctx: Context): { ca: string | null; problems: Problem[] } {
  const signer = ctx.cas.find((ca) => issuedBy(facts.cert, ca.cert));
  const signerText = signer
    ? `signed by ${signer.file} (${cnText(signer.facts)})`
    : `its issuer ${facts.issuer.replace(/\n/g, ', ')} is not in this folder`;
  if (isCa && inst?.root) return rootChainRules(facts, inst, ctx);
  if (isCa && (inst ? !inst.caName : selfIssued(facts))) {
    // An intermediate (an external CA) is issued elsewhere: its file holds the chain (chainProblems).
    if (issuedBy(facts.cert, facts.cert) || !selfIssued(facts)) return { ca: null, problems: [] };
    return { ca: null, problems: [problem('error', 'chain', `a root CA must be self-signed, but its signature does not verify with its own key`)] };
  }
  let ca = signer ?? null;
  const problems: Problem[] = [];
  if (inst?.caName) {
    const expected = ctx.byInstance.get(inst.caName)?.file;
    const want = expected && ctx.cas.find((c) => c.file === expected.file);
    if (!want) problems.push(problem('error', 'chain', `its CA ${inst.ca!.certPath} is missing or unreadable`));
    else if (!issuedBy(facts.cert, want.cert)) {
      const old = ctx.overlap.get(inst.caName)?.old;
      if (old && issuedBy(facts.cert, old))
        problems.push(problem('warning', 'old-ca', `signed by the CA being replaced (CA rotation under way): kube-pki rotate-ca reissue re-issues it`));
      else
        problems.push(problem('error', 'chain', `not signed by its CA ${want.file} (${cnText(want.facts)}): ${signerText}`));
      ca = null;
    } else ca = want;
  } else if (!signer && selfIssued(facts) && issuedBy(facts.cert, facts.cert))
    problems.push(problem('note', 'self-signed', 'self-signed: no CA of this folder vouches for it'));
  else if (!signer) problems.push(problem('note', 'issuer-unknown', `${signerText}: chain not checked`));
  if (ca) {
    const caProblems = validityProblems(ca.facts.notBefore, ca.facts.notAfter, ctx.now, 0, `its CA ${ca.file} `);
    problems.push(...caProblems.map((p) => ({ ...p, code: `ca-${p.code}` })));
  }
  return { ca: ca?.file ?? null, problems };
}

/** An intermediate of the root CA (rootCA): issued by the root, pathlen:0, within the root's validity. */
function rootChainRules(facts: CertFacts, inst: CertInstance, ctx: Context): { ca: string | null; problems: Problem[] } {
  const root = inst.root!;
  const file = ctx.byInstance.get(root.name)?.file;
  const rootCert = file?.facts?.cert ?? null;
  const { problems, notUnderRoot } = intermediateProblems(facts, rootCert, root.certPath);
  // rotate-ca start adopting the root: the old CA stays trusted through the overlap and reissue replaces it.
  const adopting = notUnderRoot && ctx.overlap.has(inst.name);
  const fix = adopting
    ? ': the CA being replaced by the rotation under way (its new CA is the root\'s); rotate-ca reissue and finish end it'
    : notUnderRoot
      ? ': rotate-ca start (no outage) or gen --replace-ca makes it an intermediate of the root'
      : '';
  return { ca: notUnderRoot ? null : root.certPath, problems: problems.map((p) => problem(adopting ? 'note' : 'error', 'root-chain', `${p}${fix}`)) };
}

async function kubeconfigRow(m: KubeconfigMatch, ctx: Context): Promise<KubeconfigRow> {
  const inst = m.instance;
  const rest = { server: null, expectedServer: inst?.server ?? null, user: null };
  if (!m.file) return missingRow<KubeconfigRow>(inst!.path, inst!.name, rest, ctx.unusable);
  const kc = m.file;
  const problems: Problem[] = matchNotes(m, inst?.path, ctx);
  // What the catalog says to take care of (super-admin.conf locked away, admin.conf's binding applied).
  if (inst?.spec.explain.caution) problems.push(problem('note', 'caution', inst.spec.explain.caution));
  if (kc.key.embedded) problems.push(...secretModeRules(kc.file, kc.mode, 'kubeconfig-mode', 'a kubeconfig that embeds a private key'));
  if (inst && kc.server !== inst.server) problems.push(problem('error', 'kubeconfig-server', `server is ${kc.server ?? 'missing'}, expected ${inst.server}`));
  // The names gen compares (current context, cluster, user): gen leaves a kubeconfig that differs stale.
  if (inst) for (const d of kubeconfigNameDifferences(kc.text, inst)) problems.push(problem('warning', 'kubeconfig-names', `${d} (gen leaves it stale; --force rewrites it)`));

  const caCert = tryCert(kc.ca.pem);
  const overlap = inst ? ctx.overlap.get(inst.caName) : undefined;
  const wantCa = inst ? ctx.cas.find((c) => c.file === ctx.byInstance.get(inst.caName)?.file?.file) : undefined;
  let ca: string | null = null;
  if (!caCert) problems.push(problem('error', 'kubeconfig-ca', `${kc.ca.where}: ${kc.ca.pem ? 'not a PEM certificate' : 'missing'}`));
  else if (inst && !wantCa) problems.push(problem('error', 'kubeconfig-ca', `cannot compare the embedded CA: its CA file is missing`));
  else if (inst && overlap && kc.ca.pem && overlap.bundle?.equals(kc.ca.pem)) {
    ca = wantCa!.file;
    problems.push(problem('note', 'rotation-bundle', `embeds ${overlap.bundleFile} (old and new CA): right while a CA rotation is under way`));
  } else if (wantCa && caCert.fingerprint256 !== wantCa.cert.fingerprint256)
    problems.push(
      problem('error', 'kubeconfig-ca', `embedded CA (${caCert.subject.replace(/\n/g, ', ')}, SHA-256 ${caCert.fingerprint256.slice(0, 23)}…) differs from ${wantCa.file} (${cnText(wantCa.facts)}, SHA-256 ${wantCa.cert.fingerprint256.slice(0, 23)}…)`),
    );
  else ca = (wantCa ?? ctx.cas.find((c) => c.cert.fingerprint256 === caCert.fingerprint256))?.file ?? null;
  if (caCert && !ca && !inst) problems.push(problem('note', 'kubeconfig-ca-unknown', 'its embedded CA is not a CA of this folder'));

  const cert = tryCert(kc.cert.pem);
  let notAfter: Date | null = null;
  if (!cert) problems.push(problem('error', 'kubeconfig-cert', `${kc.cert.where}: ${kc.cert.pem ? 'not a PEM certificate' : 'missing'}`));
  else {
    notAfter = new Date(cert.validTo);
    problems.push(...validityProblems(new Date(cert.validFrom), notAfter, ctx.now, ctx.warnDays, 'client certificate '));
    const signer = wantCa?.cert ?? caCert;
    if (signer && !issuedBy(cert, signer) && !(overlap?.old && issuedBy(cert, overlap.old))) problems.push(problem('error', 'kubeconfig-cert-chain', `client certificate is not signed by ${wantCa?.file ?? 'the embedded CA'}`));
    const onDisk = inst ? ctx.byInstance.get(inst.certName)?.file?.facts : undefined;
    if (onDisk && !onDisk.cert.raw.equals(cert.raw))
      problems.push(
        problem('error', 'kubeconfig-cert-stale', `embeds a client certificate (serial ${cert.serialNumber}) other than ${ctx.byInstance.get(inst!.certName)!.file!.file} (serial ${onDisk.serial}): re-render it with kube-pki renew ${inst!.certName}`),
      );
  }
  const key = kc.key.pem ? privateKey(kc.key.pem) : null;
  if (!key) problems.push(problem('error', 'kubeconfig-key', `${kc.key.where}: ${kc.key.pem ? 'not a readable private key' : 'missing'}`));
  else if (cert && !cert.checkPrivateKey(key)) problems.push(problem('error', 'kubeconfig-key', `${kc.key.where} is not the key of the embedded client certificate`));

  return {
    file: kc.file,
    catalog: inst?.name ?? null,
    matchedBy: m.by,
    present: true,
    ca,
    notAfter: notAfter?.toISOString() ?? null,
    residualDays: notAfter ? residualDays(notAfter, ctx.now) : null,
    server: kc.server,
    expectedServer: inst?.server ?? null,
    user: cert ? (/^CN=(.*)$/m.exec(cert.subject)?.[1] ?? null) : null,
    status: statusOf(problems),
    problems,
  };
}

async function keyPairRow(kp: KeyPairInstance, outDir: string, unusable: Unusable): Promise<KeyPairRow> {
  const [keyPem, pubPem] = await Promise.all([readOrNull(join(outDir, kp.keyPath)), readOrNull(join(outDir, kp.pubPath))]);
  const problems: Problem[] = [];
  const key = keyPem ? privateKey(keyPem) : null;
  if (!keyPem) problems.push(absent(unusable, kp.keyPath, problem('error', 'missing', `${kp.keyPath} not found (catalog entry ${kp.name})`)));
  else {
    if (!key) problems.push(problem('error', 'key-unreadable', `${kp.keyPath} is not a readable private key`));
    problems.push(...secretModeRules(kp.keyPath, (await stat(join(outDir, kp.keyPath))).mode & 0o777, 'key-mode', 'a private key'));
  }
  if (!pubPem) problems.push(absent(unusable, kp.pubPath, problem('error', 'missing', `${kp.pubPath} not found (catalog entry ${kp.name})`)));
  else if (key) {
    if (!samePublicKey(key, pubPem)) problems.push(problem('error', 'key-mismatch', `${kp.pubPath} is not the public half of ${kp.keyPath}`));
  }
  return { keyFile: kp.keyPath, pubFile: kp.pubPath, catalog: kp.name, status: statusOf(problems), problems };
}

async function copyRow(copy: CopyInstance, f: CopyFile, outDir: string, unusable: Unusable): Promise<CopyRow | null> {
  const [source, target] = await Promise.all([readOrNull(join(outDir, f.from)), readOrNull(join(outDir, f.to))]);
  // Neither source nor copy (an external CA's key): nothing to copy, as gen sees it.
  if (!source && !target && !unusable.has(normalize(f.to))) return null;
  const problems: Problem[] = [];
  if (!target) problems.push(absent(unusable, f.to, problem('error', 'missing', `${f.to} not found (copy of ${f.from} for ${copy.node.name})`)));
  else {
    if (source && !source.equals(target)) problems.push(problem('error', 'copy-differs', `${f.to} differs from its source ${f.from}`));
    const mode = (await stat(join(outDir, f.to))).mode & 0o777;
    problems.push(...(f.part === 'key' ? secretModeRules(f.to, mode, 'key-mode', 'a private key') : certModeRules(f.to, mode)));
  }
  return { file: f.to, from: f.from, catalog: copy.name, status: statusOf(problems), problems };
}
