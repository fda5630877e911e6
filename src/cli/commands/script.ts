import type { Command } from 'commander';
import { configOption } from '../options.js';

export function register(program: Command): void {
  program
    .command('script')
    .description('print the whole PKI as a bash script of plain openssl commands (run it in an empty folder)')
    .addOption(configOption())
    .action(async (opts) => {
      const { loadClusterOption } = await import('../cluster-option.js');
      const { freshPlan } = await import('../../pki.js');
      const { planToBash } = await import('../../script/bash.js');
      const cluster = await loadClusterOption(opts.config);
      process.stdout.write(planToBash(freshPlan(cluster), { source: cluster.source }));
    });
}
