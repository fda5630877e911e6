import { EXIT, UserError } from '../errors.js';
import type { CertState, CopyState, DiskState } from '../inspect/disk.js';
import { isExternalCa, keySpecText } from '../inspect/compare.js';
import { emptyDisk } from '../inspect/disk.js';
import { genKeyArgs, publicKeyArgs } from '../openssl/commands.js';
import type { CertInstance, CopyFile, CopyInstance, Instances, KeyPairInstance, KubeconfigInstance } from '../model/instances.js';
import { kubeconfigSource } from '../kubeconfig/source.js';
import { MODE } from '../model/files.js';
import type { Action, Plan, PlanItem, Step } from '../model/steps.js';
import { DAY_MS } from '../model/time.js';
import { checkIntermediates, planRoot } from './root.js';
import { certSteps, type RootSigning } from './cert-steps.js';
import { plural } from '../util/words.js';
import { planEncryption } from './encryption.js';

export { base, requestSteps } from './cert-steps.js';

export interface PlanOptions {
  /** Re-issue certificates (keeping their keys) and rewrite kubeconfigs that no longer match. */
  force?: boolean;
  /** Replace every CA with a new key and certificate; all leaves are then re-issued. */
  replaceCa?: boolean;
  /** With replaceCa: only these CAs (instance names, `gen --ca`); their leaves are re-issued. */
  onlyCas?: ReadonlySet<string>;
  /** Re-issue these leaf certificates (instance names) even when they are right: `renew`. */
  reissue?: ReadonlySet<string>;
  /** With `reissue`: give each of them a new key instead of keeping it. */
  newKey?: boolean;
  /**
   * CAs an interrupted `--replace-ca` was replacing: what it had still to do is done now (their
   * leaves re-issued with kept keys, the kubeconfigs and copies that embed them rewritten).
   */
  finishCaReplacement?: ReadonlySet<string>;
  /** The time intermediates are made at (checked against the root's end); default now. */
  now?: Date;
  /**
   * Under a root in a PKCS#11 token: certify its key when root-ca.crt is not there (`script`, which
   * starts from nothing; gen leaves that to `root init`).
   */
  certifyTokenRoot?: boolean;
}


/** Is this CA replaced in this run (--replace-ca, narrowed by --ca)? */
export const replacesCa = (options: PlanOptions, name: string): boolean => !!options.replaceCa && (!options.onlyCas || options.onlyCas.has(name));

/**
 * The planner: catalog instances + what is on disk (read beforehand, `disk`) + options -> ordered
 * items of steps. It runs nothing and writes nothing, so `--dry-run`, `script` and tests can use it
 * freely; the one file it reads is the openssl.cnf template (renderCnf), once per run.
 */
export function planPki(profile: string, instances: Instances, disk: DiskState = emptyDisk(), options: PlanOptions = {}): Plan {
  const items: PlanItem[] = [];
  const actions = new Map<string, Action>();
  const cas = instances.certs.filter((c) => !c.caName);
  const leaves = instances.certs.filter((c) => c.caName);
  const lost = lostCaKeys(cas, disk, options);
  if (lost) throw lost;
  // A CA certificate without its key is an external CA: what it signs arrives signed (kube-pki csr).
  const external = new Set(cas.filter((c) => keyless(disk.certs.get(c.name), options, c.name)).map((c) => c.name));
  const unsigned: CertInstance[] = [];
  const otherKeys: CertInstance[] = [];
  const root = instances.root ? planRoot(instances.root, disk.certs.get(instances.root.name) ?? absent(), instances.rootEncrypt ?? true, instances.rootToken, !!options.certifyTokenRoot) : undefined;
  if (root) items.push(root.item);
  for (const cert of [...cas, ...leaves]) {
    const state = disk.certs.get(cert.name) ?? absent();
    const ca = cert.caName ? disk.certs.get(cert.caName) : undefined;
    const item = cert.caName && external.has(cert.caName) ? planSignedElsewhere(cert, state, options, unsigned) : planCert(cert, state, actions, options, root?.signing, ca);
    if (changes(item.action) && !item.keySteps.length && state.keyOfOtherType) otherKeys.push(cert);
    actions.set(cert.name, item.action);
    items.push(item);
  }
  if (unsigned.length) throw unsignedError(instances, unsigned);
  if (otherKeys.length) throw keptKeysOfOtherType(otherKeys, disk);
  const rootless = root ? checkIntermediates(instances, disk, items, root, options.now ?? new Date()) : [];
  for (const kp of instances.keyPairs) items.push(planKeyPair(kp, disk));
  const byName = new Map(items.map((i) => [i.name, i]));
  for (const copy of instances.copies) {
    const item = planCopy(copy, byName.get(copy.source)!, disk, options);
    byName.set(item.name, item);
    items.push(item);
  }
  for (const kc of instances.kubeconfigs) items.push(planKubeconfig(instances, kc, disk, byName, options));
  if (instances.encryption) items.push(...planEncryption(instances.encryption, disk.encryption, !!options.force));
  return { profile, items, ...(rootless.length ? { rootless } : {}) };
}

