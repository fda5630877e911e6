import { join, resolve } from 'node:path';
import { pendingInstalls } from '../exec/install-together.js';
import { TMP_DIR } from '../model/files.js';
import type { Cluster } from '../model/cluster.js';
import { EXIT, UserError } from '../errors.js';
import { assertPassphrase, passphraseFile } from '../exec/passphrase.js';
import { assertToken, pinFile, type TokenAccess } from '../exec/token.js';
import { clearCaReplacement, recordCaReplacement, unfinishedCaReplacement } from '../exec/replacing-ca.js';
import type { Instances } from '../model/instances.js';
import { assertOutDir, outDirNotes, privateOutDir, runLocked } from '../exec/run-locked.js';
import { assertNothingUnfinished } from '../exec/unfinished.js';
import { checkOpenssl } from '../openssl/run.js';
import { instancesFor, ownPaths, planFor } from '../pki.js';
import type { Plan, PlanItem, Step } from '../model/steps.js';
import { stepLines } from '../script/bash.js';
import { describeItem } from '../tasks/progress.js';
import { summarize } from '../tasks/summary.js';

export interface GenOptions {
  out: string;
  dryRun?: boolean;
  force?: boolean;
  replaceCa?: boolean;
  /** With replaceCa: only these CAs (catalog names). */
  ca?: string[];
  /** The root CA key's passphrase file (else $KUBE_PKI_CA_PASSPHRASE_FILE). */
  caPassphraseFile?: string;
  /** The PIN file of the token that holds the root CA key (rootCA.pkcs11; else $KUBE_PKI_CA_PIN_FILE). */
  caPinFile?: string;
  json?: boolean;
  concurrency?: number;
}

export interface GenResult {
  exitCode: number;
  plan: Plan;
}

export async function gen(cluster: Cluster, options: GenOptions): Promise<GenResult> {
  const outDir = resolve(options.out);
  // `openssl version` runs while the catalog is resolved; it is awaited before anything is written.
  const opensslChecked = options.dryRun ? undefined : checkOpenssl();
  opensslChecked?.catch(() => undefined);
  const instances = instancesFor(cluster); // validates names before anything is touched
  const onlyCas = chosenCas(instances, options);
  const planOptions = { force: !!options.force, replaceCa: !!options.replaceCa, ...(onlyCas ? { onlyCas } : {}) };
  const passphrase = await passphraseFile(options.caPassphraseFile);
  const pin = await pinFile(options.caPinFile);
  let token: TokenAccess | undefined;
  await assertOutDir(outDir, ownPaths(instances));
  // A CA replacement (or any re-signing) in the middle of a rotation would break its overlap: refused
  // now, dry run or not, and again under the lock.
  const operation = options.replaceCa ? 'gen --replace-ca' : 'gen';
  await assertNothingUnfinished(outDir, instances, operation);
  // Under a root CA, what the plan asks of the root is checked before anything is written: a CA
  // replacement it implies, its passphrase. Again under the lock, from the folder as it is then.
  const rootChecked = async (plan: Plan): Promise<Plan> => {
    refuseRootless(plan, !!instances.rootToken);
    // A dry run too: it must exit as the real run would (no or a wrong passphrase: 2).
    await assertPassphrase(plan, instances, outDir, passphrase);
    // The token: there, the PIN right, the key the root certificate's (exit 2 otherwise, nothing written).
    token = await assertToken(plan, instances, outDir, pin);
    return plan;
  };
  if (cluster.rootCA) await rootChecked((await planFor(cluster, outDir, planOptions, instances)).plan);

  if (options.dryRun) {
    const notes = await outDirNotes(outDir); // the real run's verdict on the folder, nothing created
    const pending = await pendingInstalls(outDir, join(outDir, TMP_DIR));
    if (pending.length)
      notes.push(`an interrupted run had promised to install ${pending.join(', ')}; the real run completes that first (under the lock), so its plan may differ from this one`);
    const { plan } = await planFor(cluster, outDir, { ...planOptions, finishCaReplacement: await unfinishedCaReplacement(outDir) }, instances);
    if (cluster.rootCA) await rootChecked(plan);
    if (options.json) printJson({ outDir, profile: cluster.profile, source: cluster.source, dryRun: true, notes, items: await summarize(plan, instances, outDir, new Map(), false) });
    else process.stdout.write(planText(plan, outDir, cluster, notes));
    // The same verdict a real run would give: 3 when something would be left stale.
    return { exitCode: plan.items.some((i) => i.action === 'stale') ? EXIT.stale : EXIT.ok, plan };
  }

  await opensslChecked;
  const notes = await privateOutDir(outDir);
  let plan: Plan = { profile: cluster.profile, items: [] };
  const errors = await runLocked(
    async () => {
      // What an interrupted --replace-ca still had to do is done now; this run's replacement is recorded first.
      const unfinished = await unfinishedCaReplacement(outDir);
      plan = await rootChecked((await planFor(cluster, outDir, { ...planOptions, finishCaReplacement: unfinished }, instances)).plan);
      await recordCaReplacement(outDir, plan, unfinished);
      return plan;
    },
    outDir,
    {
      operation,
      instances,
      silent: !!options.json,
      ...(options.concurrency ? { concurrency: options.concurrency } : {}),
      ...(passphrase ? { passphraseFile: passphrase.path } : {}),
      token: () => token,
      after: async (ran, failed) => {
        if (failed.size === 0 && !ran.items.some((i) => i.action === 'stale')) await clearCaReplacement(outDir);
      },
    },
  );

  const stale = plan.items.filter((i) => i.action === 'stale');
  const exitCode = errors.size ? EXIT.failed : stale.length ? EXIT.stale : EXIT.ok;
  if (options.json) {
    const result = exitCode === EXIT.ok ? 'ok' : exitCode === EXIT.stale ? 'stale' : 'failed';
    printJson({ outDir, profile: cluster.profile, source: cluster.source, result, notes, items: await summarize(plan, instances, outDir, errors, true) });
  } else {
    printReport(plan, outDir, cluster, errors, notes);
  }
  return { exitCode, plan };
}

