import { EXIT, UserError } from '../errors.js';
import type { CertState, DiskState } from '../inspect/disk.js';
import { emptyDisk } from '../inspect/disk.js';
import { csrArgs, genKeyArgs, publicKeyArgs, signArgs } from '../openssl/commands.js';
import { extensionSection, renderCnf } from '../openssl/cnf.js';
import type { CertInstance, Instances, KeyPairInstance, KubeconfigInstance } from './instances.js';
import { kubeconfigSource } from './kubeconfig-source.js';
import { MODE, type Action, type Arg, type Plan, type PlanItem, type Step } from './steps.js';

export interface PlanOptions {
  /** Re-issue certificates (keeping their keys) and rewrite kubeconfigs that no longer match. */
  force?: boolean;
  /** Replace every CA with a new key and certificate; all leaves are then re-issued. */
  replaceCa?: boolean;
}

const base = (path: string) => path.replace(/\.(crt|key)$/, '');

/**
 * The pure planner: catalog instances + what is on disk + options -> ordered items of steps.
 * It reads nothing and runs nothing, so `--dry-run`, `script` and tests can use it freely.
 */
export function planPki(profile: string, instances: Instances, disk: DiskState = emptyDisk(), options: PlanOptions = {}): Plan {
  const items: PlanItem[] = [];
  const actions = new Map<string, Action>();
  const cas = instances.certs.filter((c) => !c.caName);
  const leaves = instances.certs.filter((c) => c.caName);
  for (const cert of [...cas, ...leaves]) {
    const item = planCert(cert, disk.certs.get(cert.name) ?? absent(), actions, options);
    actions.set(cert.name, item.action);
    items.push(item);
  }
  for (const kp of instances.keyPairs) items.push(planKeyPair(kp, disk));
  for (const kc of instances.kubeconfigs) items.push(planKubeconfig(instances, kc, disk, actions, options));
  return { profile, items };
}

const absent = (): CertState => ({ keyExists: false, keyUnreadable: false, certExists: false, problems: [] });
const changes = (a: Action | undefined) => a === 'create' || a === 'reissue';

function planCert(cert: CertInstance, state: CertState, actions: Map<string, Action>, options: PlanOptions): PlanItem {
  const isCa = !cert.caName;
  const item = (action: Action, reasons: string[], newKey = false): PlanItem =>
    action === 'keep' || action === 'stale'
      ? { name: cert.name, group: isCa ? 'ca' : 'cert', action, reasons, needs: [], keySteps: [], steps: [], outputs: [] }
      : certSteps(cert, action, reasons, newKey, state);

  if (isCa) {
    if (options.replaceCa && (state.keyExists || state.certExists)) return item('create', ['replacing the CA (--replace-ca); the old files go to the backup folder'], true);
    if (state.keyUnreadable) throw new UserError(`${cert.keyPath} is not a readable private key; kube-pki never overwrites a CA key: move it away or restore it`, EXIT.failed);
    if (!state.keyExists && state.certExists)
      throw new UserError(
        `${cert.certPath} exists without ${cert.keyPath}, so nothing can be signed with it: restore the key, or give --replace-ca to make a new CA (every certificate is then re-issued)`,
        EXIT.failed,
      );
    if (!state.keyExists) return item('create', ['new CA'], true);
    if (!state.certExists) return item('create', ['CA key kept; certificate made from it']);
    if (state.problems.length) return item('stale', [...state.problems, 'a CA is only replaced with --replace-ca']);
    return item('keep', ['kept']);
  }

  const caChanged = changes(actions.get(cert.caName!)) && (options.replaceCa ?? false);
  if (state.keyUnreadable) return item('stale', [`${cert.keyPath} is not a readable private key (never overwritten: move it away to get a new one)`]);
  if (!state.keyExists) return item('create', state.certExists ? ['key missing: new key and certificate'] : ['new'], true);
  if (!state.certExists) return item('create', ['key kept; certificate made from it']);
  if (caChanged) return item('reissue', ['the CA was replaced; key kept']);
  if (state.problems.length === 0) return item('keep', ['kept']);
  if (options.force) return item('reissue', [...state.problems, 're-issued (--force), key kept']);
  return item('stale', [...state.problems, 'use --force to re-issue it (the key is kept)']);
}

function certSteps(cert: CertInstance, action: Action, reasons: string[], newKey: boolean, state: CertState): PlanItem {
  const b = base(cert.certPath);
  const key: Arg = newKey ? { out: cert.keyPath } : { in: cert.keyPath };
  const cnf = { out: `${b}.cnf` };
  const csr = { out: `${b}.csr` };
  const crt = { out: cert.certPath };
  const signer = cert.ca ? { caCrt: { in: cert.ca.certPath }, caKey: { in: cert.ca.keyPath } } : { selfKey: key };
  const keySteps: Step[] = newKey ? [{ op: 'openssl', args: genKeyArgs(cert.key, key) }] : [];
  const steps: Step[] = [
    { op: 'write', file: cnf.out, content: renderCnf(cert) },
    { op: 'openssl', args: csrArgs({ key, subject: cert.subject, csr, cnf }) },
    { op: 'openssl', args: signArgs({ csr, crt, days: cert.days, cnf, section: extensionSection(cert), signer }) },
  ];
  if (newKey) {
    if (state.keyExists) steps.push({ op: 'backup', file: cert.keyPath });
    steps.push({ op: 'install', file: cert.keyPath, mode: MODE.secret });
  }
  if (state.certExists) steps.push({ op: 'backup', file: cert.certPath });
  steps.push({ op: 'install', file: cert.certPath, mode: MODE.public });
  return {
    name: cert.name,
    group: cert.caName ? 'cert' : 'ca',
    action,
    reasons,
    needs: cert.caName ? [cert.caName] : [],
    keySteps,
    steps,
    outputs: newKey ? [cert.keyPath, cert.certPath] : [cert.certPath],
  };
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

function planKubeconfig(instances: Instances, kc: KubeconfigInstance, disk: DiskState, actions: Map<string, Action>, options: PlanOptions): PlanItem {
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
  if (!s.exists) return write('create', ['new']);
  if (changes(actions.get(kc.certName)) || changes(actions.get(kc.caName))) return write('reissue', ['its certificate changed']);
  if (s.current === true) return idle('keep', ['kept']);
  if (s.current === null) return idle('stale', ['its certificate or key is missing']);
  if (options.force) return write('reissue', ['differs from its certificates: rewritten (--force)']);
  return idle('stale', ['differs from what its CA, certificate and key give; use --force to rewrite it']);
}
