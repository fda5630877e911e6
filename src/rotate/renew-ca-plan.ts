import { EXIT, UserError } from '../errors.js';
import { certExtensions } from '../inspect/der.js';
import { bundleCopies, caFiles, cert, kubeconfigsOf, pairMatches, type Snapshot } from '../inspect/rotation.js';
import { isEncryptedKey } from '../inspect/x509.js';
import { MODE } from '../model/files.js';
import type { CertInstance, Instances } from '../model/instances.js';
import { PASSPHRASE, type Arg, type PlanItem, type Step } from '../model/steps.js';
import { DAY_MS } from '../model/time.js';
import { extensionSection, renderCnf } from '../openssl/cnf.js';
import { requestFromCertArgs, signArgs } from '../openssl/commands.js';
import { base } from '../plan/cert-steps.js';
import { tokenArg } from '../plan/root.js';
import { backup, item, kubeconfigItem } from './items.js';

// renew-ca as a plan for the ordinary executor: each CA gets a new certificate for the key it has,
// with its subject (from its own certificate, byte for byte) and subject key identifier, valid
// validityDays.ca from now; then every file that holds the CA's certificate follows (node-tree
// copies, a bundle kept after a rotation, kubeconfigs). Leaves are not touched: they verify with the
// renewed CA as with the old one (same issuer name, same key, their authority key id its key id).

/** The certificates a run renews: the catalog's CAs, and the root (only when named: --ca root-ca). */
export interface RenewCaTarget {
  ca: CertInstance;
  /** The root when `ca` is an intermediate under rootCA. */
  root?: CertInstance;
  /** `ca` is the root itself: in no tree, no bundle, no kubeconfig. */
  isRoot?: boolean;
}

/**
 * How a target is signed: by itself (a self-signed CA, the root) or by the root; the passphrase when
 * that key is encrypted; `token`: the root's key in a PKCS#11 token (rootCA.pkcs11), never a file.
 */
function signer(t: RenewCaTarget, snap: Snapshot, token?: Arg): { signer: { selfKey: Arg } | { caCrt: Arg; caKey: Arg }; passin?: Arg; ownPassin?: Arg } {
  if (token && t.isRoot) return { signer: { selfKey: token } };
  if (token && t.root) return { signer: { caCrt: { in: t.root.certPath }, caKey: token } };
  const encrypted = (path: string) => {
    const key = snap.get(path);
    return !!key && isEncryptedKey(key);
  };
  const ownPassin = encrypted(t.ca.keyPath) ? PASSPHRASE : undefined;
  if (!t.root) return { signer: { selfKey: { in: t.ca.keyPath } }, ...(ownPassin ? { passin: ownPassin, ownPassin } : {}) };
  return { signer: { caCrt: { in: t.root.certPath }, caKey: { in: t.root.keyPath } }, ...(encrypted(t.root.keyPath) ? { passin: PASSPHRASE } : {}), ...(ownPassin ? { ownPassin } : {}) };
}

/**
 * What renew-ca needs of one CA, checked before anything is written (exit 2): its certificate and
 * the key of that certificate; under a root, the root's key and a root that outlives the renewed CA.
 * `rootRenewed`: the root is renewed in the same run (its new end: now + its days).
 */
export function assertRenewableCa(t: RenewCaTarget, snap: Snapshot, now: Date, rootRenewed: boolean, rootInToken = false): void {
  const { ca, root } = t;
  const refuse = (why: string) => {
    throw new UserError(`renew-ca ${ca.name}: ${why}; nothing was written`, EXIT.badInput);
  };
  const crt = cert(snap.get(ca.certPath));
  if (!crt) refuse(`${ca.certPath} is missing or not a readable certificate: renew-ca renews a CA that is there (kube-pki gen makes one)`);
  // A root in a token: its key is checked in the token against root-ca.crt (assertToken), not here.
  const keyInToken = rootInToken && !!t.isRoot;
  if (!keyInToken && !snap.get(ca.keyPath)) refuse(`${ca.keyPath} is not here: a CA is renewed with its own key, where that key is`);
  // An encrypted key (the root's) is checked against its certificate by openssl, with the passphrase.
  if (!keyInToken && !isEncryptedKey(snap.get(ca.keyPath)!) && !pairMatches(snap.get(ca.certPath), snap.get(ca.keyPath)))
    refuse(`${ca.keyPath} is not the key of ${ca.certPath}: a certificate for it would not verify what the CA signed`);
  if (!root) return;
  if (!rootInToken && !snap.get(root.keyPath)) refuse(`${ca.certPath} is signed by the root CA, but ${root.keyPath} is not in the output folder: put it back (it is needed only for this)`);
  const rootCrt = cert(snap.get(root.certPath));
  if (!rootCrt) refuse(`${root.certPath} is missing or not a readable certificate: the root CA signs ${ca.certPath}`);
  const end = rootRenewed ? new Date(now.getTime() + root.days * DAY_MS) : new Date(rootCrt!.validTo);
  if (now.getTime() + ca.days * DAY_MS > end.getTime())
    refuse(
      `the root CA ${root.certPath} ends on ${end.toISOString()}; ${ca.certPath} renewed now for ${ca.daysField} ${ca.days} days would outlive it: ` +
        `lower ${ca.daysField}, or renew the root first (kube-pki renew-ca --ca ${root.name})`,
    );
}

