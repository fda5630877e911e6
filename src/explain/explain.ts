import { join, posix, resolve } from 'node:path';
import { nodeFolder } from '../catalog/flags.js';
import type { CertKind } from '../model/catalog.js';
import type { Cluster } from '../model/cluster.js';
import { readIfExists } from '../inspect/disk.js';
import { certFacts } from '../inspect/x509.js';
import { instancesFor } from '../pki.js';
import type { CertInstance, Instances } from '../model/instances.js';
import { planPki } from '../plan/plan.js';
import { kubeconfigNodes, landings, placementNodes } from '../catalog/placement.js';
import { MODE } from '../model/files.js';
import { opensslLine } from '../script/bash.js';
import { certUses, kubeconfigUses, type ComponentUse } from '../catalog/restart.js';
import { requireCerts } from '../catalog/select.js';
import { sanReason, subjectMeaning, USAGE_MEANING } from './glossary.js';

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
}

/** A file of the PKI folder and, on each node that receives it, where it lands (node trees: its copy there). */
export interface ExplainedFile {
  path: string;
  mode: string;
  what: string;
  nodes: string[];
  onNodes: { node: string; file: string; remotePath: string }[];
}

/** One file of the certificate with its placement on the nodes, in the folder the flags name (kube-pki flags). */
function explainedFile(cluster: Cluster, instances: Instances, path: string, mode: number, what: string, nodes: string[]): ExplainedFile {
  const dir = nodeFolder(cluster);
  const onNodes = landings(instances, path, nodes).map((l) => ({ node: l.node, file: l.file, remotePath: posix.join(dir, l.remote) }));
  return { path, mode: octal(mode), what, nodes: onNodes.map((l) => l.node), onNodes };
}

const meanings = (values: string[]): Meaning[] => values.map((value) => ({ value, meaning: USAGE_MEANING[value] ?? null }));
const octal = (mode: number) => `0${mode.toString(8)}`;

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
  const all = requireCerts(instances, name, 'explain');
  const cert: CertInstance = all[0]!;
  const embedding = instances.kubeconfigs.filter((k) => k.certName === cert.name);
  const item = planPki(cluster.profile, instances).items.find((i) => i.name === cert.name && (i.group === 'ca' || i.group === 'cert'))!;
  const steps = [...item.keySteps, ...item.steps];
  const cnf = steps.find((s) => s.op === 'write');
  const facts = await factsOnDisk(join(resolve(out), cert.certPath));
  const { spec, usages } = cert;
  return {
    name: cert.name,
    catalogId: spec.id,
    profile: cluster.profile,
    kind: spec.kind,
    siblings: instances.certs.filter((c) => c.spec.id === spec.id && c !== cert).map((c) => c.name),
    signedBy: cert.caName ?? null,
    validityDays: cert.days,
    purpose: spec.explain.purpose,
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
      basicConstraints: usages.ca ? 'critical, CA:TRUE: may sign certificates' : 'critical, CA:FALSE: may not sign certificates',
      keyUsage: meanings(usages.keyUsage),
      extendedKeyUsage: meanings(usages.extendedKeyUsage),
    },
    files: [
      explainedFile(cluster, instances, cert.keyPath, MODE.secret, 'private key', placementNodes(cluster, spec.keyTo, cert.node)),
      explainedFile(cluster, instances, cert.certPath, MODE.public, 'certificate', placementNodes(cluster, spec.crtTo, cert.node)),
      ...embedding.map((k) =>
        explainedFile(cluster, instances, k.path, MODE.secret, `kubeconfig (embeds the certificate, its key and the CA; server ${k.server})`, kubeconfigNodes(cluster, k)),
      ),
    ],
    commands: steps.flatMap((s) => (s.op === 'openssl' ? [opensslLine(s.args)] : [])),
    cnf: cnf?.op === 'write' ? { file: cnf.file, content: cnf.content } : { file: '', content: '' },
    onDisk: facts ? { file: cert.certPath, serial: facts.serial, notAfter: facts.notAfter.toISOString() } : null,
  };
}
