import { Option, type Command } from 'commander';
import { configOption, outOption } from '../options.js';

export const GRAPH_FORMATS = ['tree', 'dot', 'mermaid'] as const;

export function register(program: Command): void {
  program
    .command('graph')
    .description(
      'draw the PKI: each CA with the certificates it signs, each node with the files it receives; from the description alone, ' +
        'marking what is on disk, missing or stale when the folder exists; exit 0 all good, 1 problems shown, 2 bad input',
    )
    .addOption(configOption())
    .addOption(outOption())
    .addOption(new Option('--format <format>', 'tree (terminal), dot (Graphviz: dot -Tsvg) or mermaid (a flowchart for Markdown)').choices(GRAPH_FORMATS).default('tree'))
    .option('--node <name>', 'only what this node holds')
    .action(async (opts: { config?: string; out: string; format: (typeof GRAPH_FORMATS)[number]; node?: string }) => {
      const { loadClusterOption } = await import('../cluster-option.js');
      const { graphCommand } = await import('../../graph/command.js');
      process.exitCode = await graphCommand(await loadClusterOption(opts.config), opts);
    });
}
