import { stat } from 'node:fs/promises';
import { EXIT, UserError } from '../errors.js';
import { assertPassphrase } from '../exec/passphrase.js';
import { assertToken, type TokenAccess } from '../exec/token.js';
import { runLocked } from '../exec/run-locked.js';
import { runContext } from '../exec/run-plan.js';
import { assertNothingUnfinished } from '../exec/unfinished.js';
import { certExtensions, subjectDer } from '../inspect/der.js';
import { cert, readSnapshot, type Snapshot } from '../inspect/rotation.js';
import type { Cluster } from '../model/cluster.js';
import type { CertInstance, Instances } from '../model/instances.js';
import type { Plan } from '../model/steps.js';
import { checkOpenssl } from '../openssl/run.js';
import { caRunInputs } from './ca-run-inputs.js';
import { planRenewCa, renewCaPaths, type RenewCaTarget } from './renew-ca-plan.js';
import { renewCaRestart, type NodeRestart } from './restart.js';
import { rotatable } from './rotate.js';

export interface RenewCaOptions {
  out: string;
  ca?: string[];
  dryRun?: boolean;
  concurrency?: number;
  now?: Date;
  /** --ca-passphrase-file: an intermediate under rootCA is signed by the (encrypted) root key, as gen signs it. */
  caPassphraseFile?: string;
  /** --ca-pin-file: under a root in a PKCS#11 token (rootCA.pkcs11), the root signs through the token. */
  caPinFile?: string;
}

interface CertDates {
  serial: string;
  notBefore: string;
  notAfter: string;
}

export interface RenewedCa {
  name: string;
  file: string;
  subject: string;
  /** The subject key identifier, the same before and after (null: the certificate has none). */
  subjectKeyId: string | null;
  before: CertDates;
  /** null on a dry run, or when it failed (see errors). */
  after: CertDates | null;
}

export interface RenewCaReport {
  outDir: string;
  profile: string;
  source: string;
  result: 'ok' | 'failed' | 'dry-run';
  cas: RenewedCa[];
  /** Files written in the PKI folder: what distribution sends. */
  changed: string[];
  backupDir: string | null;
  /** Rolling restart that loads the renewed certificate: one node at a time, in this order. */
  restart: NodeRestart[];
  notes: string[];
  errors: { name: string; message: string }[];
}

const dates = (c: { serialNumber: string; validFrom: string; validTo: string }): CertDates => ({
  serial: c.serialNumber,
  notBefore: new Date(c.validFrom).toISOString(),
  notAfter: new Date(c.validTo).toISOString(),
});

/** The CAs asked for (--ca, repeatable; the root only by its name), else every CA kube-pki can renew here. */
function selectTargets(instances: Instances, snap: Snapshot, asked: string[] | undefined): RenewCaTarget[] {
  const cas = instances.certs.filter((c) => !c.caName);
  const root = instances.root;
  const target = (ca: CertInstance): RenewCaTarget => (ca === root ? { ca, isRoot: true } : { ca, ...(ca.root && root ? { root } : {}) });
  const names = [...cas.map((c) => c.name), ...(root ? [root.name] : [])];
  if (asked?.length) {
    return [...new Set(asked)].map((name) => {
      const ca = name === root?.name ? root : cas.find((c) => c.name === name);
      if (!ca) throw new UserError(`--ca ${JSON.stringify(name)}: not a CA of this cluster; one of: ${names.join(', ')}`, EXIT.badInput);
      const why = ca === root ? null : rotatable(snap, ca);
      if (why) throw new UserError(`--ca ${name}: ${why.replace('rotate it', 'renew it')}`, EXIT.badInput);
      return target(ca);
    });
  }
  const own = cas.filter((c) => snap.get(c.certPath) && !rotatable(snap, c));
  if (!own.length) throw new UserError('renew-ca: no CA here that kube-pki can renew (missing, or external: renewed by their owner); nothing was written', EXIT.badInput);
  return own.map(target);
}

function renewedBefore(t: RenewCaTarget, snap: Snapshot): RenewedCa {
  const c = cert(snap.get(t.ca.certPath))!;
  return { name: t.ca.name, file: t.ca.certPath, subject: c.subject.replace(/\n/g, ', '), subjectKeyId: certExtensions(c).subjectKeyId ?? null, before: dates(c), after: null };
}