/** A CA certificate is there but not its key, and the CA is not being replaced. */
export const keyless = (state: CertState | undefined, options: PlanOptions = {}, name = ''): boolean =>
  !!state && state.certExists && !state.keyExists && !state.keyUnreadable && !state.keyLost && !replacesCa(options, name);

/**
 * A CA key this folder held (kube-pki made or kept it) and that is gone: never taken for an external CA
 * (that is declared, or a folder that never held the key). Exit 1, as for an unusable key file.
 */
export function lostCaKeys(cas: CertInstance[], disk: DiskState, options: PlanOptions = {}): UserError | null {
  const lost = cas.filter((c) => disk.certs.get(c.name)?.keyLost && !replacesCa(options, c.name));
  if (!lost.length) return null;
  return new UserError(
    [
      ...lost.map((c) => `${c.keyPath} is missing, but this folder held the key of ${c.certPath} (${disk.certs.get(c.name)!.keyLost}):`),
      'restore it (a backup-*/ folder may hold it); if the key is kept elsewhere on purpose, declare the CA external in the description ' +
        `(externalCAs: [${lost.map((c) => c.name).join(', ')}]); if it is lost, replace the CA (kube-pki gen --replace-ca); nothing was written`,
    ].join('\n'),
    EXIT.failed,
  );
}

export const idleItem = (name: string, group: PlanItem['group'], action: Action, reasons: string[]): PlanItem => ({
  name, group, action, reasons, needs: [], keySteps: [], steps: [], outputs: [],
});

/** A leaf of an external CA: kube-pki checks and keeps it, and can never sign it. */
function planSignedElsewhere(cert: CertInstance, state: CertState, options: PlanOptions, unsigned: CertInstance[]): PlanItem {
  const idle = (action: Action, reasons: string[]) => idleItem(cert.name, 'cert', action, reasons);
  const resign = `its CA ${cert.caName} has no key here: write a new request with kube-pki csr and have it signed`;
  if (state.keyUnreadable) return idle('stale', [`${cert.keyPath} is not a readable private key (never overwritten: move it away to get a new one)`]);
  if (!state.keyExists || !state.certExists) {
    unsigned.push(cert);
    return idle('stale', [resign]);
  }
  if (options.reissue?.has(cert.name)) throw new UserError(`${cert.name} cannot be renewed here: ${resign}`, EXIT.failed);
  if (state.problems.length) return idle('stale', [...state.problems, resign]);
  return idle('keep', [`signed by the external CA ${cert.caName}`]);
}

function unsignedError(instances: Instances, unsigned: CertInstance[]): UserError {
  const cas = [...new Set(unsigned.map((c) => c.caName!))].map((name) => instances.certs.find((c) => c.name === name)!);
  return new UserError(
    [
      `${cas.map((c) => `${c.certPath} has no ${c.keyPath}`).join('; ')}: kube-pki cannot sign for ${cas.length > 1 ? 'these CAs' : 'this CA'}, ` +
        'so these certificates must come signed by whoever holds the key:',
      ...unsigned.map((c) => `  ${c.name}: ${c.certPath}${cas.length > 1 ? ` (CA ${c.caName})` : ''}`),
      'Run `kube-pki csr` (same --config and --out) to write their keys and signing requests (.csr); have each request signed ' +
        'and save the certificate as the .crt next to it; then run gen again. (If the CA key was lost instead, --replace-ca makes a new CA.)',
    ].join('\n'),
    EXIT.failed,
  );
}

/**
 * Signing again for a kept key of another type than `key:` gives a certificate whose key usage is the new
 * type's (ECDSA: no keyEncipherment) over the old key: broken, and still the old type. Refused (exit 2,
 * nothing written); renew --new-key gives new keys of the described type, their old ones backed up.
 */
