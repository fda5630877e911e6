import { Option, type Command } from 'commander';
import type { RenewReport } from '../../renew/renew.js';
import { caPassphraseOption, configOption, jsonOption, outOption, positiveInt } from '../options.js';

/** The time of this success in the output folder, for the metrics (check --format prometheus). */
async function recordSuccess(report: RenewReport): Promise<void> {
  const { writeRenewalRecord } = await import('../../files/renewal-record.js');
  await writeRenewalRecord(report.outDir, { succeededAt: new Date().toISOString(), expiringWithin: report.expiringWithin, renewed: report.renewed.map((r) => r.name) });
}

export function register(program: Command): void {
  program
    .command('renew')
    .description(
      're-issue leaf certificates with the existing CA (keys kept, SANs from the description, old files backed up) and ' +
        're-render the kubeconfigs that embed them; CAs are never renewed. Exit 0 done, 1 failed, 2 bad input',
    )
    .argument('[name...]', 'certificates to renew: catalog names (admin, kube-apiserver, worker-1, kubelet) or files (admin.crt)')
    .addOption(configOption())
    .addOption(outOption())
    .option('--all', 'renew every leaf certificate')
    .addOption(new Option('--expiring-within <days>', 'renew only those that expire within DAYS days').argParser(positiveInt))
    .option('--new-key', 'make a new key for each instead of keeping it (the old key is backed up)')
    .option('--dry-run', 'print what would be renewed and the openssl commands; write nothing')
    .addOption(new Option('--concurrency <n>', 'openssl processes at once (default: CPU count)').argParser(positiveInt))
    .addOption(caPassphraseOption())
    .addOption(jsonOption())
    .action(async (names: string[], opts) => {
      const { loadClusterOption } = await import('../cluster-option.js');
      const { renew } = await import('../../renew/renew.js');
      const { renewText } = await import('../../renew/format.js');
      const cluster = await loadClusterOption(opts.config);
      const { exitCode, report, plan } = await renew(cluster, opts.out, { ...opts, names });
      // Recorded once the whole command has succeeded (anything it does after renewing included); nothing
      // due is a success too: an unattended run that finds nothing to do is working.
      if (exitCode === 0 && !opts.dryRun) await recordSuccess(report);
      if (opts.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      else {
        const { sendablePaths } = await import('../../distribute/manifest.js');
        process.stdout.write(renewText(report, sendablePaths(cluster)));
        if (opts.dryRun && plan) {
          const { planText } = await import('../../gen/gen.js');
          process.stdout.write(planText(plan, report.outDir, cluster));
        }
      }
      process.exitCode = exitCode;
    });
}
