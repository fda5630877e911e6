import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from 'ssh2';
import { restartForSent, type NodeRestart } from '../catalog/restart.js';
import { EXIT } from '../errors.js';
import type { Cluster, ClusterNode } from '../model/cluster.js';
import { distribute, type DistributeOptions, type DistributeReport } from '../distribute/run.js';
import { manifestFor } from '../distribute/manifest.js';
import { endpointOf, type SessionOptions } from '../distribute/node.js';
import { sessionOptions } from '../distribute/prepare.js';
import { resolveTargets, type NodeTarget } from '../distribute/targets.js';
import { instancesFor } from '../pki.js';
import { connect, execCommand, SshError } from '../ssh/connect.js';
import { commandLine } from '../ssh/quote.js';
import { restartCommand, skipped } from './commands.js';
import { healthCheck, probe, type HealthCheck } from './health.js';
import { clearPending, PENDING_RESTARTS, readPending, writePending } from './pending.js';

export interface RestartOptions extends DistributeOptions {
  /** Seconds a node's components have to answer healthy after their restart (default 300). */
  restartTimeout?: number;
  /** Send each node its files right before its restart (renew, rotate-ca and gen's --distribute). */
  distribute?: boolean;
}

export const DEFAULT_RESTART_TIMEOUT = 300;
const PROBE_TIMEOUT_MS = 5000;
const PROBE_INTERVAL_MS = 1000;

const say = (line: string) => process.stdout.write(`${line}\n`);

/** Nodes in rolling order: control planes, then workers, then the rest; each in the description's order. */
function rollingNodes(cluster: Cluster, only: readonly string[] | undefined): ClusterNode[] {
  const rank = (n: ClusterNode) => ['controlplane', 'worker', 'loadbalancer'].indexOf(n.role);
  return cluster.nodes.filter((n) => !only?.length || only.includes(n.name)).sort((a, b) => rank(a) - rank(b));
}

/** The components of a node from several lists, each once, in the first list's order, then the others'. */
function merged(node: string, ...lists: NodeRestart[][]): string[] {
  const out: string[] = [];
  for (const list of lists) for (const c of list.find((s) => s.node === node)?.components ?? []) if (!out.includes(c)) out.push(c);
  return out;
}

/**
 * After a verb changed files: each node in turn (control planes first, one at a time) gets its files
 * (with `distribute`), then the components that read what changed are restarted over SSH by the
 * description's commands, then kube-pki waits until each answers healthy before it goes on. `known`:
 * the verb's restart list (renew, rotate-ca); to it come the components that read a file distribution
 * just sent to the node, and what an earlier run left pending. The first node that fails stops it all:
 * it and the nodes after it are recorded as pending, the later ones untouched. Returns the exit code.
 */
export async function rollOut(cluster: Cluster, options: RestartOptions, known: NodeRestart[]): Promise<number> {
  const outDir = resolve(options.out);
  const instances = instancesFor(cluster);
  const pending = await readPending(outDir);
  const nodes = rollingNodes(cluster, options.only);
  const withFiles = new Set((await manifestFor(cluster, outDir)).filter((m) => m.files.length).map((m) => m.node.name));
  const targets = new Map((await resolveTargets(cluster, nodes.filter((n) => withFiles.has(n.name) || merged(n.name, known, pending).length), options.sshConfig ? { sshConfig: options.sshConfig } : {})).map((t) => [t.node.name, t]));
  const session = await sessionOptions(options);
  const timeoutMs = (options.restartTimeout ?? DEFAULT_RESTART_TIMEOUT) * 1000;
  const done: string[] = [];
  // Pending restarts of nodes --only leaves out stay recorded.
  const outside = pending.filter((s) => !nodes.some((n) => n.name === s.node));
  for (const [i, node] of nodes.entries()) {
    let sent: string[] = [];
    if (options.distribute && withFiles.has(node.name)) {
      let report: DistributeReport | undefined;
      const code = await distribute(cluster, { ...options, only: [node.name] }, (r) => (report = r));
      sent = report?.nodes.flatMap((n) => n.files.filter((f) => f.action === 'sent').map((f) => f.local)) ?? [];
      if (code !== 0) return stop(outDir, nodes.slice(i), known, pending, node.name, 'its files could not be sent (see the table above)', done, [], outside);
    }
    const all = merged(node.name, known, pending, restartForSent(cluster, instances, node.name, sent));
    const components = all.filter((c) => !skipped(cluster, node, c));
    if (all.length > components.length) say(`${node.name}: not restarted (restart.skip): ${all.filter((c) => !components.includes(c)).join(', ')}`);
    if (!components.length) continue;
    // Recorded before the restart: a run killed now leaves this node and the later ones for the next run.
    await writePending(outDir, [...leftSteps(nodes.slice(i), known, pending, node.name, components), ...outside], `${node.name}: restart under way`);
    const problem = await restartNode(cluster, outDir, targets.get(node.name)!, components, session, timeoutMs);
    if (problem) return stop(outDir, nodes.slice(i), known, pending, node.name, problem, done, components, outside);
    done.push(node.name);
  }
  if (outside.length) await writePending(outDir, outside, 'nodes left out by --only');
  else await clearPending(outDir);
  say(done.length ? `Restarted, one node at a time: ${done.join(', ')}; every component answered healthy.` : 'Nothing to restart.');
  return EXIT.ok;
}

