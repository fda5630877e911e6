import { stringify } from 'yaml';
import { METRIC } from '../model/metrics.js';

export interface AlertOptions {
  /** How often unattended renewal runs (kube-pki systemd's timer), in seconds: two missed periods alert. */
  renewPeriodSeconds: number;
  /** As the operator wrote it ("7d"), for the texts. */
  renewPeriodText: string;
}

/** Days before expiry at which the warning and the critical alert fire. */
export const WARNING_DAYS = 30;
export const CRITICAL_DAYS = 7;
const DAY_S = 86400;
/** Long enough to ride out a scrape of a half-renewed run, short against days of notice. */
const FOR = '15m';

const left = `${METRIC.notAfter} - time()`;

interface Rule {
  alert: string;
  expr: string;
  for: string;
  labels: { severity: 'warning' | 'critical' };
  annotations: { summary: string; description: string };
}

/** The rules: expiry in two steps (x509-certificate-exporter's series), check's findings, a stalled renewal, drift on the nodes. */
export function alertRules(options: AlertOptions): Rule[] {
  const where = '{{ $labels.filepath }}{{ with $labels.embedded_kind }} ({{ . }} {{ $labels.embedded_key }}){{ end }}';
  return [
    {
      alert: 'KubePkiCertificateExpiringSoon',
      expr: `${left} < ${WARNING_DAYS * DAY_S} and ${left} >= ${CRITICAL_DAYS * DAY_S}`,
      for: FOR,
      labels: { severity: 'warning' },
      annotations: {
        summary: `A certificate expires within ${WARNING_DAYS} days`,
        description: `${where}, CN {{ $labels.subject_CN }}, expires in {{ $value | humanizeDuration }}: kube-pki renew --expiring-within ${WARNING_DAYS} (or check why the timer did not).`,
      },
    },
    {
      alert: 'KubePkiCertificateExpiryCritical',
      expr: `${left} < ${CRITICAL_DAYS * DAY_S}`,
      for: FOR,
      labels: { severity: 'critical' },
      annotations: {
        summary: `A certificate expires within ${CRITICAL_DAYS} days, or has expired`,
        description: `${where}, CN {{ $labels.subject_CN }}: {{ $value | humanizeDuration }} left (negative: expired). Renew and distribute it now.`,
      },
    },
    {
      alert: 'KubePkiCheckProblems',
      // The series' own severity label would clash with the alert's: it travels as finding_severity.
      expr: `label_replace(${METRIC.checkProblems}{severity=~"error|warning"} > 0, "finding_severity", "$1", "severity", "(.*)")`,
      for: FOR,
      labels: { severity: 'warning' },
      annotations: {
        summary: 'kube-pki check finds problems in the PKI folder',
        description: '{{ $value }} finding(s) of severity {{ $labels.finding_severity }} in {{ $labels.out_dir }}: run kube-pki check --out {{ $labels.out_dir }} to read them.',
      },
    },
    {
      alert: 'KubePkiRenewalStalled',
      expr: `time() - ${METRIC.lastRenewal} > ${2 * options.renewPeriodSeconds}`,
      for: FOR,
      labels: { severity: 'warning' },
      annotations: {
        summary: `Unattended renewal has not succeeded for two periods (2 × ${options.renewPeriodText})`,
        description: `The last successful kube-pki renew on {{ $labels.out_dir }} was {{ $value | humanizeDuration }} ago: see journalctl -u kube-pki-renew.service.`,
      },
    },
    {
      alert: 'KubePkiNodeDrift',
      // check --remote (the service's check): a node not reached, or holding files that differ from the folder's.
      expr: `(sum by (out_dir, node) (${METRIC.nodeDrift}) > 0) or (${METRIC.nodeReached} == 0)`,
      for: FOR,
      labels: { severity: 'warning' },
      annotations: {
        summary: "A node's certificate files differ from the PKI folder's, or the node was not reached",
        description:
          '{{ $labels.node }} ({{ $labels.out_dir }}): {{ $value }} file(s) missing, different or extra, or 0: not reached. ' +
          'kube-pki check --remote --out {{ $labels.out_dir }} lists them; kube-pki distribute --restart sends them and restarts what reads them.',
      },
    },
  ];
}

/** A Prometheus rules file (rule_files:) with one group. */
export const rulesFile = (options: AlertOptions): string => stringify({ groups: [{ name: 'kube-pki', rules: alertRules(options) }] }, { lineWidth: 0 });
