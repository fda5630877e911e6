import { EXIT, UserError } from '../errors.js';
import { cert } from '../inspect/rotation.js';
import { saPairMatches, type SaFiles, type SaPair, type SaRotation } from '../inspect/sa-rotation.js';
import type { Snapshot } from '../inspect/rotation.js';
import { MODE } from '../model/files.js';
import type { CertInstance, Instances } from '../model/instances.js';
import type { KeyRotationPhase } from '../model/key-rotation.js';
import type { Plan, PlanItem, Step } from '../model/steps.js';
import { genKeyArgs, publicKeyArgs } from '../openssl/commands.js';
import { certSteps } from '../plan/cert-steps.js';
import { absent, cappedLeafDays, idleItem } from '../plan/plan.js';
import { item, same } from './items.js';
import { clearRecordStep, recordSteps } from './key-phases.js';

// rotate-sa's three phases as plans for the ordinary executor (steps, temp folder, atomic renames,
// lock), pure functions of the files as they are: a phase run again plans only what is left.
//   start   the record (first), the new pair <name>-new.* (kubeadm: also in each control plane's tree)
//   promote the record says promote: no file changes, the flags do (the new key signs)
//   finish  the record says finish (first), the old pair archived in the backup folder and replaced by
//           the new one (everywhere), the record removed (last). <name>-new.* stay, a copy of the
//           current pair, so that a component restarted with the promote flags still starts.
// Pair rule: a key never sits beside a public key or certificate of another key: the public file goes
// first (removed), then the key, then the public file.

export interface SaPlanOptions {
  now?: Date;
}

const RECORD_ITEM = 'sa-rotation-record';

/** The record item (phase begun); idle when the record says so already. */
function recordItem(r: SaRotation, phase: KeyRotationPhase, newKey: string): PlanItem {
  if (r.record?.phase === phase && (phase === 'start' || r.record.newKey === newKey)) return idleItem(RECORD_ITEM, 'keypair', 'keep', [`record says ${phase}`]);
  return item(RECORD_ITEM, 'keypair', 'create', [`record: phase ${phase}`], [], recordSteps('sa', phase, newKey));
}

/** The hard way's new certificate: the token key's public half, signed by the cluster CA like the current one. */
function newCertItem(instances: Instances, files: SaFiles, snap: Snapshot, newKey: boolean, reasons: string[], now: Date): PlanItem {
  const current = instances.certs.find((c) => c.name === files.name)!;
  const inst: CertInstance = { ...current, name: `${files.name}-new`, certPath: files.next.pub, keyPath: files.next.key };
  const caEnd = cert(snap.get(current.ca!.certPath))?.validTo;
  const { days, warning } = caEnd ? cappedLeafDays(inst, new Date(caEnd), now) : { days: inst.days };
  const made = certSteps(inst, 'create', reasons, newKey, absent(), undefined, undefined, days);
  const planned = { ...made, needs: [RECORD_ITEM] };
  return warning ? { ...planned, warnings: [warning] } : planned;
}

/** start: the new pair beside the current one (a retired copy of the current pair is replaced). */
function newPairItem(instances: Instances, r: SaRotation, snap: Snapshot, now: Date): PlanItem {
  const { files } = r;
  const next = files.next;
  const name = `${files.name}-new`;
  // Only a key this rotation's start made (its record is there) is kept: a retired copy or a leftover is replaced.
  const keyHere = !!snap.get(next.key) && !r.retired && r.record?.phase === 'start';
  if (keyHere && saPairMatches(snap, next)) return idleItem(name, 'keypair', 'keep', ['new key made']);
  if (snap.get(next.key) && !r.newKey) throw new UserError(`rotate-sa start: ${next.key} is not a readable private key; move it away and run start again`, EXIT.failed);
  // A retired pair (or a leftover, backed up first: it may be the only copy of a key) goes first, public half first.
  const keep = (file: string): Step[] => (r.leftover ? [{ op: 'backup', file }] : []);
  const clear: Step[] = [
    ...(snap.get(next.pub) ? [...keep(next.pub), { op: 'remove', file: next.pub } as Step] : []),
    ...(snap.get(next.key) && !keyHere ? [...keep(next.key), { op: 'remove', file: next.key } as Step] : []),
  ];
  const replaced = r.retired ? ` (replaces ${next.key}, a copy of the current key left by the last finish)` : r.leftover ? ` (replaces ${next.key}, a key of no rotation: backed up)` : '';
  const reasons = [keyHere ? `new key kept; its public half made from it` : `new token key${replaced}`];
  if (files.pubKind === 'crt') {
    const made = newCertItem(instances, files, snap, !keyHere, reasons, now);
    return { ...made, steps: [...clear, ...made.steps], outputs: [...new Set([...made.outputs, ...clear.map((s) => (s as { file: string }).file)])] };
  }
  const kp = instances.keyPairs.find((k) => k.name === files.name)!;
  const keyArg = keyHere ? { in: next.key } : { out: next.key };
  const steps: Step[] = [...clear, { op: 'openssl', args: publicKeyArgs(keyArg, { out: next.pub }) }];
  if (!keyHere) steps.push({ op: 'install', file: next.key, mode: MODE.secret });
  steps.push({ op: 'install', file: next.pub, mode: MODE.public });
  const keySteps: Step[] = keyHere ? [] : [{ op: 'openssl', args: genKeyArgs(kp.key, keyArg) }];
  return item(name, 'keypair', 'create', reasons, [RECORD_ITEM], steps, keySteps);
}

