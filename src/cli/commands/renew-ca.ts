import { Option, type Command } from 'commander';
import { caPassphraseOption, caPinOption, collect, configOption, jsonOption, outOption, positiveInt } from '../options.js';
import { addRemoteOptions, distributeAfterGen } from './distribute.js';
import { addRestartOptions, assertRestartUsable, restartAfter } from '../restart-option.js';

export function register(program: Command): void {
  const command = program
    .command('renew-ca')
    .description(
      'a new certificate for a CA with the key it has: same subject and key identifier, validityDays.ca from now (under rootCA: signed by the root); ' +
        'leaves untouched, bundles, node-tree copies and kubeconfigs follow, the old certificate backed up. Refused during a rotation (see docs/ca-rotation.md)',
    )
    .addOption(configOption())
    .addOption(outOption())
    .addOption(new Option('--ca <name>', 'only this CA (repeatable): ca (hardway); ca, etcd-ca, front-proxy-ca (kubeadm); root-ca (rootCA, only when named); default: every CA kube-pki can renew').argParser(collect))
    .option('--dry-run', 'print the plan (files, openssl commands) and the restarts; write nothing')
    .addOption(jsonOption())
    .addOption(caPassphraseOption())
    .addOption(caPinOption())
    .addOption(new Option('--concurrency <n>', 'openssl processes at once (default: CPU count)').argParser(positiveInt))
    .option('--distribute', 'then copy each node its files over SSH, as `kube-pki distribute` (SSH options below)');
  addRestartOptions(command);
  addRemoteOptions(command);
  command.action(async (opts) => {
    const { loadClusterOption } = await import('../cluster-option.js');
    const { renewCaCommand } = await import('../renew-ca.js');
    const cluster = await loadClusterOption(opts.config);
    assertRestartUsable(opts, 'renew-ca', true);
    // Bad SSH settings: exit 2 before anything is written. With --restart, files go node by node as each restarts.
    const then = opts.distribute && !opts.dryRun && !opts.restart ? await distributeAfterGen(cluster, opts, 'renew-ca') : undefined;
    if (opts.restart && !opts.dryRun) {
      const { prepareDistribution } = await import('../../distribute/run.js');
      await prepareDistribution(cluster, opts);
    }
    const { exitCode, restart } = await renewCaCommand(cluster, opts);
    if (exitCode !== 0 && (then || opts.restart)) process.stderr.write(`kube-pki: not distributed: renew-ca ended with exit ${exitCode}; fix that first\n`);
    if (exitCode !== 0) process.exitCode = exitCode;
    else if (opts.restart) process.exitCode = await restartAfter(cluster, opts, restart);
    else process.exitCode = then ? await then() : exitCode;
  });
}
