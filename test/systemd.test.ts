import { mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { genPki, labCluster } from './check-fixtures.js';
import { CLI, kubePki, tempDir } from './helpers/cli.js';

// kube-pki systemd: the units it writes pass `systemd-analyze verify` and `systemd-analyze calendar`
// (Debian's systemd package; no running systemd needed), and the service's check command works as written.

const SERVICE = 'kube-pki-renew.service';
const TIMER = 'kube-pki-renew.timer';

/** A unit's Key=value lines (comments and sections left out); a repeated key keeps its last value. */
function directives(text: string): Map<string, string> {
  return new Map(text.split('\n').filter((l) => /^[A-Za-z]+=/.test(l)).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] as [string, string]));
}

describe('kube-pki systemd', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let config: string;
  let pki: string;
  let units: string;
  let metrics: string;
  let n = 0;
  const args = () => ['--config', config, '--out', pki, '--metrics-file', join(metrics, 'kube-pki.prom')];
  const newUnitsDir = async () => {
    const d = join(dir, `units-${++n}`);
    await mkdir(d);
    return d;
  };

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('kube-pki-systemd-'));
    ({ config } = await labCluster(dir));
    pki = await genPki(dir, config);
    metrics = join(dir, 'textfile');
    await mkdir(metrics);
    units = await newUnitsDir();
  });
  afterAll(() => cleanup());

  it('writes both units with absolute paths; systemd-analyze verify accepts them and calendar the schedule', async () => {
    const r = await kubePki(['systemd', '--units-dir', units, ...args()]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain(`wrote ${join(units, SERVICE)}`);
    expect((await readdir(units)).sort()).toEqual([SERVICE, TIMER]);
    for (const f of [SERVICE, TIMER]) expect((await stat(join(units, f))).mode & 0o777).toBe(0o644);

    const service = directives(await readFile(join(units, SERVICE), 'utf8'));
    const timer = directives(await readFile(join(units, TIMER), 'utf8'));
    const base = `--config ${config} --out ${pki}`;
    expect(service.get('Type')).toBe('oneshot');
    expect(service.get('ExecStart')).toBe(`${process.execPath} ${CLI} renew --expiring-within 30 --distribute --restart ${base}`);
    expect(service.get('ExecStopPost')).toBe(`-${process.execPath} ${CLI} check --format prometheus --metrics-file ${join(metrics, 'kube-pki.prom')} --remote ${base}`);
    expect(r.stderr).not.toContain('warning'); // renew has --distribute and --restart
    expect(timer.get('OnCalendar')).toBe('weekly');
    expect(timer.get('Persistent')).toBe('true');
    expect(timer.get('RandomizedDelaySec')).toBe('1h');
    expect(timer.get('WantedBy')).toBe('timers.target');

    const verify = await execa('systemd-analyze', ['verify', join(units, SERVICE), join(units, TIMER)], { reject: false });
    expect(verify.exitCode, verify.stdout + verify.stderr).toBe(0);
    const calendar = await execa('systemd-analyze', ['calendar', timer.get('OnCalendar')!], { reject: false });
    expect(calendar.exitCode, calendar.stderr).toBe(0);
    expect(calendar.stdout).toMatch(/Normalized form: Mon \*-\*-\* 00:00:00/);
  });

  it("the service's check command, run as the unit has it, writes metrics promtool accepts", async () => {
    // The lab's nodes (192.168.5.x) are never connected to: the local check only (test/e2e/unattended-etcd.test.ts runs --remote).
    const local = await newUnitsDir();
    const w = await kubePki(['systemd', '--units-dir', local, '--no-remote-check', ...args()]);
    expect(w.exitCode, w.stderr).toBe(0);
    const service = directives(await readFile(join(local, SERVICE), 'utf8'));
    expect(service.get('ExecStopPost')).not.toContain('--remote');
    // systemd splits the line at spaces (the paths hold none: kube-pki refuses them); "-" is systemd's prefix.
    const [node, ...argv] = service.get('ExecStopPost')!.replace(/^-/, '').split(' ');
    const r = await execa(node!, argv, { reject: false, cwd: '/' });
    expect(r.exitCode, r.stderr).toBe(0);
    const lint = await execa('promtool', ['check', 'metrics'], { input: await readFile(join(metrics, 'kube-pki.prom'), 'utf8'), reject: false });
    expect(lint.exitCode, lint.stdout + lint.stderr).toBe(0);
  });

  it('options: schedule, threshold, delay; a rerun leaves equal units; an edited unit is kept unless --force', async () => {
    const d = await newUnitsDir();
    const custom = ['--on-calendar', 'Sun *-*-* 03:00:00', '--expiring-within', '45', '--randomized-delay', '30min'];
    expect((await kubePki(['systemd', '--units-dir', d, ...args(), ...custom])).exitCode).toBe(0);
    const timer = directives(await readFile(join(d, TIMER), 'utf8'));
    expect(timer.get('OnCalendar')).toBe('Sun *-*-* 03:00:00');
    expect(timer.get('RandomizedDelaySec')).toBe('30min');
    expect(directives(await readFile(join(d, SERVICE), 'utf8')).get('ExecStart')).toContain(' renew --expiring-within 45 --distribute --restart ');
    expect((await execa('systemd-analyze', ['calendar', 'Sun *-*-* 03:00:00'], { reject: false })).exitCode).toBe(0);
    expect((await execa('systemd-analyze', ['verify', join(d, SERVICE), join(d, TIMER)], { reject: false })).exitCode).toBe(0);

    const again = await kubePki(['systemd', '--units-dir', d, ...args(), ...custom]);
    expect(again.exitCode).toBe(0);
    expect(again.stdout).toContain(`unchanged ${join(d, TIMER)}`);

    const edited = `${await readFile(join(d, SERVICE), 'utf8')}# a local edit\n`;
    await writeFile(join(d, SERVICE), edited);
    const timerBefore = await readFile(join(d, TIMER), 'utf8');
    const refused = await kubePki(['systemd', '--units-dir', d, ...args()]);
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toContain(`${join(d, SERVICE)} and ${join(d, TIMER)} exist with other contents; --force`);
    expect(await readFile(join(d, SERVICE), 'utf8')).toBe(edited);
    expect(await readFile(join(d, TIMER), 'utf8')).toBe(timerBefore);
    const forced = await kubePki(['systemd', '--units-dir', d, ...args(), '--force']);
    expect(forced.exitCode, forced.stderr).toBe(0);
    expect(directives(await readFile(join(d, TIMER), 'utf8')).get('OnCalendar')).toBe('weekly');
    expect(await readFile(join(d, SERVICE), 'utf8')).not.toContain('# a local edit');
  });

  it('bad input: exit 2 naming the option and value, nothing written', async () => {
    const spaced = join(dir, 'my pki');
    await mkdir(spaced);
    const percent = join(dir, 'pki%h');
    await mkdir(percent);
    const cases: [string[], string][] = [
      [['--out', spaced], `--out ${JSON.stringify(spaced)}: must be an absolute path of letters`],
      [['--out', percent], `--out ${JSON.stringify(percent)}: must be an absolute path of letters`],
      [['--out', join(dir, 'none')], `--out ${JSON.stringify(join(dir, 'none'))}: no such folder`],
      [['--on-calendar', 'weekly\nExecStartPre=/bin/sh'], `--on-calendar ${JSON.stringify('weekly\nExecStartPre=/bin/sh')}: is not a systemd calendar expression`],
      [['--on-calendar', 'daily;reboot'], '--on-calendar "daily;reboot"'],
      [['--randomized-delay', '1 hour'], '--randomized-delay "1 hour"'],
      [['--metrics-file', join(metrics, 'kube-pki.txt')], `--metrics-file ${JSON.stringify(join(metrics, 'kube-pki.txt'))}: node_exporter's textfile collector reads only files named *.prom`],
      [['--metrics-file', join(dir, 'none', 'k.prom')], `--metrics-file ${JSON.stringify(join(dir, 'none', 'k.prom'))}: the folder`],
      [['--config', join(dir, 'none.yaml')], `--config ${JSON.stringify(join(dir, 'none.yaml'))}: no such file`],
      [['--expiring-within', '0'], "'--expiring-within <days>' argument '0' is invalid"],
    ];
    for (const [bad, message] of cases) {
      const d = await newUnitsDir();
      const r = await kubePki(['systemd', '--units-dir', d, ...args(), ...bad]);
      expect(r.exitCode, bad.join(' ')).toBe(2);
      expect(r.stderr).toContain(message);
      expect(await readdir(d), bad.join(' ')).toEqual([]);
    }
    const noDir = await kubePki(['systemd', '--units-dir', join(dir, 'no-units'), ...args()]);
    expect(noDir.exitCode).toBe(2);
    expect(noDir.stderr).toContain(`--units-dir ${JSON.stringify(join(dir, 'no-units'))}: no such folder`);
    // Without --config and no cluster.yaml where it runs: the unit needs a description file.
    const d = await newUnitsDir();
    const noConfig = await kubePki(['systemd', '--units-dir', d, '--out', pki, '--metrics-file', join(metrics, 'k.prom')], { cwd: d });
    expect(noConfig.exitCode).toBe(2);
    expect(noConfig.stderr).toContain('--config: no cluster.yaml');
    expect(await readdir(d)).toEqual([]);
  });
});
