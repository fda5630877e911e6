import type { Command } from 'commander';

export function register(program: Command): void {
  program
    .command('init')
    .description('write the built-in lab description to a file for editing')
    .argument('[file]', 'where to write it', 'cluster.yaml')
    .option('--force', 'overwrite the file if it exists')
    .action(async (file: string, opts) => {
      const { init } = await import('../init.js');
      await init(file, !!opts.force);
    });
}
