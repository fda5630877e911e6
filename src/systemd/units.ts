// The admin machine's unattended renewal as two systemd units: a timer and the oneshot service it starts.

export const SERVICE = 'kube-pki-renew.service';
export const TIMER = 'kube-pki-renew.timer';

export interface UnitInput {
  /** Absolute paths: the node binary, the CLI's entry file, the description, the PKI folder, the metrics file. */
  node: string;
  cli: string;
  config: string;
  out: string;
  metricsFile: string;
  expiringWithin: number;
  onCalendar: string;
  randomizedDelay: string;
  /** The check after each run also compares the nodes' files (check --remote): drift per node in the metrics. */
  remoteCheck: boolean;
}

/**
 * Paths go into ExecStart= unquoted: systemd splits words at spaces and expands %, $ and \ there, so a
 * path may hold only characters it takes literally.
 */
const LITERAL_PATH = /^\/[A-Za-z0-9._/+,=@-]*$/;
export const pathProblem = (path: string): string | null =>
  LITERAL_PATH.test(path) ? null : 'must be an absolute path of letters, digits and . _ / + , = @ - only (systemd would read spaces, quotes, %, $ or \\ in a unit)';

/** OnCalendar= values: systemd's calendar syntax uses no other characters ("weekly", "Mon *-*-* 03:00:00", "*-*-01 04:00 UTC"). */
const CALENDAR = /^[A-Za-z0-9 *:,./~+-]+$/;
export const calendarProblem = (value: string): string | null =>
  CALENDAR.test(value) && value.trim() === value ? null : 'is not a systemd calendar expression (e.g. weekly, daily, "Sun *-*-* 03:00:00")';

/** RandomizedDelaySec=: a number with an optional unit (30min, 1h, 3600). */
const TIMESPAN = /^\d{1,7}(s|sec|min|m|h|d)?$/;
export const delayProblem = (value: string): string | null => (TIMESPAN.test(value) ? null : 'is not a systemd time span (e.g. 1h, 30min, 600)');

const command = (input: UnitInput, args: string[]) => [input.node, input.cli, ...args, '--config', input.config, '--out', input.out].join(' ');

export function serviceUnit(input: UnitInput): string {
  return `# Written by kube-pki systemd. Started by ${TIMER}.
[Unit]
Description=kube-pki: renew the certificates that expire within ${input.expiringWithin} days, distribute them and restart the components
Wants=network-online.target
After=network-online.target

[Service]
Type=oneshot
ExecStart=${command(input, ['renew', '--expiring-within', String(input.expiringWithin), '--distribute', '--restart'])}
# After every run, a failed renewal too ("-": check's own findings do not fail the unit): the metrics
# then say what is wrong, and kube-pki alerts watches them. --remote: each node's files compared too.
ExecStopPost=-${command(input, ['check', '--format', 'prometheus', '--metrics-file', input.metricsFile, ...(input.remoteCheck ? ['--remote'] : [])])}
`;
}

export function timerUnit(input: UnitInput): string {
  return `# Written by kube-pki systemd: starts ${SERVICE}.
[Unit]
Description=kube-pki: renew expiring certificates on a schedule

[Timer]
OnCalendar=${input.onCalendar}
# A machine that was off at the time catches up when it starts.
Persistent=true
# Spreads the runs of many admin machines over a while.
RandomizedDelaySec=${input.randomizedDelay}

[Install]
WantedBy=timers.target
`;
}
