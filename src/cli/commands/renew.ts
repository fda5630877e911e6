import { Option, type Command } from 'commander';
import type { RenewReport } from '../../renew/renew.js';
import type { Cluster } from '../../model/cluster.js';
import type { Plan } from '../../model/steps.js';
import { caPassphraseOption, configOption, jsonOption, outOption, positiveInt } from '../options.js';
import { addRestartOptions, assertRestartUsable, restartAfter } from '../restart-option.js';
import { addRemoteOptions, distributeAfterGen } from './distribute.js';

/** The time of this success in the output folder, for the metrics (check --format prometheus). */
async function recordSuccess(report: RenewReport): Promise<void> {
  const { writeRenewalRecord } = await import('../../files/renewal-record.js');
  await writeRenewalRecord(report.outDir, { succeededAt: new Date().toISOString(), expiringWithin: report.expiringWithin, renewed: report.renewed.map((r) => r.name) });
}

export function register(program: Command): void {
  const command = program
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
    .option('--distribute', 'then copy each node its files over SSH, as `kube-pki distribute` (SSH options below); with nothing to renew too, so that a node that missed files gets them');
  addRestartOptions(command);
  addRemoteOptions(command).action(async (names: string[], opts) => {
    const { loadClusterOption } = await import('../cluster-option.js');
    const { renew } = await import('../../renew/renew.js');
    const cluster = await loadClusterOption(opts.config);
    assertRestartUsable(opts, 'renew', true);
    // Bad SSH settings: exit 2 before anything is renewed.
    const then = opts.distribute && !opts.dryRun && !opts.restart ? await distributeAfterGen(cluster, opts, 'renew') : undefined;
    if (opts.restart && !opts.dryRun) {
      const { prepareDistribution } = await import('../../distribute/run.js');
      await prepareDistribution(cluster, opts);
    }
    const { exitCode: renewed, report, plan } = await renew(cluster, opts.out, { ...opts, names });
    await printReport(report, plan, opts, cluster);
    let exitCode = renewed;
    if (renewed !== 0 && (then || opts.restart)) process.stderr.write(`kube-pki: not distributed: renew ended with exit ${renewed}; fix that first\n`);
    else if (opts.restart) {
      const { rollingOrder } = await import('../../catalog/restart.js');
      exitCode = await restartAfter(cluster, opts, rollingOrder(cluster, report.restart));
    } else if (then) exitCode = await then();
    // Recorded once the whole command has succeeded (distribution and restarts included); nothing
    // due is a success too: an unattended run that finds nothing to do is working.
    if (exitCode === 0 && !opts.dryRun) await recordSuccess(report);
    process.exitCode = exitCode;
  });
}

async function printReport(report: RenewReport, plan: Plan | null, opts: { json?: boolean; dryRun?: boolean }, cluster: Cluster): Promise<void> {
  if (opts.json) {
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return;
  }
  const { renewText } = await import('../../renew/format.js');
  const { sendablePaths } = await import('../../distribute/manifest.js');
  process.stdout.write(renewText(report, sendablePaths(cluster)));
  if (opts.dryRun && plan) {
    const { planText } = await import('../../gen/gen.js');
    process.stdout.write(planText(plan, report.outDir, cluster));
  }
}