/** A renewed certificate that is not the same CA (another subject or identifier, another key) would be a rotation: said, never hidden. */
function sameCa(before: Buffer, after: Buffer): string | null {
  const [b, a] = [cert(before)!, cert(after)!];
  if (!subjectDer(b.raw).equals(subjectDer(a.raw))) return 'the subject changed';
  if (certExtensions(b).subjectKeyId !== certExtensions(a).subjectKeyId) return 'the subject key identifier changed';
  if (!b.publicKey.export({ type: 'spki', format: 'der' }).equals(a.publicKey.export({ type: 'spki', format: 'der' }))) return 'the key changed';
  return null;
}

function notes(report: RenewCaReport, targets: RenewCaTarget[]): string[] {
  const out = report.cas.map(
    (c) =>
      `${c.file}: the old certificate stays valid until ${c.before.notAfter}; what still holds it (a component not yet restarted, a kubeconfig handed out) ` +
      'keeps working with the old and the new certificates alike until then: same key, subject and key identifier',
  );
  if (targets.some((t) => t.isRoot)) out.push('the root CA is on no node: give its new certificate to whatever verifies with it (openssl verify -CAfile root-ca.crt)');
  out.push('kubeconfigs made by kube-pki kubeconfig user embed the old certificate: they work until it expires; make new ones before then');
  return out;
}

/** `kube-pki renew-ca`. */
export async function renewCa(cluster: Cluster, options: RenewCaOptions): Promise<{ exitCode: number; report: RenewCaReport; plan: Plan }> {
  const { outDir, now, instances, passphrase, pin } = await caRunInputs(cluster, options);
  let token: TokenAccess | undefined;
  // Refused mid-rotation (or after an interrupted gen --replace-ca). A real run is refused under the lock
  // (runLocked), once what a killed run promised is rolled forward: a renew-ca killed between the CA
  // certificate and its kept bundle looks like a rotation until then. A dry run looks at the folder as it is.
  if (options.dryRun) await assertNothingUnfinished(outDir, instances, 'renew-ca');
  const allCas = [...instances.certs.filter((c) => !c.caName), ...(instances.root ? [instances.root] : [])];
  const snapshot = () => readSnapshot(outDir, renewCaPaths(instances, allCas));
  const snap = await snapshot();
  const targets = selectTargets(instances, snap, options.ca);
  const plan = async (s: Snapshot): Promise<Plan> => {
    const planned: Plan = { profile: 'renew-ca', items: planRenewCa(instances, targets, s, now) };
    // As gen: what the root signs needs its passphrase, checked before anything is written.
    await assertPassphrase(planned, instances, outDir, passphrase);
    token = await assertToken(planned, instances, outDir, pin);
    return planned;
  };
  let planned = await plan(snap);
  const report: RenewCaReport = {
    outDir,
    profile: cluster.profile,
    source: cluster.source,
    result: 'dry-run',
    cas: targets.map((t) => renewedBefore(t, snap)),
    changed: [],
    backupDir: null,
    restart: renewCaRestart(cluster, instances, targets.map((t) => t.ca.name)),
    notes: [],
    errors: [],
  };
  report.notes = notes(report, targets);
  if (options.dryRun) return { exitCode: EXIT.ok, report, plan: planned };

  await checkOpenssl();
  const errors = await runLocked(async () => (planned = await plan(await snapshot())), outDir, {
    operation: 'renew-ca',
    instances,
    now,
    silent: true,
    ...(options.concurrency ? { concurrency: options.concurrency } : {}),
    ...(passphrase ? { passphraseFile: passphrase.path } : {}),
    token: () => token,
  });
  const after = await snapshot();
  for (const c of report.cas) {
    if (errors.has(c.name)) continue;
    const was = snap.get(c.file)!;
    const now = after.get(c.file)!;
    const changed = sameCa(was, now);
    if (changed) errors.set(c.name, `${c.file}: ${changed}; this is not a renewal: restore the old certificate from ${runContext(outDir, options.now ?? new Date()).backupDir}`);
    else c.after = dates(cert(now)!);
  }
  report.errors = [...errors].map(([name, message]) => ({ name, message }));
  report.changed = planned.items.filter((i) => i.steps.length && !errors.has(i.name)).flatMap((i) => i.outputs);
  const { backupDir } = runContext(outDir, now);
  report.backupDir = (await stat(backupDir).catch(() => null)) ? backupDir : null;
  report.result = errors.size ? 'failed' : 'ok';
  return { exitCode: errors.size ? EXIT.failed : EXIT.ok, report, plan: planned };
}
