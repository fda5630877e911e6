import { Option, type Command } from 'commander';
import { caPassphraseOption, collect, configOption, jsonOption, outOption, positiveInt } from '../options.js';
import { addRemoteOptions, distributeAfterGen } from './distribute.js';

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
    .addOption(new Option('--concurrency <n>', 'openssl processes at once (default: CPU count)').argParser(positiveInt))
    .option('--distribute', 'then copy each node its files over SSH, as `kube-pki distribute` (SSH options below)');
  addRemoteOptions(command);
  command.action(async (opts) => {
    const { loadClusterOption } = await import('../cluster-option.js');
    const { renewCaCommand } = await import('../renew-ca.js');
    const cluster = await loadClusterOption(opts.config);
    // Bad SSH settings: exit 2 before anything is written.
    const then = opts.distribute && !opts.dryRun ? await distributeAfterGen(cluster, opts, 'renew-ca') : undefined;
    const exitCode = await renewCaCommand(cluster, opts);
    if (then && exitCode !== 0) process.stderr.write(`kube-pki: not distributed: renew-ca ended with exit ${exitCode}; fix that first\n`);
    process.exitCode = then && exitCode === 0 ? await then() : exitCode;
  });
}