function keptKeysOfOtherType(certs: CertInstance[], disk: DiskState): UserError {
  const want = keySpecText(certs[0]!.key);
  return new UserError(
    [
      `key: says ${want}, but these certificates would be signed again for a kept key of another type:`,
      ...certs.map((c) => `  ${c.keyPath}: ${disk.certs.get(c.name)?.keyOfOtherType ?? '?'}`),
      `gen and renew keep keys, so that cannot give ${want} certificates. Run kube-pki renew --all --new-key (same --config and --out) ` +
        `to give every leaf a new ${want} key (the old keys go to the backup folder), then gen again; nothing was written`,
    ].join('\n'),
    EXIT.badInput,
  );
}

/**
 * A shared file's copy in one node's tree follows its source: a missing copy is made, a copy of a
 * source re-made in this run is updated. A copy that differs from its source is deployed material
 * of another origin: kept and reported stale unless --force. All files of the copy or none.
 */
function planCopy(copy: CopyInstance, source: PlanItem, disk: DiskState, options: PlanOptions): PlanItem {
  const state = (f: CopyFile): CopyState => disk.copies?.get(f.to) ?? { sourceExists: false, targetExists: false, same: false };
  const copied: CopyFile[] = [];
  const stale: string[] = [];
  for (const f of copy.files) {
    const s = state(f);
    const remade = source.outputs.includes(f.from);
    if (!remade && !s.sourceExists) {
      if (s.targetExists) stale.push(`${f.to} has no source: ${f.from} is missing`);
    } else if (!s.targetExists || (s.same && remade) || (!s.same && (options.force || options.finishCaReplacement?.has(copy.source)))) copied.push(f);
    else if (!s.same) stale.push(`${f.to} differs from ${f.from}; kept as it is (--force replaces it with ${f.from})`);
  }
  if (stale.length) return idleItem(copy.name, copy.group, 'stale', stale);
  if (copied.length === 0) return idleItem(copy.name, copy.group, 'keep', ['kept']);
  const fresh = copied.every((f) => !state(f).targetExists);
  return {
    name: copy.name,
    group: copy.group,
    action: fresh ? 'create' : 'reissue',
    reasons: [`${fresh ? 'copied' : 'updated'} from ${copied.map((f) => f.from).join(', ')}`],
    needs: [source.name],
    keySteps: [],
    steps: copied.flatMap((f): Step[] => [
      ...(state(f).targetExists ? [{ op: 'backup', file: f.to } as const] : []),
      { op: 'copy', from: f.from, to: f.to, mode: f.mode },
    ]),
    outputs: copied.map((f) => f.to),
  };
}

export const absent = (): CertState => ({ keyExists: false, keyUnreadable: false, certExists: false, problems: [] });
const changes = (a: Action | undefined) => a === 'create' || a === 'reissue';

/**
 * The days a leaf signed now is valid for: validityDays.leaf, or less when its CA expires sooner: a
 * certificate must not outlive its issuer. Capped with a warning, as kubeadm warns; a CA with less
 * than a day left signs nothing. Shared by gen (a CA kept from an earlier run) and rotate-ca reissue.
 */
export function cappedLeafDays(cert: CertInstance, caNotAfter: Date, now: Date): { days: number; warning?: string } {
  const left = (caNotAfter.getTime() - now.getTime()) / DAY_MS;
  // One day of slack, as the stale check allows: a CA made moments before its leaves is not "shorter".
  if (cert.days <= left + 1) return { days: cert.days };
  const expires = caNotAfter.toISOString();
  const days = Math.floor(left);
  if (days < 1)
    throw new UserError(`${cert.ca!.certPath} expires on ${expires}, too soon to sign ${cert.certPath}: replace the CA (kube-pki gen --replace-ca)`, EXIT.failed);
  return {
    days,
    warning: `valid for ${plural(days, 'day')} instead of validityDays.leaf (${cert.days}): capped to the remaining life of its CA ${cert.ca!.certPath}, which expires on ${expires}; replace the CA (gen --replace-ca) before then`,
  };
}

function leafDays(cert: CertInstance, ca: CertState | undefined, caRemade: boolean): { days: number; warning?: string } {
  if (caRemade || ca?.remainingDays === undefined || !ca.facts) return { days: cert.days };
  // remainingDays was measured at the inspection's `now`: the same moment here.
  return cappedLeafDays(cert, ca.facts.notAfter, new Date(ca.facts.notAfter.getTime() - ca.remainingDays * DAY_MS));
}

