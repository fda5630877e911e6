import { EXIT, UserError } from '../errors.js';
import { caRotation, cert, kubeconfigsOf, pairMatches, type CaRotation, type Snapshot } from '../inspect/rotation.js';
import type { Cluster } from '../model/cluster.js';
import type { Instances } from '../model/instances.js';
import type { PlanItem, Step } from '../model/steps.js';
import { item, kubeconfigItem, pairSteps, retireBundles } from './items.js';
import { backInStartNote, retiredBundleNote } from './notes.js';
import { leafItem, treeCopies, type RotateOptions } from './plan.js';
import { rollingRestart, type NodeRestart } from './restart.js';

// rotate-ca abort: the way back, one overlap at a time, so that no component ever meets a certificate
// it does not trust. From reissue it goes back to phase start (the old CA signs again, every leaf is
// the old CA's again, both CAs still trusted); from start it ends trust in the new CA (the bundle
// keeps its name with the old CA alone, as finish does with the new one). Keys are kept throughout.

const remove = (snap: Snapshot, file: string): Step[] => (snap.get(file) ? [{ op: 'backup', file }, { op: 'remove', file }] : []);

/** From start: kubeconfigs embed ca.crt again, the bundle holds only the old CA, the new CA goes (backed up) last. */
function abortStart(instances: Instances, r: CaRotation, snap: Snapshot): PlanItem[] {
  const f = r.files;
  const c = r.ca.name;
  const [bundle, ...copies] = retireBundles(instances, r, snap, `holds only the old CA (${f.crt}): the new CA is no longer trusted`);
  const kubeconfigs = kubeconfigsOf(instances, c).map((kc) => kubeconfigItem(instances, kc, snap, f.crt, snap.get(f.crt) ?? null, [bundle!.name], false));
  // Last, certificate before key: while ca-new.* are there the folder is in phase start, so a killed abort resumes.
  const drop = item(`${c}-new`, 'ca', 'reissue', ['the new CA removed (kept in the backup folder)'], [bundle!.name, ...copies.map((i) => i.name), ...kubeconfigs.map((k) => k.name)], [
    ...remove(snap, f.newCrt),
    ...remove(snap, f.newKey),
  ]);
  return [bundle!, ...copies, ...kubeconfigs, drop];
}

/** From reissue, first: the new pair back to ca-new.*, the old one back into ca.* (the signer). */
function unswap(r: CaRotation, snap: Snapshot): PlanItem {
  const f = r.files;
  const isOld = (b: Buffer | null | undefined) => !!r.previous && cert(b)?.fingerprint256 === r.previous.fingerprint256;
  const isNew = (b: Buffer | null | undefined) => !!r.next && cert(b)?.fingerprint256 === r.next.fingerprint256;
  const steps: Step[] = [];
  const restore = (what: string) => new UserError(`rotate-ca abort: ${what}; restore it from a backup-* folder`, EXIT.failed);
  // 1. The new pair as ca-new.* (reissue's swap may have removed them already).
  if (!snap.get(f.newCrt)) {
    if (!isNew(snap.get(f.crt)) || !pairMatches(snap.get(f.crt), snap.get(f.key))) throw restore(`${f.newCrt} is missing and ${f.crt}/${f.key} are not the new CA`);
    steps.push(...pairSteps(snap, { crt: f.newCrt, key: f.newKey }, f, { crt: snap.get(f.crt) ?? null, key: snap.get(f.key) ?? null }));
  }
  // 2. The old pair back into ca.*: certificate removed first, then key, then certificate.
  const oldInPlace = isOld(snap.get(f.crt)) && pairMatches(snap.get(f.crt), snap.get(f.key));
  if (!oldInPlace) {
    const old = { crt: snap.get(f.oldCrt) ?? null, key: snap.get(f.oldKey) ?? null };
    if (!isOld(old.crt) || !pairMatches(old.crt, old.key)) throw restore(`${f.oldCrt}/${f.oldKey} are not the old CA's pair`);
    steps.push(...pairSteps(snap, f, { crt: f.oldCrt, key: f.oldKey }, old));
  }
  return item(`${r.ca.name}-unswap`, 'ca', 'reissue', [`${f.crt}/${f.key} are the old CA again; the new one waits as ${f.newCrt}/${f.newKey}`], [], steps);
}

