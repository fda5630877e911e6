import type { X509Certificate } from 'node:crypto';
import { EXIT, UserError } from '../errors.js';
import { bundleCopies, cert, kubeconfigsOf, pairMatches, signedBy, type CaRotation, type Snapshot } from '../inspect/rotation.js';
import { signsTokens } from '../catalog/tokens.js';
import { MODE } from '../model/files.js';
import type { CertInstance, Instances } from '../model/instances.js';
import type { RotationPhase } from '../model/rotation.js';
import type { Plan, PlanItem, Step } from '../model/steps.js';
import { extensionSection } from '../openssl/cnf.js';
import { signArgs } from '../openssl/commands.js';
import { certSteps, requestSteps } from '../plan/cert-steps.js';
import { absent, cappedLeafDays, idleItem } from '../plan/plan.js';
import { backup, bundleOfFiles, item, kubeconfigItem, pairSteps, retireBundles, same } from './items.js';
import { newRootItem, rootSigning } from './root.js';

// The three phases of a CA rotation as plans for the ordinary executor (steps, temp folder, atomic
// renames, lock): pure functions of the files as they are, so running a phase again plans only what
// is left, and --dry-run prints exactly what a run would do. Pair rule: a key is never renamed next
// to a certificate it does not match: the certificate goes first (removed), then the key, then the
// new certificate.

export interface RotateOptions {
  /** reissue: new keys for the leaves instead of keeping them. */
  newKeys?: boolean;
  /** start under a root CA: when the new intermediate is signed. */
  now?: Date;
}

/** start: the new CA (ca-new.*), the bundle old + new, its copies in node trees, kubeconfigs embedding it. */
function planStart(instances: Instances, r: CaRotation, snap: Snapshot, now: Date): PlanItem[] {
  const f = r.files;
  const c = r.ca.name;
  if (!snap.get(f.crt)) throw new UserError(`rotate-ca start: ${f.crt} is missing: there is no CA ${c} to rotate`, EXIT.badInput);
  const newCa: CertInstance = { ...r.ca, name: `${c}-new`, certPath: f.newCrt, keyPath: f.newKey };
  const [hasKey, hasCrt] = [!!snap.get(f.newKey), !!snap.get(f.newCrt)];
  let made: PlanItem;
  if (hasCrt && !hasKey) throw new UserError(`rotate-ca start: ${f.newCrt} is there without ${f.newKey}; move ${f.newCrt} away and run start again`, EXIT.failed);
  if (hasCrt && !pairMatches(snap.get(f.newCrt), snap.get(f.newKey)))
    throw new UserError(`rotate-ca start: ${f.newKey} is not the key of ${f.newCrt}; move both away and run start again`, EXIT.failed);
  if (hasCrt) made = idleItem(newCa.name, 'ca', 'keep', ['new CA made']);
  // Key first, then certificate: a run killed between them leaves the key alone, and the next run certifies it.
  else {
    const root = rootSigning(instances, r, snap, now);
    const reason = hasKey ? 'new CA key kept; certificate made from it' : 'new CA';
    made = certSteps(newCa, 'create', [root ? `${reason}, signed by the root CA` : reason], !hasKey, absent(), root);
  }
  const sources = [f.crt, f.newCrt];
  const want = bundleOfFiles(snap, sources);
  const bundleRemade = !want || !same(snap.get(f.bundle), want);
  const bundle = bundleRemade
    ? item(`${c}-bundle`, 'ca', 'create', [`trust bundle: ${f.crt} + ${f.newCrt}`], [made.name], [...backup(snap, f.bundle), { op: 'concat', from: sources, to: f.bundle, mode: MODE.public }])
    : idleItem(`${c}-bundle`, 'ca', 'keep', ['trust bundle holds both CAs']);
  const copies = bundleCopies(instances, c).map((b) =>
    !bundleRemade && same(snap.get(b.to), want)
      ? idleItem(`${b.node}/${c}-bundle`, 'ca', 'keep', ['same as its source'])
      : // Made from the same sources, not copied: each tree's bundle is read back before it is installed.
        item(`${b.node}/${c}-bundle`, 'ca', 'create', [`same as ${b.from}`], [bundle.name], [...backup(snap, b.to), { op: 'concat', from: sources, to: b.to, mode: MODE.public }]),
  );
  const kubeconfigs = kubeconfigsOf(instances, c).map((kc) => kubeconfigItem(instances, kc, snap, f.bundle, want, [bundle.name], bundleRemade));
  return [made, bundle, ...copies, ...kubeconfigs];
}

