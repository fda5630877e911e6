import { bundleCopies, embedded, type CaRotation, type Snapshot } from '../inspect/rotation.js';
import { kubeconfigSource } from '../kubeconfig/source.js';
import { MODE } from '../model/files.js';
import type { Instances, KubeconfigInstance } from '../model/instances.js';
import type { Action, PlanItem, Step } from '../model/steps.js';
import { idleItem } from '../plan/plan.js';
import { joinPem } from '../util/pem.js';

// The building blocks of the rotation's plans (plan.ts, abort.ts): items from steps, kubeconfigs that
// embed a CA file, pairs replaced without a mismatched moment, and bundles that keep their name.

/** The files of the PKI folder a list of steps changes (written or removed). */
const touched = (steps: Step[]): string[] => [
  ...new Set(steps.flatMap((s) => (s.op === 'install' || s.op === 'remove' ? [s.file] : s.op === 'copy' || s.op === 'concat' ? [s.to] : []))),
];

export const item = (name: string, group: PlanItem['group'], action: Action, reasons: string[], needs: string[], steps: Step[], keySteps: Step[] = []): PlanItem =>
  steps.length + keySteps.length ? { name, group, action, reasons, needs, keySteps, steps, outputs: touched(steps) } : idleItem(name, group, 'keep', ['nothing left to do']);

export const same = (a: Buffer | null | undefined, b: Buffer | null | undefined) => !!a && !!b && a.equals(b);
export const backup = (snap: Snapshot, file: string): Step[] => (snap.get(file) ? [{ op: 'backup', file }] : []);

/** A kubeconfig written again with this CA file embedded, when it does not embed it already. */
export function kubeconfigItem(instances: Instances, kc: KubeconfigInstance, snap: Snapshot, caFile: string, caBytes: Buffer | null, needs: string[], remade: boolean): PlanItem {
  const source = { ...kubeconfigSource(instances, kc), caFile };
  const now = embedded(snap.get(kc.path));
  const current = !remade && !!now && same(now.ca, caBytes) && same(now.cert, snap.get(source.certFile));
  if (current) return idleItem(kc.name, 'kubeconfig', 'keep', [`embeds ${caFile} already`]);
  return item(kc.name, 'kubeconfig', 'reissue', [`embeds ${caFile}`], needs, [
    { op: 'kubeconfig', file: kc.path, kubeconfig: source },
    ...backup(snap, kc.path),
    { op: 'install', file: kc.path, mode: MODE.secret },
  ]);
}

/** What the bundle of these files will hold (the executor makes and checks it the same way). */
export const bundleOfFiles = (snap: Snapshot, from: readonly string[]): Buffer | null => {
  const parts = from.map((f) => snap.get(f));
  return parts.every((p): p is Buffer => !!p) ? joinPem(parts) : null;
};

/**
 * Replaces a pair (a CA's ca.crt/ca.key, or a copy of them) by another: the certificate is removed
 * first, then the key renamed into place, then the certificate: at no moment a key beside a
 * certificate of another key. The old files are in `backups` or elsewhere already.
 */
export function pairSteps(snap: Snapshot, to: { crt: string; key: string }, from: { crt: string; key: string }, want: { crt: Buffer | null; key: Buffer | null }, keyMode: number = MODE.secret): Step[] {
  const steps: Step[] = [];
  const keyChanges = !same(snap.get(to.key), want.key);
  const crtChanges = !same(snap.get(to.crt), want.crt);
  if (keyChanges && snap.get(to.crt)) steps.push(...backup(snap, to.crt), { op: 'remove', file: to.crt });
  if (keyChanges) steps.push(...backup(snap, to.key), { op: 'copy', from: from.key, to: to.key, mode: keyMode });
  if (crtChanges) steps.push(...(keyChanges ? [] : backup(snap, to.crt)), { op: 'copy', from: from.crt, to: to.crt, mode: MODE.public });
  return steps;
}

/**
 * A bundle file that keeps its name but holds only `crt` (finish: the new CA; abort: the old): a
 * component still started with the bundle keeps working and already trusts that CA alone.
 */
export function retireBundles(instances: Instances, r: CaRotation, snap: Snapshot, reason: string): PlanItem[] {
  const f = r.files;
  const c = r.ca.name;
  const want = bundleOfFiles(snap, [f.crt]);
  // Only a bundle that is there: one that never existed (a start killed before making it) names nothing.
  const rewrite = (file: string): Step[] => (!snap.get(file) || same(snap.get(file), want) ? [] : [...backup(snap, file), { op: 'concat', from: [f.crt], to: file, mode: MODE.public }]);
  const bundle = item(`${c}-bundle`, 'ca', 'reissue', [`${f.bundle} ${reason}`], [], rewrite(f.bundle));
  const copies = bundleCopies(instances, c).map((b) => item(`${b.node}/${c}-bundle`, 'ca', 'reissue', [`${b.to} ${reason}`], [bundle.name], rewrite(b.to)));
  return [bundle, ...copies];
}
