import { readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Cluster } from '../model/cluster.js';
import { EXIT, UserError } from '../errors.js';
import { assertOutDir, runLocked } from '../exec/run-locked.js';
import { assertNothingUnfinished } from '../exec/unfinished.js';
import { passphraseFile } from '../exec/passphrase.js';
import { runContext } from '../exec/run-plan.js';
import { inspectDisk, readIfExists, type DiskState } from '../inspect/disk.js';
import { certFacts, privateKey } from '../inspect/x509.js';
import { checkOpenssl } from '../openssl/run.js';
import { instancesFor, ownPaths } from '../pki.js';
import type { CertInstance, Instances } from '../model/instances.js';
import { planPki } from '../plan/plan.js';
import type { Plan, PlanItem } from '../model/steps.js';
import { DAY_MS } from '../model/time.js';
import { certUses, kubeconfigUses, restartsFor, type Restart } from '../catalog/restart.js';
import { lookupCerts } from '../catalog/select.js';
import { signsTokens } from '../catalog/tokens.js';
import { KUBEADM_ALL, KUBEADM_RENEW_NAMES, kubeadmNameCerts } from './kubeadm-names.js';

export interface RenewOptions {
  names: string[];
  all?: boolean;
  /** Only those that expire within this many days. */
  expiringWithin?: number;
  newKey?: boolean;
  dryRun?: boolean;
  json?: boolean;
  concurrency?: number;
  now?: Date;
  /** Accepted and checked like gen's; renew never signs with the root CA, so never needs it. */
  caPassphraseFile?: string;
}

interface CertDates {
  serial: string;
  notAfter: string;
}

export interface RenewedCert {
  name: string;
  file: string;
  keyFile: string;
  newKey: boolean;
  before: CertDates;
  /** null when it failed (see error) or on a dry run. */
  after: CertDates | null;
  error?: string;
}

/** A file rewritten because a renewed certificate changed: a kubeconfig, or a copy in a node tree. */
export interface Follower {
  name: string;
  file: string;
  error?: string;
}

export interface RenewReport {
  outDir: string;
  profile: string;
  source: string;
  /** nothing: no certificate matched (e.g. none expires within --expiring-within). */
  result: 'ok' | 'failed' | 'nothing' | 'dry-run';
  expiringWithin: number | null;
  renewed: RenewedCert[];
  kubeconfigs: Follower[];
  /** Node trees (kubeadm): the copies of the renewed shared files, updated after their source. */
  copies: Follower[];
  /** Files rewritten in the PKI folder: what `kube-pki distribute` will send. */
  changed: string[];
  backupDir: string | null;
  /** Running components that must restart to load the changed files. */
  restart: Restart[];
  /** Command-line clients (kubectl, etcdctl): they read the new files on their next run. */
  clients: Restart[];
  /** Consequences to know before restarting (e.g. a new token-signing key). */
  warnings: string[];
}

export interface RenewResult {
  exitCode: number;
  report: RenewReport;
  plan: Plan | null;
}

/**
 * Profile kubeadm also takes kubeadm's names (`kubeadm certs renew admin.conf`, `all`): `all` is --all,
 * the others their certificates (kubeadm-names.ts). Kube-pki's own names are looked up first.
 */
function withKubeadmNames(profile: string, options: RenewOptions): RenewOptions {
  if (profile !== 'kubeadm' || !options.names.includes(KUBEADM_ALL)) return options;
  if (options.all || options.names.length > 1)
    throw new UserError(`renew: give ${KUBEADM_ALL} (or --all) alone, not with other names (names: ${options.names.join(', ')})`, EXIT.badInput);
  return { ...options, names: [], all: true };
}

/** What renew takes, for the error about a name it does not know: the leaves, and kubeadm's names in that profile. */
function knownNames(profile: string, instances: Instances): string[] {
  const leaves = instances.certs.filter((c) => c.caName).map((c) => c.name);
  if (profile !== 'kubeadm') return leaves;
  return [...leaves, ...KUBEADM_RENEW_NAMES.filter((n) => kubeadmNameCerts(instances, n)), KUBEADM_ALL];
}

