import { InvalidArgumentError, Option, type Command } from 'commander';
import type { DistributeOptions } from '../../distribute/prepare.js';
import { configOption, jsonOption, outOption } from '../options.js';
import { addRemoteOptions } from './distribute.js';

function days(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n)) throw new InvalidArgumentError(`${JSON.stringify(value)} is not a whole number of days (0 or more)`);
  return n;
}

export function register(program: Command): void {
  const command = program
    .command('check')
    .description(
      'check a PKI folder (any folder of certificates): chains, keys, subjects, SANs, usages, expiry, file modes and kubeconfigs; ' +
        'exit 0 all good, 1 problems found, 2 bad input',
    )
    .addOption(configOption())
    .addOption(outOption())
    .addOption(new Option('--warn-days <n>', 'report certificates that expire within N days').default(30).argParser(days))
    .addOption(jsonOption())
    .option('--remote', "instead: compare each node's files with the local ones over SSH (same as distribute --verify)");
  addRemoteOptions(command).action(async (opts: DistributeOptions & { config?: string; warnDays: number; remote?: boolean }) => {
      const { loadClusterOption } = await import('../cluster-option.js');
      if (opts.remote) {
        const { verifyCommand } = await import('../../distribute/verify.js');
        process.exitCode = await verifyCommand(await loadClusterOption(opts.config), { ...opts, verify: true });
        return;
      }
      const { checkPki } = await import('../../check/check.js');
      const { checkText } = await import('../../check/format.js');
      const cluster = await loadClusterOption(opts.config);
      const report = await checkPki(cluster, opts.out, { warnDays: opts.warnDays });
      process.stdout.write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : checkText(report));
      process.exitCode = report.result === 'ok' ? 0 : 1;
    });
}