/** What is left from `left[0]` on: its components (`here` too), then the later nodes' known and pending ones. */
function leftSteps(left: ClusterNode[], known: NodeRestart[], pending: NodeRestart[], node: string, here: string[]): NodeRestart[] {
  return left
    .map((n) => ({ node: n.name, components: n.name === node ? [...new Set([...here, ...merged(n.name, known, pending)])] : merged(n.name, known, pending) }))
    .filter((s) => s.components.length);
}

/** Stops the rollout at `node`: says which node and why, records what is left, leaves the rest untouched. */
async function stop(
  outDir: string,
  left: ClusterNode[],
  known: NodeRestart[],
  pending: NodeRestart[],
  node: string,
  why: string,
  done: string[],
  here: string[],
  outside: NodeRestart[],
): Promise<number> {
  await writePending(outDir, [...leftSteps(left, known, pending, node, here), ...outside], `${node}: ${why}`);
  const untouched = left.slice(1).map((n) => n.name);
  process.stderr.write(
    `kube-pki: restart stopped at node ${node}: ${why}\n` +
      `  restarted before it: ${done.join(', ') || 'none'}; left untouched (files and processes): ${untouched.join(', ') || 'none'}\n` +
      `  fix ${node}, then run the same command again: it restarts what is left (recorded in ${PENDING_RESTARTS})\n`,
  );
  return EXIT.failed;
}

/** A node's components restarted in order over one SSH connection, then waited for; null when all are healthy. */
async function restartNode(cluster: Cluster, outDir: string, target: NodeTarget, components: string[], session: SessionOptions, timeoutMs: number): Promise<string | null> {
  const node = target.node;
  const client = await connectWithRetries(target, session).catch((err: Error) => err);
  if (client instanceof Error) return `cannot connect over SSH: ${client.message}`;
  try {
    for (const component of components) {
      const { argv } = restartCommand(cluster, node, component);
      say(`${node.name}: restarting ${component}: ${commandLine(argv)}`);
      const r = await execCommand(client, commandLine(argv)).catch((err: Error) => ({ code: -1, stderr: err.message, stdout: Buffer.alloc(0) }));
      if (r.code !== 0) return `${component}: the restart command exited ${r.code}${r.stderr ? `: ${r.stderr.split('\n').slice(-3).join('; ')}` : ''}`;
    }
  } finally {
    client.end();
  }
  const checks = components.map((c) => healthCheck(cluster, outDir, node, c)).filter((c): c is HealthCheck => c !== null);
  const started = Date.now();
  const failing = await waitHealthy(checks, timeoutMs);
  if (failing.length) return `not healthy within ${timeoutMs / 1000}s: ${failing.join('; ')}`;
  say(`${node.name}: healthy after ${((Date.now() - started) / 1000).toFixed(1)}s (${checks.map((c) => `${c.component} ${c.url}`).join(', ') || 'no health check for these components'})`);
  return null;
}

/** Polls every check until all pass together or the time is up; returns the last failure of each failing one. */
async function waitHealthy(checks: HealthCheck[], timeoutMs: number): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const results = await Promise.all(checks.map((c) => probe(c, Math.min(PROBE_TIMEOUT_MS, Math.max(1, deadline - Date.now())))));
    const failing = results.map((r, i) => (r ? `${checks[i]!.component}: ${r}` : null)).filter((r): r is string => r !== null);
    if (!failing.length || Date.now() >= deadline) return failing;
    await sleep(Math.min(PROBE_INTERVAL_MS, Math.max(0, deadline - Date.now())));
  }
}

async function connectWithRetries(target: NodeTarget, session: SessionOptions): Promise<Client> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await connect(endpointOf(target, session));
    } catch (err) {
      if (!(err instanceof SshError) || !err.retryable || attempt > session.retries) throw err;
      await sleep(session.backoffMs * 2 ** (attempt - 1));
    }
  }
}

/** --dry-run: what each node would run and the health checks kube-pki would wait for; connects to nothing. */
export async function restartDryRun(cluster: Cluster, options: RestartOptions, known: NodeRestart[] | null): Promise<string> {
  const outDir = resolve(options.out);
  const instances = instancesFor(cluster);
  const pending = await readPending(outDir);
  const manifests = new Map((await manifestFor(cluster, outDir)).map((m) => [m.node.name, m]));
  const lines = [`Restart (--restart), one node at a time, each waited for until healthy (timeout ${options.restartTimeout ?? DEFAULT_RESTART_TIMEOUT}s):`];
  let n = 0;
  for (const node of rollingNodes(cluster, options.only)) {
    // Without a connection it is unknown which files distribution would send: every file of the node counts.
    const mayBeSent = known ? [] : (manifests.get(node.name)?.files.map((f) => f.local) ?? []);
    const all = merged(node.name, known ?? [], pending, restartForSent(cluster, instances, node.name, mayBeSent));
    const components = all.filter((c) => !skipped(cluster, node, c));
    if (!components.length) continue;
    lines.push(`  ${++n}. ${node.name}:${all.length > components.length ? ` (restart.skip: ${all.filter((c) => !components.includes(c)).join(', ')})` : ''}`);
    for (const c of components) {
      const { argv, from } = restartCommand(cluster, node, c);
      const check = healthCheck(cluster, outDir, node, c);
      lines.push(`       ${commandLine(argv)}    (${from})`);
      lines.push(`         then wait for ${check ? check.url : 'nothing (kube-pki has no health check for it)'}`);
    }
  }
  if (!n) lines.push('  nothing');
  if (!known) lines.push('  (distribute --restart restarts only what reads a file it actually sends; listed: what reads any file of the node)');
  return `${lines.join('\n')}\n`;
}