/** The leaf certificates the command line asks for; CAs are refused. */
function requested(profile: string, instances: Instances, given: RenewOptions): CertInstance[] {
  const options = withKubeadmNames(profile, given);
  if (options.all && options.names.length) throw new UserError(`give certificate names or --all, not both (names: ${options.names.join(', ')})`, EXIT.badInput);
  if (!options.all && !options.names.length && options.expiringWithin === undefined)
    throw new UserError('name the certificates to renew, or give --all or --expiring-within DAYS', EXIT.badInput);
  if (!options.names.length) return instances.certs.filter((c) => c.caName);
  const leaves = instances.certs.filter((c) => c.caName);
  const picked = new Map<string, CertInstance>();
  for (const name of options.names) {
    const found = lookupCerts(instances, name);
    const certs = found.length ? found : profile === 'kubeadm' ? kubeadmNameCerts(instances, name) : null;
    if (!certs) throw new UserError(`renew: unknown certificate ${JSON.stringify(name)}; known: ${knownNames(profile, instances).join(', ')}`, EXIT.badInput);
    for (const cert of certs) {
      if (!cert.caName)
        throw new UserError(`renew: ${JSON.stringify(name)} is a CA; renew never renews a CA (kube-pki renew-ca renews one with its key; gen --replace-ca or rotate-ca replaces it)`, EXIT.badInput);
      picked.set(cert.name, cert);
    }
  }
  return [...picked.values()];
}

/** Everything renew needs is on disk: each certificate and its key, and a usable CA. */
async function assertRenewable(outDir: string, certs: CertInstance[], disk: DiskState, now: Date): Promise<void> {
  const problems: string[] = [];
  const cas = new Set(certs.map((c) => c.caName!));
  for (const caName of cas) {
    const ca = certs.find((c) => c.caName === caName)!.ca!;
    const facts = disk.certs.get(caName)?.facts;
    const keyPem = await readIfExists(join(outDir, ca.keyPath));
    const key = keyPem ? privateKey(keyPem) : null;
    if (!facts) problems.push(`${ca.certPath}: the CA certificate is missing or unreadable`);
    else if (!key) problems.push(`${ca.keyPath}: the CA key is missing or unreadable; renew signs with it`);
    else if (!facts.cert.checkPrivateKey(key)) problems.push(`${ca.keyPath} is not the key of ${ca.certPath}: certificates signed with it would not verify`);
    else if (facts.notAfter <= now) problems.push(`${ca.certPath} expired on ${facts.notAfter.toISOString()}: renewing leaves cannot help; replace the CA with gen --replace-ca`);
  }
  for (const cert of certs) {
    const s = disk.certs.get(cert.name);
    if (!s?.certExists || !s.facts) problems.push(`${cert.certPath}: missing or unreadable; renew re-issues existing certificates (kube-pki gen makes missing ones)`);
    if (!s?.keyExists) problems.push(`${cert.keyPath}: missing; kube-pki gen makes a new key and certificate`);
    else if (s.keyUnreadable) problems.push(`${cert.keyPath}: not a readable private key; restore it, or move it away and run kube-pki gen`);
  }
  if (problems.length) throw new UserError(`renew: nothing was changed:\n${problems.join('\n')}`, EXIT.badInput);
}

/**
 * The generation plan with `reissue`, narrowed to the chosen certificates and what follows them:
 * nothing else is touched (a missing file elsewhere is gen's business, not renew's). `left`: followers
 * the planner will not touch, e.g. a copy in a node tree that differs from its source.
 */
export function renewPlan(profile: string, instances: Instances, disk: DiskState, targets: ReadonlySet<string>, newKey: boolean): { plan: Plan; left: PlanItem[] } {
  const plan = planPki(profile, instances, disk, { reissue: targets, newKey });
  // Also the kubeconfigs that embed them and, in node trees, their copies on each node.
  const followers = new Set([
    ...instances.kubeconfigs.filter((k) => targets.has(k.certName)).map((k) => k.name),
    ...instances.copies.filter((c) => targets.has(c.source)).map((c) => c.name),
  ]);
  const wanted = plan.items.filter((item) => targets.has(item.name) || followers.has(item.name));
  return { plan: { ...plan, items: wanted.filter((item) => item.steps.length > 0) }, left: wanted.filter((item) => item.action === 'stale') };
}

