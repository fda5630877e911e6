import type { ClusterNode } from '../model/cluster.js';
import type { LocalFile } from './compare.js';
import type { ManifestFile, NodeManifest } from './manifest.js';
import type { FileAction, FileOutcome } from './node.js';
import { showRemoteDir, type NodeTarget } from './targets.js';

export const octal = (mode: number) => mode.toString(8).padStart(4, '0');
export const address = (t: NodeTarget) => `${t.user}@${t.host}:${t.port}`;

export interface FileReport {
  /** Path under the node's remoteDir. */
  path: string;
  /** Path in the local PKI folder. */
  local: string;
  mode: string;
  sha256?: string;
  action: FileAction | 'planned';
  reason?: string;
}

export interface NodeBase {
  node: string;
  role: ClusterNode['role'];
  host?: string;
  port?: number;
  user?: string;
  remoteDir?: string;
  sudo?: boolean;
  attempts: number;
  error?: string;
  notes: string[];
}

export interface NodeReport extends NodeBase {
  result: 'ok' | 'failed' | 'nothing-to-send' | 'planned';
  sent: number;
  skipped: number;
  failed: number;
  files: FileReport[];
}

export interface DistributeReport {
  command: 'distribute';
  profile: string;
  source: string;
  outDir: string;
  dryRun: boolean;
  result: 'ok' | 'failed';
  nodes: NodeReport[];
}

export function nodeBase(m: NodeManifest, target: NodeTarget | undefined, remoteDir?: string): NodeBase {
  return {
    node: m.node.name,
    role: m.node.role,
    ...(target ? { host: target.host, port: target.port, user: target.user, remoteDir: remoteDir ?? showRemoteDir(target.remoteDir), sudo: target.sudo } : {}),
    attempts: 0,
    notes: m.notSent.map((n) => `${n.local}: ${n.reason}`),
  };
}

export function fileReport(f: ManifestFile, local: Map<string, LocalFile> | undefined, outcome: FileOutcome | undefined): FileReport {
  const sum = local?.get(f.local)?.sha256;
  return {
    path: f.remote,
    local: f.local,
    mode: octal(f.mode),
    ...(sum ? { sha256: sum } : {}),
    action: outcome?.action ?? 'planned',
    ...(outcome?.reason ? { reason: outcome.reason } : {}),
  };
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** The end-of-run table: node, SSH address, `cells`, error (shortened; in full on stderr after it). */
export function printTable(head: string[], rows: { node: NodeBase; cells: string[] }[]): void {
  const cells = [head, ...rows.map(({ node: n, cells: c }) => [n.node, n.host ? `${n.user}@${n.host}:${n.port}` : '-', ...c, shortError(n.error)])];
  const widths = head.map((_, i) => Math.max(...cells.map((c) => (c[i] ?? '').length)));
  const lines = cells.map((c) => c.map((v, i) => (i === c.length - 1 ? v : v.padEnd(widths[i]!))).join('  ').trimEnd());
  process.stdout.write(`${lines.join('\n')}\n`);
  for (const { node: n } of rows) {
    for (const note of n.notes) process.stdout.write(`note: ${n.node}: ${note}\n`);
    if (n.error) process.stderr.write(`error: ${n.node}: ${n.error}\n`);
  }
}

function shortError(error: string | undefined): string {
  if (!error) return '';
  return error.length > 72 ? `${error.slice(0, 69)}...` : error;
}

export interface NodeCheck extends NodeBase {
  result: 'ok' | 'problems' | 'failed' | 'nothing-to-check';
  /** Files identical on the node. */
  matching: number;
  /** Paths under remoteDir. */
  missing: string[];
  different: { path: string; reasons: string[] }[];
  /** Files in the node's folders that are not in its manifest (e.g. a CA key on a worker). */
  extra: string[];
  /** Files that hold the root CA's key (rootCA): never on a node. */
  rootKey?: string[];
}

export interface VerifyReport {
  command: 'verify';
  profile: string;
  source: string;
  outDir: string;
  result: 'ok' | 'problems' | 'failed';
  nodes: NodeCheck[];
}

/** Text lines for one node's check: what is missing, different or extra. */
export function checkLines(c: NodeCheck): string[] {
  if (c.result === 'nothing-to-check') return [`${c.node}: nothing to check (it receives no files)`];
  if (c.result === 'failed') return [`${c.node}: FAILED: ${c.error}`];
  return [
    `${c.node}: ${c.result === 'ok' ? 'ok' : 'PROBLEMS'}: ${c.matching} identical, ${c.missing.length} missing, ${c.different.length} different, ${c.extra.length} extra`,
    ...c.missing.map((p) => `${c.node}:   missing   ${p}`),
    ...c.different.map((d) => `${c.node}:   different ${d.path} (${d.reasons.join('; ')})`),
    ...c.extra.map((p) => `${c.node}:   extra     ${p}`),
    ...(c.rootKey ?? []).map((p) => `${c.node}:   ROOT KEY  ${p} holds the root CA's private key: it never belongs on a node, remove it`),
  ];
}

