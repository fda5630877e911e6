import { Option, type Command } from 'commander';
import { configOption, jsonOption, outOption, positiveInt } from '../options.js';

export function register(program: Command): void {
  program
    .command('approve-csrs')
    .description(
      'approve the kubelet-serving CSRs of the description\'s workers (requester system:node:<name> in system:nodes, every SAN its name or address, ' +
        'serving usages); deny the others with the reason in their condition; other signers are left alone. Talks to the apiserver with kubectl',
    )
    .option('--watch', 'keep judging new CSRs until stopped (Ctrl-C)')
    .addOption(new Option('--interval <seconds>', 'with --watch: seconds between passes').default(2).argParser(positiveInt))
    .addOption(new Option('--kubeconfig <file>', 'an administrator\'s kubeconfig (default: the folder\'s admin kubeconfig)'))
    .addOption(configOption())
    .addOption(outOption())
    .addOption(jsonOption())
    .action(async (opts: { watch?: boolean; interval: number; kubeconfig?: string; config?: string; out: string; json?: boolean }) => {
      const { loadClusterOption } = await import('../cluster-option.js');
      const { approveCsrs } = await import('../approve-csrs.js');
      process.exitCode = await approveCsrs(await loadClusterOption(opts.config), opts);
    });
}
