import { Option, type Command } from 'commander';
import { caPassphraseOption, caPinOption, configOption, jsonOption, outOption, positiveInt } from '../options.js';
import { addRestartOptions, assertRestartUsable, restartAfter } from '../restart-option.js';
import { addRemoteOptions, distributeAfterGen } from './distribute.js';

const collect = (value: string, previous: string[] = []) => [...previous, value];

const PHASES = {
  start: 'make the new CA(s) and put old + new in every trust location (files and kubeconfigs); nothing re-issued yet',
  reissue: 'sign every certificate of the rotated CA(s) with the new CA (keys kept unless --new-keys); kubeconfigs still trust both',
  finish: 'trust only the new CA; archive the old CA (certificate and key) in the backup folder',
  abort:
    'go back to the old CA (from start or reissue), keys kept: from reissue the old CA signs again and re-signs the leaves (both still trusted); from start (or an abort of reissue, after its restart) trust only the old CA again',
  status: 'which phase the folder is in, per CA, and what is still signed by the old CA',
} as const;

export function register(program: Command): void {
  const rotate = program
    .command('rotate-ca')
    .description('replace a CA of a running cluster in three phases with overlapping trust: start, reissue, finish; abort goes back (see docs/ca-rotation.md)');
  for (const [phase, description] of Object.entries(PHASES) as [keyof typeof PHASES, string][]) {
    const command = rotate
      .command(phase)
      .description(description)
      .addOption(configOption())
      .addOption(outOption())
      .addOption(new Option('--ca <name>', 'only this CA (repeatable): ca (hardway); ca, etcd-ca, front-proxy-ca (kubeadm); default: every CA kube-pki made').argParser(collect))
      .option('--dry-run', 'print the plan (files, openssl commands) and the restarts; write nothing')
      .addOption(jsonOption())
      // Accepted by every phase (one command line for all); only start under rootCA needs it.
      .addOption(caPassphraseOption())
      .addOption(caPinOption())
      .addOption(new Option('--concurrency <n>', 'openssl processes at once (default: CPU count)').argParser(positiveInt));
    if (phase === 'reissue') command.option('--new-keys', 'give every re-issued certificate a new key (the old keys are backed up)');
    if (phase !== 'status') {
      command.option('--distribute', "then copy each node its files for this phase over SSH, as `kube-pki distribute` (SSH options below)");
      addRestartOptions(command);
      addRemoteOptions(command);
    }
    command.exitOverride();
    command.action(async (opts) => {
      const { loadClusterOption } = await import('../cluster-option.js');
      const { rotateCaCommand } = await import('../rotate-ca.js');
      const cluster = await loadClusterOption(opts.config);
      assertRestartUsable(opts, `rotate-ca ${phase}`, true);
      // Bad SSH settings: exit 2 before the phase writes anything.
      const then = opts.distribute && !opts.dryRun ? await distributeAfterGen(cluster, opts, `rotate-ca ${phase}`) : undefined;
      const { exitCode, restart } = await rotateCaCommand(cluster, phase, opts);
      if (then && exitCode !== 0) process.stderr.write(`kube-pki: not distributed: rotate-ca ${phase} ended with exit ${exitCode}; fix that first\n`);
      // With --restart each node gets its files right before its restart (rollOut), not all at once before.
      if (exitCode === 0 && opts.restart) process.exitCode = await restartAfter(cluster, opts, restart);
      else process.exitCode = then && exitCode === 0 ? await then() : exitCode;
    });
  }
  rotate.exitOverride();
}
