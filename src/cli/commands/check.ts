import { InvalidArgumentError, Option, type Command } from 'commander';
import { stat } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import type { CheckReport } from '../../check/report.js';
import type { DistributeOptions } from '../../distribute/prepare.js';
import { EXIT, UserError } from '../../errors.js';
import { DEFAULT_WARN_DAYS } from '../../model/time.js';
import type { Cluster } from '../../model/cluster.js';
import type { NodeDrift } from '../../model/metrics.js';
import { configOption, jsonOption, outOption } from '../options.js';
import { addRemoteOptions } from './distribute.js';

function days(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n)) throw new InvalidArgumentError(`${JSON.stringify(value)} is not a whole number of days (0 or more)`);
  return n;
}

const FORMATS = ['text', 'json', 'prometheus'] as const;
type Format = (typeof FORMATS)[number];

interface CheckFlags {
  config?: string;
  warnDays: number;
  remote?: boolean;
  format: Format;
  metricsFile?: string;
}

/** --json is --format json; the two must not disagree, and --metrics-file is for prometheus only. */
function outputFormat(opts: CheckFlags & { json?: boolean }): Format {
  if (opts.json && opts.format === 'prometheus') throw new UserError('check: --json and --format prometheus: give one', EXIT.badInput);
  const format = opts.json ? 'json' : opts.format;
  if (opts.metricsFile !== undefined && format !== 'prometheus')
    throw new UserError(`check: --metrics-file ${JSON.stringify(opts.metricsFile)} needs --format prometheus`, EXIT.badInput);
  opts.json = format === 'json';
  return format;
}

/** The textfile collector reads *.prom files of a folder that exists: both checked before check runs. */
async function assertMetricsFolder(file: string | undefined): Promise<void> {
  if (file === undefined) return;
  const bad = (why: string) => new UserError(`--metrics-file ${JSON.stringify(file)}: ${why}`, EXIT.badInput);
  if (!file.endsWith('.prom') || basename(file) === '.prom') throw bad("node_exporter's textfile collector reads only files named *.prom");
  const folder = await stat(dirname(resolve(file))).catch(() => null);
  if (!folder?.isDirectory()) throw bad(`the folder ${dirname(resolve(file))} does not exist`);
  if ((await stat(resolve(file)).catch(() => null))?.isDirectory()) throw bad('is a folder');
}

async function writeMetrics(report: CheckReport, file: string | undefined, remote?: NodeDrift[]): Promise<void> {
  const { metricsText } = await import('../../metrics/metrics.js');
  const text = await metricsText(report, new Date(report.checkedAt), remote);
  if (file === undefined) process.stdout.write(text);
  else {
    const { writeMetricsFile } = await import('../../metrics/write.js');
    await writeMetricsFile(file, text);
  }
}

/** check --remote's comparison, node by node, as the metrics count it (nodes with nothing to hold left out). */
async function nodeDrift(cluster: Cluster, opts: DistributeOptions): Promise<NodeDrift[]> {
  const { verifyRemote } = await import('../../distribute/verify.js');
  const remote = await verifyRemote(cluster, opts);
  for (const n of remote.nodes) if (n.result === 'failed') process.stderr.write(`kube-pki: check --remote: ${n.node}: ${n.error ?? 'failed'}\n`);
  return remote.nodes
    .filter((n) => n.result !== 'nothing-to-check')
    .map((n) => ({ node: n.node, reached: n.result !== 'failed', missing: n.missing.length, different: n.different.length, extra: n.extra.length }));
}

export function register(program: Command): void {
  const command = program
    .command('check')
    .argument('[dir]', 'the PKI folder (the same as --out DIR), e.g. kube-pki check /etc/kubernetes/pki')
    .description(
      'check a PKI folder (any folder of certificates): chains, keys, subjects, SANs, usages, expiry, file modes and kubeconfigs; ' +
        'exit 0 all good, 1 problems found, 2 bad input',
    )
    .addOption(configOption())
    .addOption(outOption())
    .addOption(new Option('--warn-days <n>', 'report certificates that expire within N days').default(DEFAULT_WARN_DAYS).argParser(days))
    .addOption(jsonOption())
    .addOption(new Option('--format <format>', 'text, json (the same as --json) or prometheus (x509-certificate-exporter\'s metrics and kube-pki\'s)').choices(FORMATS).default('text'))
    .option('--metrics-file <file>', 'with --format prometheus: write the metrics to FILE (*.prom, atomically, for node_exporter\'s textfile collector) instead of stdout')
    .option('--remote', "also compare each node's files with the local ones over SSH (hash and mode; as distribute --verify)");
  addRemoteOptions(command).action(async (dir: string | undefined, opts: DistributeOptions & CheckFlags) => {
    if (dir !== undefined) {
      // A kubeadm user types `check /etc/kubernetes/pki`; --out says the same, and two different folders are a mistake.
      if (command.getOptionValueSource('out') === 'cli' && opts.out !== dir)
        throw new UserError(`check: the folder is given twice, as ${JSON.stringify(dir)} and as --out ${JSON.stringify(opts.out)}; give one`, EXIT.badInput);
      opts.out = dir;
    }
    const format = outputFormat(opts);
    if (format === 'prometheus') await assertMetricsFolder(opts.metricsFile);
    const { loadClusterOption } = await import('../cluster-option.js');
    const { checkPki } = await import('../../check/check.js');
    const { checkText } = await import('../../check/format.js');
    const cluster = await loadClusterOption(opts.config);
    const report = await checkPki(cluster, opts.out, { warnDays: opts.warnDays });
    const localOk = report.result === 'ok';
    if (format === 'prometheus') {
      // The exit code is check's, whatever the format: the metrics carry the same findings (--remote: the nodes' too).
      const remote = opts.remote ? await nodeDrift(cluster, opts) : undefined;
      await writeMetrics(report, opts.metricsFile, remote);
      process.exitCode = localOk && (remote ?? []).every((n) => n.reached && n.missing + n.different + n.extra === 0) ? 0 : 1;
      return;
    }
    const { bootstrapRows, bootstrapText } = await import('../bootstrap-check.js');
    const bootstrap = await bootstrapRows(cluster, opts.out, opts.remote ? opts : null);
    const withBootstrap = bootstrap.length ? { bootstrapWorkers: bootstrap } : {};
    if (!opts.remote) {
      process.stdout.write(opts.json ? `${JSON.stringify({ ...report, ...withBootstrap }, null, 2)}\n` : checkText(report) + bootstrapText(bootstrap));
      process.exitCode = localOk ? 0 : 1;
      return;
    }
    const verify = await import('../../distribute/verify.js');
    if (opts.json) {
      const remote = await verify.verifyRemote(cluster, opts);
      process.stdout.write(`${JSON.stringify({ ...report, ...withBootstrap, remote }, null, 2)}\n`);
      process.exitCode = localOk && remote.result === 'ok' ? 0 : 1;
      return;
    }
    process.stdout.write(checkText(report) + bootstrapText(bootstrap));
    const remoteCode = await verify.verifyCommand(cluster, { ...opts, verify: true });
    process.exitCode = remoteCode === 0 && localOk ? 0 : Math.max(remoteCode, 1);
    });
}
