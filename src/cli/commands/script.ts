import type { Command } from 'commander';
import { caPassphraseOption, caPinOption, configOption } from '../options.js';

export function register(program: Command): void {
  program
    .command('script')
    .description('print the whole PKI as a bash script of plain openssl commands (run it in an empty folder)')
    .addOption(configOption())
    .addOption(caPassphraseOption())
    .addOption(caPinOption())
    .action(async (opts) => {
      const { loadClusterOption } = await import('../cluster-option.js');
      const { freshPlan } = await import('../../pki.js');
      const { planToBash } = await import('../../script/bash.js');
      const { passphraseFile } = await import('../../exec/passphrase.js');
      const cluster = await loadClusterOption(opts.config);
      // The script reads the passphrase from this file when it runs (KUBE_PKI_CA_PASSPHRASE_FILE
      // overrides it then); the passphrase itself never enters the script.
      const passphrase = await passphraseFile(opts.caPassphraseFile);
      // A root in a token: the script signs through openssl's pkcs11 engine, the PIN read from this file when it runs.
      const { pinFile, scriptModule } = await import('../../exec/token.js');
      const pin = await pinFile(opts.caPinFile);
      const module = cluster.rootCA?.pkcs11 ? scriptModule(cluster.rootCA.pkcs11) : undefined;
      process.stdout.write(
        planToBash(freshPlan(cluster), {
          source: cluster.source,
          ...(passphrase ? { passphraseFile: passphrase.path } : {}),
          ...(pin ? { pinFile: pin.path } : {}),
          ...(module ? { module } : {}),
        }),
      );
    });
}