/**
 * The CA's own item: a request made from its certificate (subject kept) and key, signed again with
 * the subject key identifier it has, valid ca.days from now; a bundle kept under its name after a
 * rotation (holding this CA alone) is made from the new certificate in the same item, so that the
 * two are installed together and the folder never looks like a rotation half done.
 */
function caItem(t: RenewCaTarget, snap: Snapshot, needs: string[], token?: Arg): PlanItem {
  const { ca } = t;
  const crt = cert(snap.get(ca.certPath))!;
  const skid = certExtensions(crt).subjectKeyId;
  const b = base(ca.certPath);
  const cnf = { out: `${b}.cnf` };
  const csr = { out: `${b}.csr` };
  const out = { out: ca.certPath };
  const how = signer(t, snap, token);
  const bundle = t.isRoot ? undefined : caFiles(ca).bundle;
  const steps: Step[] = [
    // Without an identifier on the old certificate, none on the new one: leaves name none.
    { op: 'write', file: cnf.out, content: renderCnf(ca, { skid: skid ?? 'none' }) },
    { op: 'openssl', args: requestFromCertArgs({ crt: { in: ca.certPath }, key: token && t.isRoot ? token : { in: ca.keyPath }, csr, ...(how.ownPassin ? { passin: how.ownPassin } : {}) }) },
    { op: 'openssl', args: signArgs({ csr, crt: out, days: ca.days, cnf, section: extensionSection(ca), signer: how.signer, ...(how.passin ? { passin: how.passin } : {}) }) },
  ];
  if (bundle && snap.get(bundle))
    steps.push({ op: 'openssl', args: ['x509', '-in', out, '-out', { out: bundle }] }, ...backup(snap, bundle), { op: 'install', file: bundle, mode: MODE.public });
  steps.push(...backup(snap, ca.certPath), { op: 'install', file: ca.certPath, mode: MODE.public });
  const reason = `renewed with its key, subject and key identifier kept${t.root ? ', signed by the root CA' : ''}; the old certificate goes to the backup folder`;
  return item(ca.name, 'ca', 'reissue', [reason], needs, steps);
}

/** Every file that holds a renewed CA's certificate, made again from it once it is renewed. */
function followers(instances: Instances, ca: CertInstance, snap: Snapshot): PlanItem[] {
  const c = ca.name;
  const copies = instances.copies
    .filter((copy) => copy.source === c)
    .flatMap((copy) => {
      const files = copy.files.filter((f) => f.part === 'crt');
      const steps = files.flatMap((f): Step[] => [...backup(snap, f.to), { op: 'copy', from: f.from, to: f.to, mode: f.mode }]);
      return files.length ? [item(copy.name, 'ca', 'reissue', [`a copy of the renewed ${files[0]!.from}`], [c], steps)] : [];
    });
  // A tree's bundle left by a rotation (the CA alone): only one that is there.
  const bundles = bundleCopies(instances, c)
    .filter((b) => snap.get(b.to))
    .map((b) => item(`${b.node}/${c}-bundle`, 'ca', 'reissue', [`${b.to} holds the renewed CA`], [c], [...backup(snap, b.to), { op: 'concat', from: [ca.certPath], to: b.to, mode: MODE.public }]));
  // Kubeconfigs that are there, with their client certificate and key: what they embed is otherwise kept.
  const leafThere = (name: string) => {
    const leaf = instances.certs.find((l) => l.name === name);
    return !!leaf && !!snap.get(leaf.certPath) && !!snap.get(leaf.keyPath);
  };
  const kubeconfigs = kubeconfigsOf(instances, c)
    .filter((kc) => snap.get(kc.path) && leafThere(kc.certName))
    .map((kc) => kubeconfigItem(instances, kc, snap, ca.certPath, null, [c], true));
  return [...copies, ...bundles, ...kubeconfigs];
}

/** The plan of one renew-ca run: the root first when it is renewed, then each CA and what follows it. */
export function planRenewCa(instances: Instances, targets: RenewCaTarget[], snap: Snapshot, now: Date): PlanItem[] {
  const rootRenewed = targets.some((t) => t.isRoot);
  const token = instances.rootToken ? tokenArg(instances.rootToken) : undefined;
  for (const t of targets) assertRenewableCa(t, snap, now, rootRenewed, !!token);
  const ordered = [...targets].sort((a, b) => Number(!!b.isRoot) - Number(!!a.isRoot));
  return ordered.flatMap((t) => [caItem(t, snap, t.root && rootRenewed ? [t.root.name] : [], token), ...(t.isRoot ? [] : followers(instances, t.ca, snap))]);
}

/** Every file renew-ca reads for these CAs (the snapshot it plans from). */
export function renewCaPaths(instances: Instances, cas: readonly CertInstance[]): string[] {
  const paths = new Set<string>();
  if (instances.root) [instances.root.certPath, instances.root.keyPath].forEach((p) => paths.add(p));
  for (const ca of cas) {
    [ca.certPath, ca.keyPath, caFiles(ca).bundle].forEach((p) => paths.add(p));
    for (const b of bundleCopies(instances, ca.name)) paths.add(b.to);
    for (const copy of instances.copies.filter((c) => c.source === ca.name)) for (const f of copy.files) paths.add(f.to);
    for (const kc of kubeconfigsOf(instances, ca.name)) {
      paths.add(kc.path);
      const leaf = instances.certs.find((c) => c.name === kc.certName);
      if (leaf) [leaf.certPath, leaf.keyPath].forEach((p) => paths.add(p));
    }
  }
  return [...paths];
}