function planCert(cert: CertInstance, state: CertState, actions: Map<string, Action>, options: PlanOptions, root?: RootSigning, ca?: CertState): PlanItem {
  const isCa = !cert.caName;
  const item = (action: Action, reasons: string[], newKey = false): PlanItem => {
    if (action === 'keep' || action === 'stale') return { name: cert.name, group: isCa ? 'ca' : 'cert', action, reasons, needs: [], keySteps: [], steps: [], outputs: [] };
    const { days, warning } = isCa ? { days: cert.days } : leafDays(cert, ca, changes(actions.get(cert.caName!)));
    const planned = certSteps(cert, action, reasons, newKey, state, cert.root ? root : undefined, undefined, days);
    return warning ? { ...planned, warnings: [warning] } : planned;
  };

  if (isCa) {
    if (replacesCa(options, cert.name) && (state.keyExists || state.certExists)) return item('create', ['replacing the CA (--replace-ca); the old files go to the backup folder'], true);
    if (state.keyUnreadable) throw new UserError(`${cert.keyPath} is not a readable private key; kube-pki never overwrites a CA key: move it away or restore it`, EXIT.failed);
    if (state.notUnderRoot) return item('stale', [...state.problems, 'making it an intermediate of the root replaces the CA (--replace-ca)']);
    if (state.problems.length) return item('stale', [...state.problems, 'a CA is only replaced with --replace-ca']);
    if (keyless(state, options, cert.name)) return item('keep', [`external CA: ${cert.certPath} without its key; what it signs comes signed from elsewhere (kube-pki csr)`]);
    if (!state.keyExists) return item('create', ['new CA'], true);
    if (!state.certExists) return item('create', ['CA key kept; certificate made from it']);
    if (state.facts && isExternalCa(cert, state.facts)) return item('keep', [`external CA ${JSON.stringify(state.facts.cn)}, used as it is`]);
    return item('keep', ['kept']);
  }

  const caChanged = changes(actions.get(cert.caName!)) && replacesCa(options, cert.caName!);
  if (state.keyUnreadable) return item('stale', [`${cert.keyPath} is not a readable private key (never overwritten: move it away to get a new one)`]);
  if (!state.keyExists) return item('create', state.certExists ? ['key missing: new key and certificate'] : ['new'], true);
  if (!state.certExists) return item('create', ['key kept; certificate made from it']);
  if (options.reissue?.has(cert.name))
    return options.newKey ? item('create', ['renewed with a new key'], true) : item('reissue', ['renewed, key kept']);
  if (caChanged) return item('reissue', ['the CA was replaced; key kept']);
  if (state.problems.length && options.finishCaReplacement?.has(cert.caName!))
    return item('reissue', [...state.problems, 're-issued, key kept: completing the --replace-ca an interrupted run began']);
  if (state.problems.length === 0) return item('keep', ['kept']);
  if (options.force) return item('reissue', [...state.problems, 're-issued (--force), key kept']);
  return item('stale', [...state.problems, 'use --force to re-issue it (the key is kept)']);
}

function planKeyPair(kp: KeyPairInstance, disk: DiskState): PlanItem {
  const s = disk.keyPairs.get(kp.name) ?? { keyExists: false, keyUnreadable: false, pubExists: false, pubMatches: false };
  const item = (action: Action, reasons: string[], steps: Step[] = [], keySteps: Step[] = [], outputs: string[] = []): PlanItem => ({
    name: kp.name, group: 'keypair', action, reasons, needs: [], keySteps, steps, outputs,
  });
  if (s.keyUnreadable) return item('stale', [`${kp.keyPath} is not a readable private key (never overwritten)`]);
  const backupPub: Step[] = s.pubExists ? [{ op: 'backup', file: kp.pubPath }] : [];
  const pub: Step[] = [{ op: 'openssl', args: publicKeyArgs(s.keyExists ? { in: kp.keyPath } : { out: kp.keyPath }, { out: kp.pubPath }) }];
  if (!s.keyExists)
    return item('create', ['new'], [...pub, { op: 'install', file: kp.keyPath, mode: MODE.secret }, ...backupPub, { op: 'install', file: kp.pubPath, mode: MODE.public }],
      [{ op: 'openssl', args: genKeyArgs(kp.key, { out: kp.keyPath }) }], [kp.keyPath, kp.pubPath]);
  if (!s.pubMatches)
    return item('create', [s.pubExists ? 'public key did not match the private key: derived again' : 'key kept; public key derived from it'],
      [...pub, ...backupPub, { op: 'install', file: kp.pubPath, mode: MODE.public }], [], [kp.pubPath]);
  return item('keep', ['kept']);
}

