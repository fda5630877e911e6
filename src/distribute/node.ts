import { posix } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect, SshError, type Endpoint } from '../ssh/connect.js';
import type { KnownHosts } from '../ssh/known-hosts.js';
import { limiter } from '../util/limit.js';
import { inspectNode, type FileState, type ForbiddenFile, type LocalFile, type NodeInspection } from './compare.js';
import type { ManifestFile } from './manifest.js';
import { installStaged, rollForward } from './install.js';
import { SftpStore, SudoStore, type RemoteStore } from './store.js';
import type { NodeTarget } from './targets.js';

export interface SessionOptions {
  knownHosts: KnownHosts;
  acceptNew: boolean;
  timeoutMs: number;
  /** Further attempts after a connection error (not after a refused host key or login). */
  retries: number;
  backoffMs: number;
  onRetry?: (attempt: number, error: string) => void;
}

export interface Session {
  store: RemoteStore;
  /** The connection went away under us (a reason to try again). */
  lost(): boolean;
}

export class NodeError extends Error {
  constructor(
    message: string,
    readonly attempts: number,
  ) {
    super(message);
  }
}

export function endpointOf({ node, remoteDir: _dir, sudo: _sudo, ...login }: NodeTarget, options: SessionOptions): Endpoint {
  return { ...login, label: node.name, knownHosts: options.knownHosts, acceptNew: options.acceptNew, timeoutMs: options.timeoutMs };
}

/**
 * One connection to a node (one SFTP session, plus exec channels with sudo), work, close. A
 * connection error, or a connection lost during the work, is tried again after a backoff (0.5 s,
 * 1 s, 2 s, ...); anything else fails at once. Resolves with the work's value and the attempts made.
 */
export async function withSession<T>(target: NodeTarget, options: SessionOptions, work: (session: Session) => Promise<T>): Promise<{ value: T; attempts: number }> {
  for (let attempt = 1; ; attempt++) {
    let closing = false;
    let lost = false;
    try {
      const client = await connect(endpointOf(target, options));
      client.on('close', () => (lost = !closing));
      try {
        const store = target.sudo ? await SudoStore.open(client, target.remoteDir) : await SftpStore.open(client, target.remoteDir);
        try {
          return { value: await work({ store, lost: () => lost }), attempts: attempt };
        } finally {
          await store.close().catch(() => undefined);
        }
      } finally {
        closing = true;
        client.end();
      }
    } catch (err) {
      // A request failed by a dying connection can settle just before the client reports the close.
      if (!(err instanceof SshError) && !lost) await new Promise((resolve) => setImmediate(resolve));
      const retryable = err instanceof SshError ? err.retryable : lost;
      const message = lost && !(err instanceof SshError) ? `connection to ${target.host}:${target.port} lost: ${(err as Error).message}` : (err as Error).message;
      if (!retryable || attempt > options.retries) throw new NodeError(message, attempt);
      options.onRetry?.(attempt, message);
      await sleep(options.backoffMs * 2 ** (attempt - 1));
    }
  }
}

export type FileAction = 'sent' | 'skipped' | 'failed' | 'not-sent';

export interface FileOutcome {
  action: FileAction;
  reason?: string;
}

export interface DistributeEvents {
  /** A file's final outcome; called once per file. */
  onFile?: (file: ManifestFile, outcome: FileOutcome) => void;
  onRetry?: (attempt: number, error: string) => void;
}

export interface NodeDistribution {
  outcomes: Map<ManifestFile, FileOutcome>;
  remoteDir?: string;
  attempts: number;
  notes: string[];
  error?: string;
}

/** Files sent at once on one connection (SFTP requests pipeline; sshd allows 10 sessions). */
const PER_NODE = 8;

/** A file not sent because its node failed: the node's error is told once, not once per file. */
export const NODE_FAILED = 'the node failed';

const whyResend = (s: FileState) => (s.status === 'missing' ? 'not on the node' : s.reasons.join('; '));

/**
 * Puts a node's manifest on it: identical files (bytes, mode, owner) are skipped, the rest sent
 * atomically and checked. A retry after a lost connection skips what the cut attempt finished.
 */
