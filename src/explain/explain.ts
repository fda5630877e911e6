import { join, resolve } from 'node:path';
import type { CertKind } from '../model/catalog.js';
import type { Cluster } from '../model/cluster.js';
import { readIfExists } from '../inspect/disk.js';
import { certFacts } from '../inspect/x509.js';
import { instancesFor } from '../pki.js';
import type { CertInstance, Instances } from '../model/instances.js';
import { planPki } from '../plan/plan.js';
import { kubeconfigNodes, placementNodes } from '../catalog/placement.js';
import { MODE } from '../model/files.js';
import { opensslLine } from '../script/bash.js';
import { certUses, kubeconfigUses, type ComponentUse } from '../catalog/restart.js';
import { requireCerts } from '../catalog/select.js';
import { signsTokens } from '../catalog/tokens.js';
import { tokenKeyView, type TokenKeyView } from './token-key.js';
import { explainedFile, type ExplainedFile } from './explained-file.js';
import { sanReason, subjectMeaning, USAGE_MEANING } from './glossary.js';
import { INTERMEDIATE_PATHLEN, ROOT_CA_FILE, ROOT_CA_ID } from '../catalog/root.js';
import { EXIT, UserError } from '../errors.js';
import { plural } from '../util/words.js';

interface Meaning {
  value: string;
  meaning: string | null;
}

export interface ExplainReport {
  name: string;
  catalogId: string;
  profile: string;
  kind: CertKind;
  /** Other instances of the same catalog row (per-node certificates). */
  siblings: string[];
  /** CA instance name; null for a self-signed CA. */
  signedBy: string | null;
  validityDays: number;
  purpose: string;
  /** What to take care of with it (catalog `explain.caution`): who may hold it, what must exist first. */
  caution: string | null;
  /** Every component flag that reads one of its files, directly or through a kubeconfig. */
  usedBy: ComponentUse[];
  subject: { cn: string; o: string[]; why: string; values: ({ field: 'CN' | 'O' } & Meaning)[] };
  sans: { why: string | null; entries: { type: 'DNS' | 'IP'; value: string; reason: string }[] };
  usages: { basicConstraints: string; keyUsage: Meaning[]; extendedKeyUsage: Meaning[] };
  files: ExplainedFile[];
  commands: string[];
  cnf: { file: string; content: string };
  /** The certificate in the PKI folder, when there is one. */
  onDisk: { file: string; serial: string; notAfter: string } | null;
  /** The root CA (rootCA) and what hangs below it, as a picture; for the root and its intermediates. */
  topology?: string[];
  /** The service-account token key's certificate (hard way): what signs and verifies now, and its rotation. */
  tokenKey?: TokenKeyView;
}

export type { ExplainedFile } from './explained-file.js';

const meanings = (values: string[]): Meaning[] => values.map((value) => ({ value, meaning: USAGE_MEANING[value] ?? null }));
async function factsOnDisk(path: string) {
  const pem = await readIfExists(path);
  try {
    return pem ? certFacts(pem) : null;
  } catch {
    return null;
  }
}