/** The files a group of plan items rewrites, one row each. */
const followersOf = (items: PlanItem[]): Follower[] => items.flatMap((i) => i.outputs.map((file) => ({ name: i.name, file })));

const TOKEN_WARNING =
  'with a new key, tokens signed with the old one fail until they are refreshed; to avoid that, give kube-apiserver the old ' +
  'certificate (from the backup folder) as a second --service-account-key-file';

/** Planned certificates that are no longer the ones planned for: another run replaced them. */
export const replacedMeanwhile = (renewed: RenewedCert[], disk: DiskState): RenewedCert[] =>
  renewed.filter((r) => disk.certs.get(r.name)?.facts?.serial !== r.before.serial);

const dates = (facts: { serial: string; notAfter: Date }): CertDates => ({ serial: facts.serial, notAfter: facts.notAfter.toISOString() });

/** The folder renew works in: it must exist (renew re-issues what is there). */
async function existingOutDir(out: string): Promise<string> {
  const outDir = resolve(out);
  if (!(await stat(outDir).catch(() => null))?.isDirectory()) throw new UserError(`--out ${JSON.stringify(out)}: no such folder (${outDir})`, EXIT.badInput);
  return outDir;
}

/** With --expiring-within DAYS, only the certificates that expire before then. */
function expiringOnly(certs: CertInstance[], disk: DiskState, days: number | undefined, now: Date): CertInstance[] {
  const limit = days === undefined ? null : now.getTime() + days * DAY_MS;
  return certs.filter((c) => limit === null || disk.certs.get(c.name)!.facts!.notAfter.getTime() < limit);
}

/** The report before anything runs: the certificates as they are now, and the warnings a new key brings. */
function reportBefore(cluster: Cluster, outDir: string, targets: CertInstance[], disk: DiskState, options: RenewOptions): RenewReport {
  return {
    outDir,
    profile: cluster.profile,
    source: cluster.source,
    result: 'nothing',
    expiringWithin: options.expiringWithin ?? null,
    renewed: targets.map((c) => ({ name: c.name, file: c.certPath, keyFile: c.keyPath, newKey: !!options.newKey, before: dates(disk.certs.get(c.name)!.facts!), after: null })),
    kubeconfigs: [],
    copies: [],
    changed: [],
    backupDir: null,
    restart: [],
    clients: [],
    warnings: options.newKey ? targets.filter(signsTokens).map((c) => `${c.keyPath} signs service-account tokens: ${TOKEN_WARNING}`) : [],
  };
}

/** The kubeconfigs and node-tree copies the plan rewrites, and a warning for each it leaves alone. */
function reportFollowers(report: RenewReport, instances: Instances, plan: Plan, left: PlanItem[]): void {
  const copyNames = new Set(instances.copies.map((c) => c.name));
  report.kubeconfigs = followersOf(plan.items.filter((i) => i.group === 'kubeconfig'));
  report.copies = followersOf(plan.items.filter((i) => copyNames.has(i.name)));
  // A copy that differs from its source is someone else's file: renew leaves it, but says so.
  report.warnings.push(...plan.items.flatMap((i) => (i.warnings ?? []).map((w) => `${i.name}: ${w}`)));
  report.warnings.push(...left.map((i) => `${i.name} not updated by renew: ${i.reasons.join('; ')}; run kube-pki gen --force to replace it`));
}

/**
 * Runs the renewal under the folder's lock, planned again there from the folder as it is then. A
 * certificate that another run replaced meanwhile stops renew: its report would speak of a
 * certificate that is gone. Returns the plan that ran and the failed items' messages.
 */
