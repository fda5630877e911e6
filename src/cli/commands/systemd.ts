import { realpathSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { EXIT, UserError } from '../../errors.js';
import { DEFAULT_CONFIG_FILE } from '../cluster-option.js';
import { configOption, outOption, positiveInt } from '../options.js';

/** Debian's prometheus-node-exporter reads *.prom files here (its --collector.textfile.directory). */
const DEFAULT_METRICS_FILE = '/var/lib/prometheus/node-exporter/kube-pki.prom';

interface SystemdFlags {
  unitsDir: string;
  config?: string;
  out: string;
  onCalendar: string;
  expiringWithin: number;
  metricsFile: string;
  randomizedDelay: string;
  remoteCheck: boolean;
  force?: boolean;
}

const bad = (option: string, value: string, why: string) => new UserError(`systemd: ${option} ${JSON.stringify(value)}: ${why}`, EXIT.badInput);
const kindOf = async (path: string) => {
  const st = await stat(path).catch(() => null);
  return st?.isDirectory() ? 'folder' : st ? 'file' : null;
};

/** Every input of the units checked, paths made absolute: nothing is written when one is wrong. */
async function unitInput(opts: SystemdFlags) {
  const units = await import('../../systemd/units.js');
  const path = async (option: string, value: string, want: 'folder' | 'file' | null) => {
    const abs = resolve(value);
    const problem = units.pathProblem(abs);
    if (problem) throw bad(option, value, problem);
    if (want && (await kindOf(abs)) !== want) throw bad(option, value, `no such ${want} (${abs})`);
    return abs;
  };
  const unitsDir = await path('--units-dir', opts.unitsDir, 'folder');
  // The unit runs with another working folder: the description must be a file named by an absolute path.
  const configGiven = opts.config ?? DEFAULT_CONFIG_FILE;
  if (opts.config === undefined && (await kindOf(configGiven)) !== 'file')
    throw new UserError(`systemd: --config: no ${DEFAULT_CONFIG_FILE} in this folder; name the cluster description with --config FILE (the unit needs one)`, EXIT.badInput);
  const config = await path('--config', configGiven, 'file');
  const { loadClusterOption } = await import('../cluster-option.js');
  await loadClusterOption(config);
  const out = await path('--out', opts.out, 'folder');
  const metricsFile = await path('--metrics-file', opts.metricsFile, null);
  if (!metricsFile.endsWith('.prom') || basename(metricsFile) === '.prom') throw bad('--metrics-file', opts.metricsFile, "node_exporter's textfile collector reads only files named *.prom");
  if ((await kindOf(dirname(metricsFile))) !== 'folder') throw bad('--metrics-file', opts.metricsFile, `the folder ${dirname(metricsFile)} does not exist`);
  const calendar = units.calendarProblem(opts.onCalendar);
  if (calendar) throw bad('--on-calendar', opts.onCalendar, calendar);
  const delay = units.delayProblem(opts.randomizedDelay);
  if (delay) throw bad('--randomized-delay', opts.randomizedDelay, delay);
  const node = await path('the node binary', process.execPath, 'file');
  const cli = await path('the kube-pki CLI', realpathSync(process.argv[1]!), 'file');
  return { unitsDir, input: { node, cli, config, out, metricsFile, expiringWithin: opts.expiringWithin, remoteCheck: opts.remoteCheck, onCalendar: opts.onCalendar, randomizedDelay: opts.randomizedDelay } };
}

export function register(program: Command): void {
  program
    .command('systemd')
    .description(
      'write kube-pki-renew.service and kube-pki-renew.timer into a folder (e.g. /etc/systemd/system) for the admin machine: ' +
        'renew --expiring-within DAYS --distribute --restart on a schedule, then check --format prometheus into a metrics file. Exit 0 written, 2 bad input',
    )
    .requiredOption('--units-dir <dir>', 'the folder of systemd units to write into, e.g. /etc/systemd/system')
    .addOption(configOption())
    .addOption(outOption())
    .addOption(new Option('--on-calendar <spec>', 'when the timer runs (systemd OnCalendar=)').default('weekly'))
    .addOption(new Option('--expiring-within <days>', 'renew the certificates that expire within DAYS days').default(30).argParser(positiveInt))
    .addOption(new Option('--metrics-file <file>', "where check writes its metrics (*.prom in node_exporter's textfile folder)").default(DEFAULT_METRICS_FILE))
    .addOption(new Option('--randomized-delay <span>', 'up to this much later than the schedule (systemd RandomizedDelaySec=)').default('1h'))
    .option('--no-remote-check', "the check after each run reads only the PKI folder (default: also each node's files, check --remote, drift per node in the metrics)")
    .option('--force', 'replace units that exist with other contents')
    .action(async (opts: SystemdFlags) => {
      const { unitsDir, input } = await unitInput(opts);
      const { installUnits } = await import('../../systemd/install.js');
      const result = await installUnits(unitsDir, input, !!opts.force);
      for (const f of result.written) process.stdout.write(`wrote ${f}\n`);
      for (const f of result.unchanged) process.stdout.write(`unchanged ${f}\n`);
      process.stdout.write('then: systemctl daemon-reload && systemctl enable --now kube-pki-renew.timer\n');
    });
}
