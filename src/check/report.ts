import type { SanSet } from '../model/instances.js';
import type { Problem, Severity } from '../model/problem.js';

export type Status = 'ok' | Severity;

/** How a file was tied to a catalog entry. */
export type MatchedBy = 'file' | 'cn' | null;

interface RowBase {
  /** Path relative to the checked folder. */
  file: string;
  /** Catalog instance name (e.g. "kube-apiserver", "worker-1"); null when not in the catalog. */
  catalog: string | null;
  matchedBy: MatchedBy;
  /** false: a catalog entry whose file is missing. */
  present: boolean;
  /** The CA it chains to (file name), when found. */
  ca: string | null;
  notAfter: string | null;
  /** Whole days left (negative once expired). */
  residualDays: number | null;
  status: Status;
  problems: Problem[];
}

export interface CertRow extends RowBase {
  isCa: boolean;
  keyFile: string | null;
  subject: { cn: string; o: string[] } | null;
  issuer: string | null;
  serial: string | null;
  notBefore: string | null;
  sans: SanSet | null;
  /** Against the description; null when the certificate is not in the catalog. */
  sanCheck: { missing: string[]; unexpected: string[] } | null;
  keyUsage: string[] | null;
  extendedKeyUsage: string[] | null;
}

export interface KubeconfigRow extends RowBase {
  server: string | null;
  expectedServer: string | null;
  /** CN of the embedded client certificate. */
  user: string | null;
}

export interface KeyPairRow {
  keyFile: string;
  pubFile: string;
  catalog: string;
  status: Status;
  problems: Problem[];
}

/** A shared file's copy in a node's tree (layout node-trees): must equal its source. */
export interface CopyRow {
  file: string;
  from: string;
  catalog: string;
  status: Status;
  problems: Problem[];
}

/**
 * Any other file with a problem: a private key that is not in the catalog (warning), a CA's key in
 * a worker's or load balancer's tree (error), a kubeconfig that cannot be read (error).
 */
/** The EncryptionConfiguration of Secrets at rest: key names only, never a key. */
export interface EncryptionRow {
  file: string;
  provider: string;
  /** In the file's order: the first encrypts. */
  keys: string[];
  /** rotate-encryption-key's phase, read from the file. */
  rotation: 'none' | 'start' | 'promote';
  status: Status;
  problems: Problem[];
}

export interface FileRow {
  file: string;
  /** Catalog instance name when the file is one of the catalog's, else null. */
  catalog: string | null;
  status: Status;
  problems: Problem[];
}

/** A backup folder (OUT/backup-<time>/) that gen or renew left: old files, keys among them. */
export interface BackupRow {
  /** Folder name, relative to the checked folder. */
  dir: string;
  createdAt: string;
  ageDays: number;
  /** Octal, e.g. "700". */
  mode: string;
  files: number;
  /** Files (relative to the backup folder) that hold a private key, kubeconfigs that embed one included. */
  privateKeys: string[];
  status: Status;
  problems: Problem[];
}

/** A user certificate from the ledger (users.json) that `kube-pki kubeconfig user` keeps: it cannot be revoked. */
export interface UserCertRow {
  name: string;
  groups: string[];
  serial: string;
  notBefore: string;
  notAfter: string;
  /** Whole days left (negative once expired). */
  residualDays: number;
  issuerFingerprint256: string;
  status: Status;
  problems: Problem[];
}

export interface CheckReport {
  outDir: string;
  profile: string;
  source: string;
  checkedAt: string;
  warnDays: number;
  /** ok: nothing to fix (notes aside); problems: at least one error or warning. */
  result: 'ok' | 'problems';
  summary: { certificates: number; cas: number; kubeconfigs: number; errors: number; warnings: number; notes: number };
  cas: CertRow[];
  certificates: CertRow[];
  kubeconfigs: KubeconfigRow[];
  keyPairs: KeyPairRow[];
  copies: CopyRow[];
  /** Other files with problems (stray private keys, CA keys on workers, unreadable files). */
  files: FileRow[];
  /** Backup folders, oldest first: they hold replaced keys until someone removes them. */
  backups: BackupRow[];
  /** User certificates from users.json, soonest to expire first: they live until they expire. */
  users: UserCertRow[];
  /** The EncryptionConfiguration (description `encryption`); null when encryption is off. */
  encryption: EncryptionRow | null;
  catalog: {
    recognised: { name: string; file: string; by: 'file' | 'cn' }[];
    missing: { name: string; file: string }[];
    /** Certificates and kubeconfigs found in the folder that no catalog entry describes. */
    unknown: string[];
  };
}

export function statusOf(problems: readonly Problem[]): Status {
  for (const severity of ['error', 'warning', 'note'] as const) if (problems.some((p) => p.severity === severity)) return severity;
  return 'ok';
}