/** reissue, first: the old pair kept as ca-old.*, the new one moved into ca.* (the signer). */
function planSwap(r: CaRotation, snap: Snapshot): PlanItem {
  const f = r.files;
  const name = `${r.ca.name}-swap`;
  const next = r.next;
  if (!next) throw new UserError(`rotate-ca reissue: the new CA ${r.ca.name} is not there (${f.newCrt}); run rotate-ca start again`, EXIT.failed);
  const isNext = (b: Buffer | null | undefined) => cert(b)?.fingerprint256 === next.fingerprint256;
  const steps: Step[] = [];
  // 1. the old pair as ca-old.* (certificate first; a key alone is harmless).
  if (!snap.get(f.oldCrt)) {
    if (!snap.get(f.crt) || isNext(snap.get(f.crt))) throw new UserError(`rotate-ca reissue: ${f.oldCrt} is missing and ${f.crt} is no longer the old CA; restore ${f.oldCrt} from a backup-* folder`, EXIT.failed);
    steps.push({ op: 'copy', from: f.crt, to: f.oldCrt, mode: MODE.public });
  }
  if (!snap.get(f.oldKey)) {
    const oldCrt = snap.get(f.oldCrt) ?? snap.get(f.crt);
    if (!pairMatches(oldCrt, snap.get(f.key))) throw new UserError(`rotate-ca reissue: ${f.oldKey} is missing and ${f.key} is not the old CA's key; restore ${f.oldKey} from a backup-* folder`, EXIT.failed);
    steps.push({ op: 'copy', from: f.key, to: f.oldKey, mode: MODE.secret });
  }
  // 2. the new pair into ca.* (from ca-new.* while they are there).
  if (snap.get(f.newCrt)) {
    const want = { crt: snap.get(f.newCrt) ?? null, key: snap.get(f.newKey) ?? null };
    if (!want.key) throw new UserError(`rotate-ca reissue: ${f.newKey} is missing beside ${f.newCrt}; run rotate-ca start again is not possible now: restore it from a backup-* folder`, EXIT.failed);
    // No backups: ca.* were copied to ca-old.* above, and ca-new.* are what goes in.
    const pair = pairSteps(snap, f, { crt: f.newCrt, key: f.newKey }, want).filter((s) => s.op !== 'backup');
    steps.push(...pair, { op: 'remove', file: f.newCrt }, { op: 'remove', file: f.newKey });
  } else if (snap.get(f.newKey)) steps.push({ op: 'remove', file: f.newKey });
  return item(name, 'ca', 'reissue', [`${f.crt}/${f.key} become the new CA; the old one is kept as ${f.oldCrt}/${f.oldKey}`], [], steps);
}

/**
 * A leaf signed again by the CA in ca.crt once `needs` is done (reissue: the new CA after the swap;
 * abort: the old one put back): key kept, or a new one (--new-keys).
 */
export function leafItem(leaf: CertInstance, snap: Snapshot, by: { ca: X509Certificate | null; label: 'new' | 'old' }, needs: string, options: RotateOptions): PlanItem {
  const next = by.ca;
  const signed = `signed by the ${by.label} CA`;
  if (signedBy(snap.get(leaf.certPath), next) && pairMatches(snap.get(leaf.certPath), snap.get(leaf.keyPath)))
    return idleItem(leaf.name, 'cert', 'keep', [signed]);
  const hasKey = !!snap.get(leaf.keyPath);
  // The service-account key signs every token: a CA rotation never changes it, --new-keys or not.
  const keepsKey = signsTokens(leaf);
  if (!hasKey && (keepsKey || !options.newKeys))
    throw new UserError(`rotate-ca reissue: ${leaf.keyPath} is missing; ${keepsKey ? 'it signs service-account tokens: restore it' : 'give --new-keys to make new keys, or restore it'}`, EXIT.badInput);
  const newKey = !!options.newKeys && !keepsKey;
  // The CA may be older than its leaves would be (reissue long after start): capped as gen caps.
  const { days, warning } = next ? cappedLeafDays(leaf, new Date(next.validTo), options.now ?? new Date()) : { days: leaf.days };
  const { cnf, csr, keySteps, steps } = requestSteps(leaf, newKey);
  steps.push({ op: 'openssl', args: signArgs({ csr, crt: { out: leaf.certPath }, days, cnf, section: extensionSection(leaf), signer: { caCrt: { in: leaf.ca!.certPath }, caKey: { in: leaf.ca!.keyPath } } }) });
  if (newKey) {
    // The old certificate goes before the new key comes: never a key beside a certificate of another key.
    if (snap.get(leaf.certPath)) steps.push({ op: 'backup', file: leaf.certPath }, { op: 'remove', file: leaf.certPath });
    if (hasKey) steps.push({ op: 'backup', file: leaf.keyPath });
    steps.push({ op: 'install', file: leaf.keyPath, mode: MODE.secret });
  } else if (snap.get(leaf.certPath)) steps.push({ op: 'backup', file: leaf.certPath });
  steps.push({ op: 'install', file: leaf.certPath, mode: MODE.public });
  const reason = newKey ? `${signed}, new key` : keepsKey ? `${signed}, key kept: it signs service-account tokens` : `${signed}, key kept`;
  const planned = item(leaf.name, 'cert', 'reissue', [reason], [needs], steps, keySteps);
  return warning ? { ...planned, warnings: [warning] } : planned;
}