/**
 * From reissue: the old CA signs again and re-signs every leaf the new one signed (keys kept), node
 * trees and kubeconfigs follow (still embedding the bundle: both CAs stay trusted); ca-old.* go
 * last, which puts the folder back in phase start.
 */
function abortReissue(instances: Instances, r: CaRotation, snap: Snapshot, options: RotateOptions): PlanItem[] {
  const f = r.files;
  const swap = unswap(r, snap);
  const leaves = instances.certs.filter((l) => l.caName === r.ca.name).map((l) => leafItem(l, snap, { ca: r.previous, label: 'old' }, swap.name, { ...options, newKeys: false }));
  const oldPair = { crt: snap.get(f.oldCrt) ?? snap.get(f.crt) ?? null, key: snap.get(f.oldKey) ?? snap.get(f.key) ?? null };
  const { copies, remade } = treeCopies(instances, r, snap, swap, leaves, oldPair);
  const bundle = snap.get(f.bundle) ?? null;
  const kubeconfigs = kubeconfigsOf(instances, r.ca.name).map((kc) =>
    kubeconfigItem(instances, kc, snap, f.bundle, bundle, [kc.certName], remade.has(instances.certs.find((c) => c.name === kc.certName)!.certPath)),
  );
  const done = [swap, ...leaves, ...copies, ...kubeconfigs];
  // No backup: ca.* hold the same pair again by then.
  const gone = [f.oldCrt, f.oldKey].filter((p) => snap.get(p)).map((file): Step => ({ op: 'remove', file }));
  const drop = item(`${r.ca.name}-old`, 'ca', 'reissue', [`${f.oldCrt}/${f.oldKey} removed (the same pair is ${f.crt}/${f.key} again): back in phase start`], done.map((i) => i.name), gone);
  return [...done, drop];
}

/** The abort plan of one CA, by the phase it is in (start or reissue; the caller refuses the others). */
export function planAbort(instances: Instances, r: CaRotation, snap: Snapshot, options: RotateOptions): PlanItem[] {
  return r.state === 'reissue' ? abortReissue(instances, r, snap, options) : abortStart(instances, r, snap);
}

/** abort applies to start and reissue; refused (exit 2) otherwise, saying why. A retired bundle: nothing left to do. */
export function assertAbortable(r: CaRotation): void {
  if (r.broken) throw new UserError(`rotate-ca abort: ${r.broken}`, EXIT.failed);
  const refuse = (what: string) => {
    throw new UserError(`rotate-ca abort: CA ${r.ca.name} ${what}`, EXIT.badInput);
  };
  if (r.state === 'none' && !r.retired) refuse('has no rotation under way: nothing to abort');
  if (r.state === 'finish') refuse('is in the finish phase: trust in the old CA is ending, there is no way back; run kube-pki rotate-ca finish');
}

/**
 * The CAs one abort run moves back, one step for all: the CAs in reissue when there is any (back to
 * start), else those in start. A run killed after one CA got back to start therefore finishes the
 * others when run again instead of taking that CA a second step back before its restart.
 */
export function abortTargets(rotations: CaRotation[]): CaRotation[] {
  const back = rotations.filter((r) => r.state === 'reissue');
  return back.length ? back : rotations.filter((r) => r.state === 'start');
}

/**
 * abort's restarts and notes (its CAs are all in reissue or all in start, abortTargets): back from
 * reissue the signing pair and the leaves change (the restarts of reissue); back from start the
 * trust flags name ca.crt again (the restarts of finish).
 */
export function abortReport(cluster: Cluster, instances: Instances, snap: Snapshot, caNames: string[]): { restart: NodeRestart[]; notes: string[] } {
  const rotations = caNames.map((name) => caRotation(instances.certs.find((c) => c.name === name)!, snap));
  const fromReissue = rotations.some((r) => r.state === 'reissue');
  return {
    restart: rollingRestart(cluster, instances, caNames, fromReissue ? 'reissue' : 'finish'),
    notes: rotations.map((r) => (fromReissue ? backInStartNote(r) : retiredBundleNote(instances, r.ca.name, 'the old CA'))),
  };
}