/**
 * A pair of a node tree made the same as a pair of the shared folder (`from`), after `needs`. `want`:
 * the bytes the source will hold (null: remade in this run, so copied whatever the tree holds).
 */
function treePairItem(name: string, to: SaPair, from: SaPair, want: { key: Buffer | null; pub: Buffer | null }, snap: Snapshot, needs: string[], reason: string): PlanItem {
  if (same(snap.get(to.key), want.key) && same(snap.get(to.pub), want.pub)) return idleItem(name, 'keypair', 'keep', ['same as its source']);
  const steps: Step[] = [];
  if (snap.get(to.pub)) steps.push({ op: 'remove', file: to.pub });
  steps.push({ op: 'copy', from: from.key, to: to.key, mode: MODE.secret }, { op: 'copy', from: from.pub, to: to.pub, mode: MODE.public });
  return item(name, 'keypair', 'reissue', [reason], needs, steps);
}

function planStart(instances: Instances, r: SaRotation, snap: Snapshot, now: Date): PlanItem[] {
  const f = r.files;
  if (!saPairMatches(snap, f.current)) throw new UserError(`rotate-sa start: ${f.current.key} and ${f.current.pub} are not a matching pair here: there is no service-account key to rotate (kube-pki gen makes it; kube-pki check says what is wrong)`, EXIT.badInput);
  const record = recordItem(r, 'start', '');
  const pair = newPairItem(instances, r, snap, now);
  const remade = pair.steps.length + pair.keySteps.length > 0;
  const want = { key: remade ? null : (snap.get(f.next.key) ?? null), pub: remade ? null : (snap.get(f.next.pub) ?? null) };
  const copies = f.copies.map((c) => treePairItem(`${c.node}/${f.name}-new`, c.next, f.next, want, snap, [pair.name], `the new pair in ${c.node}'s tree`));
  return [record, pair, ...copies];
}

/** The new pair must be whole from promote on: it is what signs now. */
function assertNewPair(r: SaRotation, snap: Snapshot, phase: string): void {
  const f = r.files;
  if (!saPairMatches(snap, f.next))
    throw new UserError(`rotate-sa ${phase}: ${f.next.key} and ${f.next.pub} are not a matching pair: run kube-pki rotate-sa start again (it completes the new pair), or restore them from a backup-* folder`, EXIT.failed);
}

function planPromote(r: SaRotation, snap: Snapshot): PlanItem[] {
  assertNewPair(r, snap, 'promote');
  const f = r.files;
  const want = { key: snap.get(f.next.key) ?? null, pub: snap.get(f.next.pub) ?? null };
  // The trees' new pairs as start left them (put back if one went missing): promote makes them sign.
  const copies = f.copies.map((c) => treePairItem(`${c.node}/${f.name}-new`, c.next, f.next, want, snap, [], `the new pair in ${c.node}'s tree`));
  return [recordItem(r, 'promote', r.newKey!), ...copies];
}

function planFinish(r: SaRotation, snap: Snapshot): PlanItem[] {
  const f = r.files;
  const newKey = r.record?.newKey || r.newKey;
  // Killed after the new pair replaced the current one: the current pair is the new key.
  const nextPair = saPairMatches(snap, f.next) ? f.next : null;
  if (!nextPair) assertNewPair(r, snap, 'finish');
  const record = recordItem(r, 'finish', newKey!);
  const want = { key: snap.get(f.next.key) ?? null, pub: snap.get(f.next.pub) ?? null };
  const isNew = (p: string) => same(snap.get(p), p === f.current.key ? want.key : want.pub);
  const archive = (p: string): Step[] => (snap.get(p) && !isNew(p) ? [{ op: 'backup', file: p }] : []);
  const shared =
    isNew(f.current.key) && isNew(f.current.pub)
      ? idleItem(f.name, 'keypair', 'keep', ['the new key is the current one'])
      : item(f.name, 'keypair', 'reissue', [`${f.current.key}/${f.current.pub} become the new pair; the old one is archived in the backup folder`], [RECORD_ITEM], [
          ...archive(f.current.pub),
          ...archive(f.current.key),
          ...(snap.get(f.current.pub) ? [{ op: 'remove', file: f.current.pub } as Step] : []),
          { op: 'copy', from: f.next.key, to: f.current.key, mode: MODE.secret },
          { op: 'copy', from: f.next.pub, to: f.current.pub, mode: MODE.public },
        ]);
  const copies = f.copies.map((c) => treePairItem(`${c.node}/${f.name}`, c.current, f.next, want, snap, [shared.name], `the new pair in ${c.node}'s tree`));
  const clear = r.record
    ? item(`${RECORD_ITEM}-end`, 'keypair', 'reissue', ['rotation over: record removed'], [record.name, shared.name, ...copies.map((c) => c.name)], [clearRecordStep('sa')])
    : idleItem(`${RECORD_ITEM}-end`, 'keypair', 'keep', ['no record']);
  return [record, shared, ...copies, clear];
}

export function planSaPhase(phase: KeyRotationPhase, instances: Instances, r: SaRotation, snap: Snapshot, options: SaPlanOptions = {}): Plan {
  const items = phase === 'start' ? planStart(instances, r, snap, options.now ?? new Date()) : phase === 'promote' ? planPromote(r, snap) : planFinish(r, snap);
  return { profile: 'rotate-sa', items };
}

/** Nothing left to do in this phase. */
export function saPhaseComplete(phase: KeyRotationPhase, instances: Instances, r: SaRotation, snap: Snapshot): boolean {
  try {
    return planSaPhase(phase, instances, r, snap).items.every((i) => i.steps.length + i.keySteps.length === 0);
  } catch {
    return false;
  }
}