async function runRenewal(
  cluster: Cluster,
  instances: Instances,
  report: RenewReport,
  targets: ReadonlySet<string>,
  firstPlan: Plan,
  options: RenewOptions & { now: Date },
): Promise<{ plan: Plan; errors: Map<string, string> }> {
  let plan = firstPlan;
  const replan = async () => {
    const fresh = await inspectDisk(report.outDir, instances, options.now);
    const moved = replacedMeanwhile(report.renewed, fresh);
    if (moved.length) throw new UserError(`renew: nothing was changed: ${moved.map((r) => r.file).join(', ')} changed while renew was getting ready (another kube-pki run?); run it again`, EXIT.failed);
    return (plan = renewPlan(cluster.profile, instances, fresh, targets, !!options.newKey).plan);
  };
  const errors = await runLocked(replan, report.outDir, { operation: 'renew', instances, now: options.now, ...(options.concurrency ? { concurrency: options.concurrency } : {}), silent: !!options.json });
  return { plan, errors };
}

/** The new certificates' dates, each failure where it happened, the changed files and the backup folder. */
async function reportOutcome(report: RenewReport, plan: Plan, errors: Map<string, string>, now: Date): Promise<void> {
  const { outDir } = report;
  // Where the run's backup steps copied the old files (runContext names the folder after `now`).
  const { backupDir } = runContext(outDir, now);
  for (const r of report.renewed) {
    const error = errors.get(r.name);
    if (error) r.error = error;
    else r.after = dates(certFacts(await readFile(join(outDir, r.file))));
  }
  for (const f of [...report.kubeconfigs, ...report.copies]) {
    const error = errors.get(f.name);
    if (error) f.error = error;
  }
  report.changed = plan.items.filter((i) => !errors.has(i.name)).flatMap((i) => i.outputs);
  report.backupDir = (await stat(backupDir).catch(() => null)) ? backupDir : null;
}

/** Who reads the files that changed: the components to restart and the clients that reload by themselves. */
function restartsAfter(cluster: Cluster, instances: Instances, targets: CertInstance[], changedFiles: string[]): Pick<RenewReport, 'restart' | 'clients'> {
  const changed = new Set(changedFiles);
  const uses = [
    ...targets.flatMap((c) => certUses(cluster, instances, c)),
    ...instances.kubeconfigs.flatMap((k) => kubeconfigUses(cluster, k)),
  ].filter((u) => changed.has(u.file));
  return restartsFor(uses);
}

/**
 * Re-issues leaf certificates with the existing CA (keys kept unless newKey, SANs from the current
 * description), backing up the old files, and re-renders the kubeconfigs that embed them.
 */
export async function renew(cluster: Cluster, out: string, options: RenewOptions): Promise<RenewResult> {
  // Leaves only: the root signs nothing here. A given passphrase file must still be a usable one.
  await passphraseFile(options.caPassphraseFile);
  const outDir = await existingOutDir(out);
  const now = options.now ?? new Date();
  const instances = instancesFor(cluster);
  await assertOutDir(outDir, ownPaths(instances)); // gen's answer for a folder that is not a PKI
  const asked = requested(cluster.profile, instances, options);
  await assertNothingUnfinished(outDir, instances, 'renew');
  const disk = await inspectDisk(outDir, instances, now);
  await assertRenewable(outDir, asked, disk, now);
  const targets = expiringOnly(asked, disk, options.expiringWithin, now);
  const report = reportBefore(cluster, outDir, targets, disk, options);
  if (!targets.length) return { exitCode: EXIT.ok, report, plan: null };

  const names = new Set(targets.map((c) => c.name));
  const { plan: firstPlan, left } = renewPlan(cluster.profile, instances, disk, names, !!options.newKey);
  reportFollowers(report, instances, firstPlan, left);
  if (options.dryRun) {
    // What the real run would restart: who reads what the plan would write.
    const restart = restartsAfter(cluster, instances, targets, firstPlan.items.flatMap((i) => i.outputs));
    return { exitCode: EXIT.ok, report: { ...report, ...restart, result: 'dry-run' }, plan: firstPlan };
  }

  await checkOpenssl();
  const { plan, errors } = await runRenewal(cluster, instances, report, names, firstPlan, { ...options, now });
  await reportOutcome(report, plan, errors, now);
  Object.assign(report, restartsAfter(cluster, instances, targets, report.changed));
  report.result = errors.size ? 'failed' : 'ok';
  return { exitCode: errors.size ? EXIT.failed : EXIT.ok, report, plan };
}
