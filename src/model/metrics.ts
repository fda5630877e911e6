// The metric names check --format prometheus writes and kube-pki alerts watches: one list, so that the
// rules cannot name a series the metrics never have. The x509_* names and labels are those of enix's
// x509-certificate-exporter, whose dashboards and alerts then work unchanged.

export const METRIC = {
  notAfter: 'x509_cert_not_after',
  notBefore: 'x509_cert_not_before',
  expired: 'x509_cert_expired',
  readErrors: 'x509_read_errors',
  checkProblems: 'kube_pki_check_problems',
  checkTime: 'kube_pki_check_timestamp_seconds',
  lastRenewal: 'kube_pki_last_renewal_success_timestamp_seconds',
  nodeReached: 'kube_pki_node_check_success',
  nodeDrift: 'kube_pki_node_files_drift',
} as const;

/** check --remote's verdict on one node, for the metrics: reached or not, and its files that differ from the folder's. */
export interface NodeDrift {
  node: string;
  reached: boolean;
  missing: number;
  different: number;
  extra: number;
}

/** What renew records on success (RENEWAL_RECORD in the output folder). */
export interface RenewalRecord {
  /** ISO time of the run that succeeded. */
  succeededAt: string;
  /** renew --expiring-within, when given. */
  expiringWithin: number | null;
  /** The certificates it re-issued (none: nothing was due). */
  renewed: string[];
}
