import { Option, type Command } from 'commander';
import { configOption, jsonOption, outOption, positiveInt } from '../options.js';
import { addRemoteOptions, phaseThenDistribute } from './distribute.js';

const PHASES = {
  start: 'make a new service-account key pair beside the current one; the apiservers verify tokens with both, still sign with the current key',
  promote: 'sign tokens with the new key (apiserver and controller manager); both keys still verify',
  finish: 'verify with the new key only: it becomes the current pair, the old one is archived in the backup folder',
  status: 'which phase the service-account key rotation is in and what to run next',
} as const;

export function register(program: Command): void {
  const rotate = program
    .command('rotate-sa')
    .description('replace the service-account token key of a running cluster in three phases: start, promote, finish (see docs/key-rotation.md)');
  for (const [phase, description] of Object.entries(PHASES) as [keyof typeof PHASES, string][]) {
    const command = rotate
      .command(phase)
      .description(description)
      .addOption(configOption())
      .addOption(outOption())
      .option('--dry-run', 'print the plan (files, openssl commands), the flags and the restarts; write nothing')
      .addOption(jsonOption())
      .addOption(new Option('--concurrency <n>', 'openssl processes at once (default: CPU count)').argParser(positiveInt));
    if (phase !== 'status') {
      command.option('--distribute', 'then copy each node its files for this phase over SSH, as `kube-pki distribute` (SSH options below)');
      addRemoteOptions(command);
    }
    command.exitOverride();
    command.action(async (opts) => {
      const { loadClusterOption } = await import('../cluster-option.js');
      const { rotateSaCommand } = await import('../rotate-sa.js');
      const cluster = await loadClusterOption(opts.config);
      process.exitCode = await phaseThenDistribute(cluster, opts, `rotate-sa ${phase}`, () => rotateSaCommand(cluster, phase, opts));
    });
  }
  rotate.exitOverride();
}