/**
 * Why a kubeconfig written in this run would not work: its client certificate stays stale (so it
 * may not be signed by the CA the kubeconfig embeds), or, in a node tree, the tree's copy of the CA
 * certificate will not be the CA the kubeconfig embeds. Empty when writing it gives a consistent file.
 */
function kubeconfigBlockers(instances: Instances, kc: KubeconfigInstance, disk: DiskState, byName: Map<string, PlanItem>): string[] {
  const blockers: string[] = [];
  const cert = byName.get(kc.certName);
  if (cert?.action === 'stale') blockers.push(`its certificate ${kc.certName} is stale, so it would not work with it (--force re-issues the certificate, then rewrites it)`);
  // A stale CA is kept as it is and still signs what is re-issued: no blocker by itself.
  const ca = byName.get(kc.caName);
  if (changes(ca?.action) && cert && !changes(cert.action) && cert.action !== 'stale')
    blockers.push(`its CA ${kc.caName} is re-made but its certificate ${kc.certName} is not re-issued (--force re-issues it)`);
  if (kc.node) {
    const copy = instances.copies.find((c) => c.node === kc.node && c.source === kc.caName);
    const source = kubeconfigSource(instances, kc).caFile;
    const file = copy?.files.find((f) => f.from === source);
    if (copy && file) {
      const item = byName.get(copy.name);
      const updated = !!item?.outputs.includes(file.to);
      const equal = !!disk.copies?.get(file.to)?.same && !ca?.outputs.includes(source);
      if (!updated && !equal) blockers.push(`${file.to} would stay another CA than the ${source} it embeds (--force replaces ${file.to})`);
    }
  }
  return blockers;
}

function planKubeconfig(instances: Instances, kc: KubeconfigInstance, disk: DiskState, byName: Map<string, PlanItem>, options: PlanOptions): PlanItem {
  const s = disk.kubeconfigs.get(kc.name) ?? { exists: false, current: null };
  const source = kubeconfigSource(instances, kc);
  const write = (action: Action, reasons: string[]): PlanItem => ({
    name: kc.name,
    group: 'kubeconfig',
    action,
    reasons,
    needs: [kc.certName, kc.caName],
    keySteps: [],
    steps: [
      { op: 'kubeconfig', file: kc.path, kubeconfig: source },
      ...(s.exists ? [{ op: 'backup', file: kc.path } as const] : []),
      // It embeds a private key: as secret as the key itself.
      { op: 'install', file: kc.path, mode: MODE.secret },
    ],
    outputs: [kc.path],
  });
  const idle = (action: Action, reasons: string[]): PlanItem => ({ name: kc.name, group: 'kubeconfig', action, reasons, needs: [], keySteps: [], steps: [], outputs: [] });
  const certChanges = changes(byName.get(kc.certName)?.action);
  const caChanges = changes(byName.get(kc.caName)?.action);
  // Rewritten only when what it embeds is consistent after this run: never a new CA next to a stale
  // certificate it did not sign, nor a CA the node's own pki/ca.crt does not hold.
  const blockers = kubeconfigBlockers(instances, kc, disk, byName);
  if (blockers.length) {
    if (s.exists && s.current === true && !certChanges && !caChanges) return idle('keep', ['kept']);
    return idle('stale', [...blockers, s.exists ? 'kept as it is' : 'not written']);
  }
  if (!s.exists) return write('create', ['new']);
  if (certChanges) return write('reissue', ['its certificate changed']);
  if (s.current === true) return idle('keep', ['kept']);
  if (s.current === null) return idle('stale', ['its certificate or key is missing']);
  const how = s.differences ?? [];
  if (options.force) return write('reissue', [...how, 'differs from its certificates: rewritten (--force)']);
  if (options.finishCaReplacement?.has(kc.caName)) return write('reissue', [...how, 'differs from its certificates: rewritten, completing the --replace-ca an interrupted run began']);
  return idle('stale', [...how, 'differs from what its CA, certificate and key give; use --force to rewrite it']);
}
