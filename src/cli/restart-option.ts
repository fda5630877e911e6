import { Option, type Command } from 'commander';
import type { NodeRestart } from '../catalog/restart.js';
import type { Cluster } from '../model/cluster.js';
import type { RestartOptions } from '../restart/rollout.js';
import { EXIT, UserError } from '../errors.js';
import { positiveInt } from './options.js';

/**
 * `--restart` and `--restart-timeout`: one call per command that changes files nodes read (renew,
 * rotate-ca's phases, renew-ca, distribute). The command then calls `restartAfter`.
 */
export function addRestartOptions(command: Command): Command {
  return command
    .option(
      '--restart',
      "after distribution, restart the components that read the changed files over SSH, one node at a time in the printed order, each waited for until healthy (commands from the description's restart:, see docs/unattended.md)",
    )
    .addOption(new Option('--restart-timeout <seconds>', "with --restart: how long a node's components have to answer healthy before the rollout stops there").argParser(positiveInt).default(300));
}

export interface RestartFlags extends RestartOptions {
  restart?: boolean;
  json?: boolean;
  dryRun?: boolean;
}

/** Checked before anything is written: --restart follows a distribution and prints as it goes (no --json). */
export function assertRestartUsable(opts: RestartFlags, command: string, needsDistribute: boolean): void {
  if (!opts.restart) return;
  if (needsDistribute && !opts.distribute)
    throw new UserError(`${command}: --restart needs --distribute (the nodes restart to load the files sent to them)`, EXIT.badInput);
  if (opts.json) throw new UserError(`${command}: --restart does not combine with --json (it reports node by node as it goes)`, EXIT.badInput);
}

/**
 * Carries out the restart list (a dry run prints it); returns the exit code. `known`: the verb's own
 * list; null for distribute, whose list follows from what it sends.
 */
export async function restartAfter(cluster: Cluster, opts: RestartFlags, known: NodeRestart[] | null): Promise<number> {
  const { rollOut, restartDryRun } = await import('../restart/rollout.js');
  if (opts.dryRun) {
    process.stdout.write(await restartDryRun(cluster, opts, known));
    return EXIT.ok;
  }
  return rollOut(cluster, opts, known ?? []);
}
