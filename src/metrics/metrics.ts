import { join } from 'node:path';
import { METRIC, type NodeDrift } from '../model/metrics.js';
import type { Severity } from '../model/problem.js';
import { readRenewalRecord } from '../files/renewal-record.js';
import { certsOfFile, certsOfKubeconfig, type FoundCert } from './certificates.js';
import { exposition, type Family } from './exposition.js';

/**
 * What the metrics need of check's report (src/check/report.ts): the files it judged and its counts.
 * Declared here, not imported: check is a verb of the same row (docs/architecture.md).
 */
export interface CheckedFolder {
  outDir: string;
  checkedAt: string;
  summary: { errors: number; warnings: number; notes: number };
  cas: { file: string; present: boolean }[];
  certificates: { file: string; present: boolean }[];
  kubeconfigs: { file: string; present: boolean }[];
}

const SEVERITIES: Severity[] = ['error', 'warning', 'note'];
const seconds = (d: Date) => Math.floor(d.getTime() / 1000);

/** Each present file's certificates; a file that cannot be read counts as a read error, as in the exporter. */
async function foundCerts(report: CheckedFolder): Promise<{ certs: FoundCert[]; readErrors: number }> {
  const certs: FoundCert[] = [];
  let readErrors = 0;
  const files = [
    ...[...report.cas, ...report.certificates].filter((r) => r.present).map((r) => ({ path: join(report.outDir, r.file), read: certsOfFile })),
    ...report.kubeconfigs.filter((r) => r.present).map((r) => ({ path: join(report.outDir, r.file), read: certsOfKubeconfig })),
  ];
  for (const f of files) {
    try {
      certs.push(...(await f.read(f.path)));
    } catch {
      readErrors++;
    }
  }
  return { certs, readErrors };
}

/**
 * The PKI folder as Prometheus metrics: x509-certificate-exporter's series for every certificate
 * (files and kubeconfigs), check's findings by severity, and renew's last success when recorded.
 * `x509_cert_expired` is judged at `now` (the textfile collector serves it until the next run: alert
 * on x509_cert_not_after - time(), as kube-pki alerts does).
 */
export async function metricsText(report: CheckedFolder, now: Date, remote?: NodeDrift[]): Promise<string> {
  const { certs, readErrors } = await foundCerts(report);
  const folder = { out_dir: report.outDir };
  const renewal = await readRenewalRecord(report.outDir);
  const families: Family[] = [
    { name: METRIC.expired, type: 'gauge', help: 'Indicates if the certificate is expired', samples: certs.map((c) => ({ labels: c.labels, value: c.notAfter <= now ? 1 : 0 })) },
    { name: METRIC.notBefore, type: 'gauge', help: "Indicates the certificate's not before timestamp", samples: certs.map((c) => ({ labels: c.labels, value: seconds(c.notBefore) })) },
    { name: METRIC.notAfter, type: 'gauge', help: "Indicates the certificate's not after timestamp", samples: certs.map((c) => ({ labels: c.labels, value: seconds(c.notAfter) })) },
    { name: METRIC.readErrors, type: 'gauge', help: 'Indicates the number of read failure(s)', samples: [{ labels: folder, value: readErrors }] },
    {
      name: METRIC.checkProblems,
      type: 'gauge',
      help: 'Findings of kube-pki check in the PKI folder, by severity (error and warning make check exit 1)',
      samples: SEVERITIES.map((severity) => ({ labels: { ...folder, severity }, value: report.summary[`${severity}s`] })),
    },
    { name: METRIC.checkTime, type: 'gauge', help: 'When kube-pki check wrote these metrics (Unix time)', samples: [{ labels: folder, value: seconds(new Date(report.checkedAt)) }] },
    {
      name: METRIC.lastRenewal,
      type: 'gauge',
      help: 'When kube-pki renew last succeeded on the PKI folder (Unix time); absent until it has once',
      samples: renewal ? [{ labels: folder, value: seconds(new Date(renewal.succeededAt)) }] : [],
    },
    ...(remote ? nodeFamilies(folder, remote) : []),
  ];
  return exposition(families);
}

const DRIFT_KINDS = ['missing', 'different', 'extra'] as const;

/** check --remote: whether each node answered, and how many of its files drifted from the folder's, by kind. */
function nodeFamilies(folder: { out_dir: string }, remote: NodeDrift[]): Family[] {
  return [
    {
      name: METRIC.nodeReached,
      type: 'gauge',
      help: 'Whether kube-pki check --remote reached the node and compared its files (1) or not (0)',
      samples: remote.map((n) => ({ labels: { ...folder, node: n.node }, value: n.reached ? 1 : 0 })),
    },
    {
      name: METRIC.nodeDrift,
      type: 'gauge',
      help: "Files on the node that differ from the PKI folder's (kube-pki check --remote), by kind: missing, different (content or mode), extra",
      samples: remote.filter((n) => n.reached).flatMap((n) => DRIFT_KINDS.map((kind) => ({ labels: { ...folder, node: n.node, kind }, value: n[kind] }))),
    },
  ];
}
