import { InvalidArgumentError, Option, type Command } from 'commander';
import type { Cluster } from '../../model/cluster.js';
import type { DistributeOptions } from '../../distribute/run.js';
import { EXIT, UserError } from '../../errors.js';
import { configOption, jsonOption, outOption, positiveInt } from '../options.js';
import { addRestartOptions, assertRestartUsable, restartAfter, type RestartFlags } from '../restart-option.js';

function wholeNumber(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n)) throw new InvalidArgumentError(`${JSON.stringify(value)} is not a whole number of 0 or more`);
  return n;
}

const collect = (value: string, previous: string[] = []) => [...previous, ...value.split(',').map((s) => s.trim()).filter(Boolean)];

/** The SSH options of `distribute`, also on `gen` for `--distribute`. */
export function addRemoteOptions(command: Command): Command {
  return command
    .addOption(new Option('--only <node>', 'only this node (repeat the option or separate names with commas)').argParser(collect))
    .addOption(new Option('--parallel <n>', 'nodes to work on at once').argParser(positiveInt).default(16))
    .option('--ssh-config <file>', 'take HostName, Port, User and IdentityFile per node name from an OpenSSH config file (e.g. the output of `vagrant ssh-config`)')
    .option('--known-hosts <file>', 'known_hosts file to check host keys against (default: ~/.ssh/known_hosts)')
    .option('--accept-new', 'record the key of a host not yet known (as OpenSSH StrictHostKeyChecking=accept-new); a changed key is always refused')
    .addOption(new Option('--retries <n>', 'further attempts after a connection error, with backoff').argParser(wholeNumber).default(2))
    .addOption(new Option('--timeout <seconds>', 'wait this long for a node to answer').argParser(positiveInt).default(20));
}

export function register(program: Command): void {
  const command = program
    .command('distribute')
    .description('copy each node exactly its files over SSH (atomic, verified; identical files skipped)')
    .addOption(configOption())
    .addOption(outOption())
    .option('--dry-run', 'print what would go where; connect to nothing')
    .option('--verify', "compare each node's files with the local ones (hash and mode) and list missing, different and extra files; change nothing")
    .addOption(jsonOption());
  addRestartOptions(command);
  addRemoteOptions(command).action(async (opts: DistributeOptions & RestartFlags & { config?: string }) => {
    const { loadClusterOption } = await import('../cluster-option.js');
    const { distribute } = await import('../../distribute/run.js');
    const cluster = await loadClusterOption(opts.config);
    if (opts.restart) {
      if (opts.verify) throw new UserError('distribute: --verify changes nothing; --restart follows a distribution: give one', EXIT.badInput);
      assertRestartUsable(opts, 'distribute', false);
      // Node by node: each gets its files right before its restart; what it was sent says what restarts.
      if (opts.dryRun) await distribute(cluster, opts);
      process.exitCode = await restartAfter(cluster, { ...opts, distribute: true }, null);
      return;
    }
    process.exitCode = await distribute(cluster, opts);
  });
}

/**
 * `gen --distribute`: checks the SSH settings before anything is generated (bad ones: exit 2,
 * nothing written) and returns the distribution to run after a successful gen.
 */
export async function distributeAfterGen(cluster: Cluster, opts: DistributeOptions, command = 'gen'): Promise<() => Promise<number>> {
  if (opts.json)
    throw new UserError(`--distribute does not combine with --json (it would print two reports): run kube-pki ${command} --json, then kube-pki distribute --json`, EXIT.badInput);
  const { distribute, prepareDistribution } = await import('../../distribute/run.js');
  await prepareDistribution(cluster, opts);
  return () => distribute(cluster, { ...opts, verify: false });
}

/**
 * A phase (rotate-sa, rotate-encryption-key) and then, with --distribute and not in a dry run, the
 * distribution: bad SSH settings exit 2 before the phase writes anything; a failed phase sends nothing.
 */
export async function phaseThenDistribute(cluster: Cluster, opts: DistributeOptions & { distribute?: boolean; dryRun?: boolean }, what: string, phase: () => Promise<number>): Promise<number> {
  const then = opts.distribute && !opts.dryRun ? await distributeAfterGen(cluster, opts, what) : undefined;
  const exitCode = await phase();
  if (then && exitCode !== 0) process.stderr.write(`kube-pki: not distributed: ${what} ended with exit ${exitCode}; fix that first\n`);
  return then && exitCode === 0 ? await then() : exitCode;
}
