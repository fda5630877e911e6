import { InvalidArgumentError, Option, type Command } from 'commander';
import type { DistributeOptions } from '../../distribute/prepare.js';
import { DEFAULT_WARN_DAYS } from '../../model/time.js';
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
    .addOption(new Option('--warn-days <n>', 'report certificates that expire within N days').default(DEFAULT_WARN_DAYS).argParser(days))
    .addOption(jsonOption())
    .option('--remote', "also compare each node's files with the local ones over SSH (hash and mode; as distribute --verify)");
  addRemoteOptions(command).action(async (opts: DistributeOptions & { config?: string; warnDays: number; remote?: boolean }) => {
    const { loadClusterOption } = await import('../cluster-option.js');
    const { checkPki } = await import('../../check/check.js');
    const { checkText } = await import('../../check/format.js');
    const cluster = await loadClusterOption(opts.config);
    const report = await checkPki(cluster, opts.out, { warnDays: opts.warnDays });
    const localOk = report.result === 'ok';
    if (!opts.remote) {
      process.stdout.write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : checkText(report));
      process.exitCode = localOk ? 0 : 1;
      return;
    }
    const verify = await import('../../distribute/verify.js');
    if (opts.json) {
      const remote = await verify.verifyRemote(cluster, opts);
      process.stdout.write(`${JSON.stringify({ ...report, remote }, null, 2)}\n`);
      process.exitCode = localOk && remote.result === 'ok' ? 0 : 1;
      return;
    }
    process.stdout.write(checkText(report));
    const remoteCode = await verify.verifyCommand(cluster, { ...opts, verify: true });
    process.exitCode = remoteCode === 0 && localOk ? 0 : Math.max(remoteCode, 1);
    });
}