export async function distributeNode(
  target: NodeTarget,
  files: ManifestFile[],
  local: Map<string, LocalFile>,
  options: SessionOptions,
  events: DistributeEvents = {},
  /**
   * Paths under remoteDir to remove when found (NodeManifest.retired), and the SHA-256 of the
   * bundles kube-pki sent: a retired path is removed only when it holds one of them.
   */
  retiring: { paths: readonly string[]; sent: ReadonlySet<string> } = { paths: [], sent: new Set() },
): Promise<NodeDistribution> {
  const outcomes = new Map<ManifestFile, FileOutcome>();
  const settle = (file: ManifestFile, outcome: FileOutcome) => {
    outcomes.set(file, outcome);
    if (outcome.action === 'sent' || outcome.action === 'skipped') events.onFile?.(file, outcome);
  };
  const failures = new Map<ManifestFile, string>();
  /** Staged, but not installed because another file of the node failed. */
  const withheld = new Map<ManifestFile, string>();
  let remoteDir: string | undefined;
  let notes: string[] = [];
  let attempts = 0;
  let error: string | undefined;
  try {
    ({ attempts } = await withSession(target, { ...options, onRetry: events.onRetry ?? options.onRetry }, async ({ store, lost }) => {
      remoteDir = store.dir;
      failures.clear();
      // Before anything else: what an interrupted distribute promised on this node is completed.
      const completed = await rollForward(store);
      const found: NodeInspection = await inspectNode(store, files, local);
      // Leftovers of a cut run, and a finished CA rotation's trust bundle (rotate-ca finish) if kube-pki put it there.
      const candidates = found.extra.filter((p) => retiring.paths.includes(p));
      const sums = await store.hash(candidates.map((p) => posix.join(store.dir, p)));
      const retired = candidates.filter((p) => retiring.sent.has(sums.get(posix.join(store.dir, p)) ?? ''));
      const foreign = candidates.filter((p) => !retired.includes(p));
      await store.remove([...found.leftovers, ...retired.map((p) => posix.join(store.dir, p))]);
      const others = found.extra.filter((p) => !found.leftovers.includes(posix.join(store.dir, p)) && !candidates.includes(p));
      const said = (list: string[], text: string) => (list.length ? [`${text}: ${list.join(', ')}`] : []);
      notes = [
        ...said(completed, 'completed what an interrupted distribute had promised'),
        ...said(retired, "removed (a finished rotation's file: a CA's trust bundle, a service-account key's new pair)"),
        ...store.notes,
        ...found.notes,
        ...said(others, 'not in its manifest, left as they are'),
        ...said(foreign, 'left as they are, not a trust bundle kube-pki sent (their content is none it sent from this folder)'),
      ];
      // On a retry, what an earlier attempt finished is already settled.
      const open = found.files.filter((s) => !outcomes.has(s.file));
      const toSend = open.filter((s) => s.status !== 'same');
      for (const s of open) if (s.status === 'same') settle(s.file, { action: 'skipped', reason: 'identical on the node' });
      await store.mkdirs(found.missingFolders.filter((f) => toSend.some((s) => posix.dirname(s.remotePath) === f)));
      // Every file staged first (up to PER_NODE at once), then all installed together: never a new
      // certificate beside an old key, whatever stops the run.
      const staged = new Map<FileState, string>();
      const limit = limiter(PER_NODE);
      await Promise.all(
        toSend.map((s) =>
          limit(async () => {
            const l = local.get(s.file.local)!;
            try {
              staged.set(s, await store.stage(s.remotePath, l.data, s.file.mode, l.sha256));
            } catch (err) {
              failures.set(s.file, (err as Error).message);
            }
          }),
        ),
      );
      if (failures.size) {
        await new Promise((resolve) => setImmediate(resolve));
        if (lost()) throw new Error([...failures.values()][0]);
        await store.remove([...staged.values()]).catch(() => undefined);
        for (const s of staged.keys()) withheld.set(s.file, "not installed: another file of this node failed, and a node's files are installed together");
        return;
      }
      await installStaged(store, [...staged].map(([s, tmp]) => ({ tmp, final: s.remotePath })));
      for (const s of staged.keys()) settle(s.file, { action: 'sent', reason: whyResend(s) });
    }));
  } catch (err) {
    error = err instanceof Error ? err.message : String(err);
    attempts = err instanceof NodeError ? err.attempts : attempts;
  }
  for (const file of files) {
    if (outcomes.has(file)) continue;
    const failed = failures.get(file);
    const outcome: FileOutcome = failed ? { action: 'failed', reason: failed } : { action: 'not-sent', reason: withheld.get(file) ?? (error ? NODE_FAILED : 'not sent') };
    outcomes.set(file, outcome);
    events.onFile?.(file, outcome);
  }
  if (!error && failures.size) error = `${failures.size} file(s) failed: ${[...failures.values()][0]}`;
  return { outcomes, ...(remoteDir ? { remoteDir } : {}), attempts, notes, ...(error ? { error } : {}) };
}

export interface NodeVerification {
  inspection?: NodeInspection;
  remoteDir?: string;
  attempts: number;
  error?: string;
}

/** Compares a node's files with the local ones; changes nothing on the node. */
export async function verifyNode(target: NodeTarget, files: ManifestFile[], local: Map<string, LocalFile>, options: SessionOptions, forbidden?: ForbiddenFile): Promise<NodeVerification> {
  try {
    const { value, attempts } = await withSession(target, options, async ({ store }) => ({ inspection: await inspectNode(store, files, local, forbidden), remoteDir: store.dir }));
    return { ...value, attempts };
  } catch (err) {
    return { attempts: err instanceof NodeError ? err.attempts : 1, error: (err as Error).message };
  }
}