/** Everything about one certificate of the catalog, from the catalog texts, the description and the planner. */
export async function explainCert(cluster: Cluster, name: string, out: string): Promise<ExplainReport> {
  const instances = instancesFor(cluster);
  const all = rootNamed(instances, name) ?? requireCerts(instances, name, 'explain', [...(instances.root ? [instances.root] : []), ...instances.certs]);
  const cert: CertInstance = all[0]!;
  const embedding = instances.kubeconfigs.filter((k) => k.certName === cert.name);
  const item = planPki(cluster.profile, instances, undefined, { certifyTokenRoot: true }).items.find((i) => i.name === cert.name && (i.group === 'ca' || i.group === 'cert'))!;
  const steps = [...item.keySteps, ...item.steps];
  const cnf = steps.find((s) => s.op === 'write');
  const facts = await factsOnDisk(join(resolve(out), cert.certPath));
  const { spec, usages } = cert;
  const tokenKey = signsTokens(cert) ? await tokenKeyView(instances, out) : null;
  return {
    name: cert.name,
    catalogId: spec.id,
    profile: cluster.profile,
    kind: spec.kind,
    siblings: instances.certs.filter((c) => c.spec.id === spec.id && c !== cert).map((c) => c.name),
    signedBy: cert.caName ?? cert.root?.name ?? null,
    validityDays: cert.days,
    purpose: spec.explain.purpose,
    caution: spec.explain.caution ?? null,
    usedBy: [...certUses(cluster, instances, cert), ...embedding.flatMap((k) => kubeconfigUses(cluster, k))],
    subject: {
      cn: cert.subject.cn,
      o: cert.subject.o,
      why: spec.explain.subject,
      values: [
        { field: 'CN' as const, value: cert.subject.cn, meaning: subjectMeaning('CN', cert.subject.cn) },
        ...cert.subject.o.map((o) => ({ field: 'O' as const, value: o, meaning: subjectMeaning('O', o) })),
      ],
    },
    sans: {
      why: spec.explain.sans ?? null,
      entries: [
        ...cert.sans.dns.map((value) => ({ type: 'DNS' as const, value, reason: sanReason(cluster, value) })),
        ...cert.sans.ip.map((value) => ({ type: 'IP' as const, value, reason: sanReason(cluster, value) })),
      ],
    },
    usages: {
      basicConstraints: !usages.ca
        ? 'critical, CA:FALSE: may not sign certificates'
        : cert.root
          ? `critical, CA:TRUE, pathlen:${INTERMEDIATE_PATHLEN}: may sign certificates, but no CA below it`
          : 'critical, CA:TRUE: may sign certificates',
      keyUsage: meanings(usages.keyUsage),
      extendedKeyUsage: meanings(usages.extendedKeyUsage),
    },
    files: [
      // A root in a token has no key file: the topology says where its key is.
      ...(cert === instances.root && instances.rootToken ? [] : [explainedFile(cluster, instances, cert.keyPath, MODE.secret, 'private key', placementNodes(cluster, spec.keyTo, cert.node))]),
      explainedFile(cluster, instances, cert.certPath, MODE.public, 'certificate', placementNodes(cluster, spec.crtTo, cert.node)),
      ...embedding.map((k) =>
        explainedFile(cluster, instances, k.path, MODE.secret, `kubeconfig (embeds the certificate, its key and the CA; server ${k.server})`, kubeconfigNodes(cluster, k)),
      ),
    ],
    commands: steps.flatMap((s) => (s.op === 'openssl' ? [opensslLine(s.args)] : [])),
    cnf: cnf?.op === 'write' ? { file: cnf.file, content: cnf.content } : { file: '', content: '' },
    onDisk: facts ? { file: cert.certPath, serial: facts.serial, notAfter: facts.notAfter.toISOString() } : null,
    ...(instances.root && (cert === instances.root || cert.root) ? { topology: rootTopology(instances) } : {}),
    ...(tokenKey ? { tokenKey } : {}),
  };
}

/** `explain root-ca` (or root-ca.crt, root-ca.key): the root of `rootCA`; bad input without it. */
function rootNamed(instances: Instances, name: string): CertInstance[] | undefined {
  const names = [ROOT_CA_ID, `${ROOT_CA_FILE}.crt`, `${ROOT_CA_FILE}.key`];
  if (!names.includes(name)) return undefined;
  if (!instances.root) throw new UserError(`explain: ${JSON.stringify(name)}: the description has no rootCA; add \`rootCA: {}\` to put a root CA over the cluster's CAs (README "A root CA")`, EXIT.badInput);
  return [instances.root];
}

/** The root, its intermediates and how many certificates each signs; where the trust anchors are. */
function rootTopology(instances: Instances): string[] {
  const root = instances.root!;
  const cas = instances.certs.filter((c) => c.root);
  const token = instances.rootToken;
  const keyText = token
    ? `key in the PKCS#11 token ${token.uri} (module ${token.module ?? 'SoftHSM2\'s'}): made there, never exported; no file holds it`
    : `key ${root.keyPath}: ${instances.rootEncrypt ? 'encrypted (AES-256, PKCS#8)' : 'NOT encrypted (rootCA.encrypt: false)'}, the admin's folder only`;
  const lines = [`${root.certPath}  CN=${root.subject.cn}, ${plural(root.days, 'day')}, self-signed; ${keyText}`];
  cas.forEach((ca, i) => {
    const last = i === cas.length - 1;
    const leaves = instances.certs.filter((c) => c.caName === ca.name).length;
    lines.push(`${last ? '└──' : '├──'} ${ca.certPath}  CN=${ca.subject.cn}, pathlen:${INTERMEDIATE_PATHLEN}, ${plural(ca.days, 'day')}`);
    lines.push(`${last ? '   ' : '│  '}   └── ${leaves} certificate${leaves === 1 ? '' : 's'} it signs`);
  });
  lines.push(
    'Trust: each component trusts its own intermediate (ca.crt, etcd/ca.crt, front-proxy-ca.crt hold the intermediate only), so a',
    'certificate of one CA never opens another\'s door. The root certificate is for tools that need a self-signed anchor:',
    `  openssl verify -CAfile ${root.certPath} -untrusted ${cas[0]?.certPath ?? 'ca.crt'} <leaf.crt>`,
    token
      ? 'The root signs only intermediates, through the token: gen needs it (attached, with --ca-pin-file) to make or replace one (gen --replace-ca --ca NAME, rotate-ca start); renew never does. kube-pki root init made it.'
      : 'The root signs only intermediates: gen needs it (with --ca-passphrase-file) to make or replace one (gen --replace-ca --ca NAME); renew never does.',
  );
  return lines;
}
