import type { Command } from 'commander';
import { caPinOption, configOption, jsonOption, outOption } from '../options.js';

export function register(program: Command): void {
  const root = program.command('root').description('the root CA whose key is in a PKCS#11 token (rootCA.pkcs11; docs/pkcs11.md)');
  root
    .command('init')
    .description(
      'make the root CA key inside the token (sensitive, never extractable) and its self-signed certificate OUT/root-ca.crt; ' +
        'refuses when the root exists. Exit 0 done, 1 failed, 2 bad input (no token, wrong PIN, wrong object or kind), nothing written',
    )
    .addOption(configOption())
    .addOption(outOption())
    .addOption(caPinOption())
    .option('--use-existing-key', "certify the key the token already holds under that URI (made by the token's own tools, as a YubiKey PIV slot's) instead of making one")
    .option('--dry-run', 'check the token, the PIN and the object, say what would be made; write nothing')
    .addOption(jsonOption())
    .action(async (opts) => {
      const { loadClusterOption } = await import('../cluster-option.js');
      const { rootInit } = await import('../../root/init.js');
      const { rootInitText } = await import('../../root/format.js');
      const { exitCode, result } = await rootInit(await loadClusterOption(opts.config), opts);
      process.stdout.write(opts.json ? `${JSON.stringify(result, null, 2)}\n` : rootInitText(result));
      process.exitCode = exitCode;
    });
  root.exitOverride();
}
