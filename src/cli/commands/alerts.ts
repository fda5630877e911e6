import { InvalidArgumentError, Option, type Command } from 'commander';
import { durationSeconds } from '../../util/duration.js';

/** --renew-period: a Prometheus-style duration of one unit; its text is kept for the alert's words. */
function period(value: string): { seconds: number; text: string } {
  const seconds = durationSeconds(value);
  if (seconds === null) throw new InvalidArgumentError(`${JSON.stringify(value)} is not a duration such as 7d, 12h or 2w`);
  return { seconds, text: value };
}

export function register(program: Command): void {
  program
    .command('alerts')
    .description(
      "print a Prometheus rules file for the metrics of check --format prometheus: certificate expiry (warning 30 days before, critical 7), " +
        'check problems, and unattended renewal that has not succeeded for two periods',
    )
    .addOption(new Option('--renew-period <duration>', 'how often renewal runs (the systemd timer: weekly); alert after two periods without success').default(period('7d'), '7d').argParser(period))
    .action(async (opts: { renewPeriod: { seconds: number; text: string } }) => {
      const { rulesFile } = await import('../../alerts/rules.js');
      process.stdout.write(rulesFile({ renewPeriodSeconds: opts.renewPeriod.seconds, renewPeriodText: opts.renewPeriod.text }));
    });
}
