import { posix, resolve } from 'node:path';
import { nodeFolder } from '../catalog/flags.js';
import { placementNodes } from '../catalog/placement.js';
import { EXIT, UserError } from '../errors.js';
import { readSaSnapshot, saFiles, saFlagPaths, saRotation, SA_SIGNING_FLAGS, SA_VERIFY_FLAG } from '../inspect/sa-rotation.js';
import type { Cluster } from '../model/cluster.js';
import { MODE } from '../model/files.js';
import type { Instances } from '../model/instances.js';
import { KEY_ROTATION_PHASES, type KeyRotationState } from '../model/key-rotation.js';
import { genKeyArgs, publicKeyArgs } from '../openssl/commands.js';
import { instancesFor } from '../pki.js';
import { opensslLine } from '../script/bash.js';
import { explainedFile, type ExplainedFile } from './explained-file.js';

// explain's view of the service-account token key: what signs and what verifies now, the rotation
// (rotate-sa) it is in, and, for kubeadm's bare key pair (sa.key / sa.pub, not a certificate), the
// whole explanation.

export interface TokenKeyView {
  /** The rotation's phase ('none': no rotation under way). */
  state: KeyRotationState;
  /** In the PKI folder: what the apiservers verify tokens with, and what signs them, in this phase. */
  verifyWith: string[];
  signsWith: string;
  /** The new pair of a rotation, and whether it is in the folder (a copy of the current pair after finish). */
  newPair: { key: string; pub: string; present: boolean; retired: boolean };
  /** What each phase of a rotation changes, for the reader. */
  phases: { phase: string; verify: string[]; sign: string }[];
}

export async function tokenKeyView(instances: Instances, out: string): Promise<TokenKeyView | null> {
  const files = saFiles(instances);
  if (!files) return null;
  const snap = await readSaSnapshot(resolve(out), files, { unusableAsAbsent: true });
  const r = saRotation(files, snap);
  const { key, pub } = files.current;
  const at = (state: KeyRotationState) => ({ verify: saFlagPaths(state, SA_VERIFY_FLAG, pub), sign: saFlagPaths(state, SA_SIGNING_FLAGS[0], key)[0]! });
  return {
    state: r.state,
    verifyWith: at(r.state).verify,
    signsWith: at(r.state).sign,
    newPair: { ...files.next, present: !!snap.get(files.next.key), retired: r.retired },
    phases: [{ phase: 'before start, after finish', ...at('none') }, ...KEY_ROTATION_PHASES.filter((p) => p !== 'finish').map((p) => ({ phase: `after ${p}`, ...at(p) }))],
  };
}

export function tokenKeyLines(v: TokenKeyView): string[] {
  const out = [
    `  now: the apiservers verify tokens with ${v.verifyWith.join(' and ')}; ${v.signsWith} signs them` +
      (v.state === 'none' ? ' (no rotation under way)' : ` (rotate-sa phase ${v.state}; kube-pki rotate-sa status says what next)`),
  ];
  if (v.newPair.present)
    out.push(`  ${v.newPair.key} / ${v.newPair.pub}: ${v.newPair.retired ? 'a copy of the current pair left by rotate-sa finish (delete it once every component runs with the flags kube-pki flags prints)' : 'the new pair of the rotation under way'}`);
  out.push('  kube-pki rotate-sa replaces it without refusing a token (docs/key-rotation.md):');
  const width = Math.max(...v.phases.map((p) => p.phase.length));
  out.push(...v.phases.map((p) => `    ${p.phase.padEnd(width)}  verify ${p.verify.join(' + ')}; sign ${p.sign}`));
  return out;
}

export interface ExplainKeyPairReport {
  name: string;
  profile: string;
  purpose: string;
  subject: string;
  usedBy: { component: string; flag: string; file: string; nodes: string[] }[];
  files: ExplainedFile[];
  commands: string[];
  tokenKey: TokenKeyView | null;
}

/** The names `explain` takes for a bare key pair: its instance name and its files (the current and the new pair). */
export function keyPairNamed(instances: Instances, name: string) {
  return instances.keyPairs.find((k) => {
    const files = saFiles(instances);
    const names = [k.name, k.keyPath, k.pubPath, posix.basename(k.keyPath), posix.basename(k.pubPath)];
    if (files?.name === k.name) names.push(files.next.key, files.next.pub, posix.basename(files.next.key), posix.basename(files.next.pub));
    return names.includes(name);
  });
}

/** `kube-pki explain sa` (kubeadm): the service-account key pair. */
export async function explainKeyPair(cluster: Cluster, name: string, out: string): Promise<ExplainKeyPairReport> {
  const instances = instancesFor(cluster);
  const kp = keyPairNamed(instances, name);
  if (!kp) throw new UserError(`explain: unknown key pair ${JSON.stringify(name)}`, EXIT.badInput);
  const { dir } = nodeFolder(cluster);
  const file = (path: string, mode: number, what: string, nodes: string[]) => explainedFile(cluster, instances, path, mode, what, nodes);
  const files = [file(kp.keyPath, MODE.secret, 'private key', placementNodes(cluster, kp.spec.keyTo, undefined)), file(kp.pubPath, MODE.public, 'public key', placementNodes(cluster, kp.spec.pubTo, undefined))];
  const usedBy = (kp.spec.uses ?? []).map((u) => {
    const f = files.find((x) => x.path === (u.part === 'key' ? kp.keyPath : kp.pubPath))!;
    return { component: u.component, flag: u.flag, file: posix.join(dir, f.onNodes[0]?.file.replace(/^[^/]+\//, '') ?? f.path), nodes: f.nodes };
  });
  return {
    name: kp.name,
    profile: cluster.profile,
    purpose: kp.spec.explain?.purpose ?? '',
    subject: kp.spec.explain?.subject ?? '',
    usedBy,
    files,
    commands: [opensslLine(genKeyArgs(kp.key, { out: kp.keyPath })), opensslLine(publicKeyArgs({ in: kp.keyPath }, { out: kp.pubPath }))],
    tokenKey: await tokenKeyView(instances, out),
  };
}

export function keyPairText(r: ExplainKeyPairReport): string {
  const out = [`${r.name}: key pair, no certificate (catalog entry ${r.name}, profile ${r.profile})`, '', 'WHO USES IT AND FOR WHAT', `  ${r.purpose}`];
  const width = Math.max(...r.usedBy.map((u) => u.component.length));
  out.push(...r.usedBy.map((u) => `  ${u.component.padEnd(width)}  ${u.flag} ${u.file}${u.nodes.length ? `  (on ${u.nodes.join(', ')})` : ''}`));
  out.push('', 'SUBJECT', `  ${r.subject}`, '', 'FILES');
  for (const f of r.files) out.push(`  ${f.path} (${f.mode})  ${f.what}${f.nodes.length ? `; goes to ${f.nodes.join(', ')}` : ''}`, ...f.onNodes.map((l) => `    ${l.node}:  ${l.remotePath}  (sent from ${l.file})`));
  if (r.tokenKey) out.push('', 'TOKEN KEY ROTATION', ...tokenKeyLines(r.tokenKey));
  out.push('', 'HOW IT IS MADE (kube-pki runs these; `kube-pki script` prints them all)', ...r.commands.map((c, i) => `  ${i + 1}. ${c}`));
  return `${out.join('\n')}\n`;
}