/** reissue: the swap, every leaf of the CA signed by the new one, copies in node trees, kubeconfigs. */
function planReissue(instances: Instances, r: CaRotation, snap: Snapshot, options: RotateOptions): PlanItem[] {
  const f = r.files;
  const swap = planSwap(r, snap);
  const leaves = instances.certs.filter((l) => l.caName === r.ca.name).map((l) => leafItem(l, snap, { ca: r.next, label: 'new' }, swap.name, options));
  const newPair = { crt: snap.get(f.newCrt) ?? snap.get(f.crt) ?? null, key: snap.get(f.newKey) ?? snap.get(f.key) ?? null };
  const { copies, remade } = treeCopies(instances, r, snap, swap, leaves, newPair);
  const bundle = snap.get(f.bundle) ?? null;
  const kubeconfigs = kubeconfigsOf(instances, r.ca.name).map((kc) =>
    kubeconfigItem(instances, kc, snap, f.bundle, bundle, [kc.certName], remade.has(instances.certs.find((c) => c.name === kc.certName)!.certPath)),
  );
  return [swap, ...leaves, ...copies, ...kubeconfigs];
}

/**
 * The node-tree copies of a CA's pair and of its leaves, after `caItem` puts `caPair` into ca.* and
 * the leaf items re-sign their certificates; `remade`: the files those items write.
 */
export function treeCopies(instances: Instances, r: CaRotation, snap: Snapshot, caItem: PlanItem, leaves: PlanItem[], caPair: { crt: Buffer | null; key: Buffer | null }): { copies: PlanItem[]; remade: Set<string> } {
  const remade = new Set([caItem, ...leaves].filter((i) => i.steps.length).flatMap((i) => i.outputs));
  // What each source will hold after this run (a remade source: not known yet, so the copy follows it).
  const finalBytes = (p: string) => (remade.has(p) ? null : (snap.get(p) ?? null));
  const newPair = caPair;
  const sourceItem = new Map([[r.ca.name, caItem.name], ...leaves.map((l) => [l.name, l.name] as const)]);
  const copies = instances.copies
    .filter((c) => sourceItem.has(c.source))
    .map((copy) => {
      const crt = copy.files.find((x) => x.part === 'crt');
      const key = copy.files.find((x) => x.part === 'key');
      const isCa = copy.source === r.ca.name;
      const want = (p: string | undefined, caPart: Buffer | null) => (p === undefined ? null : isCa ? caPart : finalBytes(p));
      const steps: Step[] =
        crt && key
          ? pairSteps(snap, { crt: crt.to, key: key.to }, { crt: crt.from, key: key.from }, { crt: want(crt.from, newPair.crt), key: want(key.from, newPair.key) }, key.mode)
          : copy.files.flatMap((x): Step[] =>
              same(snap.get(x.to), want(x.from, x.part === 'key' ? newPair.key : newPair.crt)) ? [] : [...backup(snap, x.to), { op: 'copy', from: x.from, to: x.to, mode: x.mode }],
            );
      return item(copy.name, copy.group, 'reissue', ['updated from its source'], [sourceItem.get(copy.source)!], steps);
    });
  return { copies, remade };
}

/**
 * finish: the bundle keeps its name but holds only the new CA (source first: that marks the phase),
 * kubeconfigs embed ca.crt alone, the old CA is archived. The bundle is not removed: the nodes'
 * components run with it until their restart (docs/ca-rotation.md).
 */
function planFinish(instances: Instances, r: CaRotation, snap: Snapshot): PlanItem[] {
  const f = r.files;
  const c = r.ca.name;
  const remove = (file: string): Step[] => (snap.get(file) ? [{ op: 'backup', file }, { op: 'remove', file }] : []);
  const [bundle, ...copies] = retireBundles(instances, r, snap, `holds only the new CA (${f.crt}): trust only the new CA`);
  const kubeconfigs = kubeconfigsOf(instances, c).map((kc) => kubeconfigItem(instances, kc, snap, f.crt, snap.get(f.crt) ?? null, [bundle!.name], false));
  // Last: while ca-old.* are there, the folder says "finish under way", so a killed run is resumed.
  const archive = item(`${c}-old`, 'ca', 'reissue', [`old CA archived in the backup folder`], [bundle!.name, ...copies.map((i) => i.name), ...kubeconfigs.map((k) => k.name)], [...remove(f.oldCrt), ...remove(f.oldKey)]);
  return [bundle!, ...copies, ...kubeconfigs, archive];
}

export function planPhase(phase: RotationPhase, instances: Instances, rotations: CaRotation[], snap: Snapshot, options: RotateOptions = {}): Plan {
  const root = phase === 'start' && rotations.some((r) => r.ca.root && !snap.get(r.files.newCrt)) ? (newRootItem(instances, snap)?.item ?? null) : null;
  const items = rotations.flatMap((r) =>
    phase === 'start' ? planStart(instances, r, snap, options.now ?? new Date()) : phase === 'reissue' ? planReissue(instances, r, snap, options) : planFinish(instances, r, snap),
  );
  return { profile: 'rotate-ca', items: root ? [root, ...items] : items };
}

/** Nothing left to do in this phase for this CA. */
export const phaseComplete = (phase: RotationPhase, instances: Instances, r: CaRotation, snap: Snapshot): boolean => {
  try {
    return planPhase(phase, instances, [r], snap).items.every((i) => i.steps.length + i.keySteps.length === 0);
  } catch {
    return false;
  }
};
