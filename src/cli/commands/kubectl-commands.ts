import type { Command } from 'commander';
import { configOption, outOption } from '../options.js';

export function register(program: Command): void {
  program
    .command('kubectl-commands')
    .description('print the kubectl config set-cluster / set-credentials / set-context / use-context commands that make the same kubeconfigs')
    .argument('[kubeconfig]', 'only this one: a file (admin.conf), a path (master-1/admin.conf) or a node name')
    .addOption(configOption())
    .addOption(outOption())
    .action(async (only: string | undefined, opts) => {
      const { loadClusterOption } = await import('../cluster-option.js');
      const { kubectlCommands } = await import('../kubectl-commands.js');
      process.stdout.write(kubectlCommands(await loadClusterOption(opts.config), opts.out, only));
    });
}