/** --ca NAME…: only with --replace-ca, and only the catalog's CAs (never the root: that is a rotation). */
function chosenCas(instances: Instances, options: GenOptions): ReadonlySet<string> | undefined {
  const names = options.ca ?? [];
  if (!names.length) return undefined;
  if (!options.replaceCa) throw new UserError(`--ca ${names.join(', ')}: only with --replace-ca (it names the CAs to replace)`, EXIT.badInput);
  const cas = instances.certs.filter((c) => !c.caName).map((c) => c.name);
  for (const name of names) {
    if (instances.root && name === instances.root.name)
      throw new UserError(`--ca ${JSON.stringify(name)}: gen never replaces the root CA (a new root means new intermediates everywhere); the CAs are ${cas.join(', ')}`, EXIT.badInput);
    if (!cas.includes(name)) throw new UserError(`--ca ${JSON.stringify(name)}: no such CA; the CAs are ${cas.join(', ')}`, EXIT.badInput);
  }
  return new Set(names);
}

/** rootCA over CAs that are not the root's: a CA replacement, only with --replace-ca. */
function refuseRootless(plan: Plan, inToken: boolean): void {
  if (!plan.rootless?.length) return;
  const option = inToken ? '--ca-pin-file' : '--ca-passphrase-file';
  throw new UserError(
    `rootCA: ${plan.rootless.join(', ')} ${plan.rootless.length > 1 ? 'are CAs' : 'is a CA'} not signed by the root CA (self-signed, made before rootCA); ` +
      'putting the root over them replaces them: new CA keys, every certificate re-issued, every node updated. ' +
      `On a running cluster, kube-pki rotate-ca start ${option} FILE does it without an outage (then reissue, finish); ` +
      'gen --replace-ca does it at once (the old files are backed up); nothing was written',
    EXIT.badInput,
  );
}

function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

function count(plan: Plan, action: PlanItem['action']): number {
  return plan.items.filter((i) => i.action === action).length;
}

function printReport(plan: Plan, outDir: string, cluster: Cluster, errors: Map<string, string>, notes: string[]): void {
  const out: string[] = [];
  for (const note of notes) out.push(`note: ${note}`);
  out.push(
    `PKI in ${outDir} (profile ${cluster.profile}, from ${cluster.source}): ` +
      `${count(plan, 'create')} created, ${count(plan, 'reissue')} re-issued, ${count(plan, 'keep')} kept, ${count(plan, 'stale')} stale, ${errors.size} failed`,
  );
  for (const item of plan.items.filter((i) => i.action === 'stale')) out.push(`stale: ${item.name}: ${item.reasons.join('; ')}`);
  process.stdout.write(`${out.join('\n')}\n`);
  for (const [name, message] of errors) process.stderr.write(`error: ${name}: ${message}\n`);
  for (const item of plan.items) for (const w of item.warnings ?? []) process.stderr.write(`warning: ${item.name}: ${w}\n`);
  if (plan.items.some((i) => i.steps.some((s) => s.op === 'backup'))) process.stdout.write(`replaced files were copied to ${outDir}/backup-*/ first\n`);
}

function stepSummary(step: Step): string[] {
  if (step.op === 'write') return [step.file.endsWith('.json') ? `write ${step.file} (the rotation's record)` : `write ${step.file} (openssl.cnf; see kube-pki script)`];
  if (step.op === 'encryption-config')
    return [`write ${step.file} (EncryptionConfiguration, ${step.provider}, keys ${step.keys.map((k) => ('fresh' in k ? `${k.name} (new, openssl rand)` : k.name)).join(', ')}; the keys are never shown)`];
  if (step.op === 'kubeconfig') return [`write ${step.file} (kubeconfig embedding ${step.kubeconfig.caFile}, ${step.kubeconfig.certFile}, ${step.kubeconfig.keyFile})`];
  // The commands only: folder creation (one per step in nested layouts) is noise in a plan listing.
  return stepLines(step).filter((line) => !line.startsWith('mkdir '));
}

/** --dry-run: every item with its action and the commands it would run. */
export function planText(plan: Plan, outDir: string, cluster: Cluster, notes: string[] = []): string {
  const lines = [...notes.map((n) => `note: ${n}`), `Plan for ${outDir} (profile ${cluster.profile}, from ${cluster.source}); nothing is written:`];
  for (const item of plan.items) {
    lines.push(`  ${item.name}: ${describeItem(item).replace(/^created/, 'create').replace(/^re-issued/, 're-issue').replace(/^kept/, 'keep')}`);
    for (const w of item.warnings ?? []) lines.push(`      warning: ${w}`);
    for (const step of [...item.keySteps, ...item.steps]) for (const l of stepSummary(step)) lines.push(`      ${l}`);
  }
  return `${lines.join('\n')}\n`;
}
