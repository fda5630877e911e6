import type { Command } from 'commander';
import { configOption, outOption } from '../options.js';

export function register(program: Command): void {
  program
    .command('report')
    .description(
      'write one self-contained HTML page about the PKI: the CA → certificate diagram, which node gets which file, an expiry timeline, ' +
        "check's findings and each certificate's explanation; exit 0 all good, 1 problems shown, 2 bad input",
    )
    .requiredOption('--html <file>', 'the HTML file to write')
    .addOption(configOption())
    .addOption(outOption())
    .action(async (opts: { html: string; config?: string; out: string }) => {
      const { loadClusterOption } = await import('../cluster-option.js');
      const { reportCommand } = await import('../../report/command.js');
      process.exitCode = await reportCommand(await loadClusterOption(opts.config), opts);
    });
}
