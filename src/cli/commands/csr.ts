import { Option, type Command } from 'commander';
import { caPassphraseOption, configOption, jsonOption, outOption, positiveInt } from '../options.js';

export function register(program: Command): void {
  program
    .command('csr')
    .description(
      'for an external CA (its certificate in the PKI folder without its key): write the keys and signing requests of every certificate it must sign, ' +
        'for `gen` to pick up once signed. Exit 0 done, 1 failed, 2 no CA lacks its key, 3 a key is unreadable',
    )
    .addOption(configOption())
    .addOption(outOption())
    .addOption(jsonOption())
    .addOption(caPassphraseOption())
    .addOption(new Option('--concurrency <n>', 'openssl processes at once (default: CPU count)').argParser(positiveInt))
    .action(async (opts) => {
      const { loadClusterOption } = await import('../cluster-option.js');
      const { csr } = await import('../../csr/csr.js');
      process.exitCode = await csr(await loadClusterOption(opts.config), opts);
    });
}
