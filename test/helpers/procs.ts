import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { execa } from 'execa';

/** One long-running program of a test (etcd, kube-apiserver, haproxy…), its output in a log file. */
export interface Proc {
  name: string;
  child: ChildProcess;
  log: string;
  exited: Promise<number | null>;
}

/**
 * Processes of one test file, by name: started with argument arrays, stopped by PID (SIGTERM, then
 * SIGKILL after a grace period) in afterAll, also when a test failed.
 */
export class ProcSet {
  private readonly procs = new Map<string, Proc>();

  start(name: string, file: string, args: string[], log: string, env: Record<string, string> = {}): Proc {
    if (this.procs.has(name)) throw new Error(`${name} is running already`);
    const fd = openSync(log, 'a');
    const child = spawn(file, args, { stdio: ['ignore', fd, fd], env: { ...process.env, ...env } });
    closeSync(fd);
    const exited = new Promise<number | null>((resolve) => {
      child.on('exit', (code) => resolve(code));
      child.on('error', () => resolve(-1));
    });
    const proc = { name, child, log, exited };
    this.procs.set(name, proc);
    return proc;
  }

  has(name: string): boolean {
    return this.procs.has(name);
  }

  get(name: string): Proc {
    const p = this.procs.get(name);
    if (!p) throw new Error(`${name} is not running`);
    return p;
  }

  async stop(name: string, graceMs = 15_000): Promise<void> {
    const p = this.procs.get(name);
    if (!p) return;
    this.procs.delete(name);
    if (p.child.exitCode !== null || p.child.signalCode !== null) return;
    p.child.kill('SIGTERM');
    const timer = setTimeout(() => p.child.kill('SIGKILL'), graceMs);
    await p.exited;
    clearTimeout(timer);
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.procs.keys()].map((n) => this.stop(n, 5_000)));
  }

  /** The end of a process's log, for a failure message. */
  async tail(name: string, lines = 30): Promise<string> {
    const p = this.procs.get(name);
    if (!p) return `${name}: not running`;
    const text = await readFile(p.log, 'utf8').catch(() => '');
    return `--- ${p.log}\n${text.trimEnd().split('\n').slice(-lines).join('\n')}`;
  }
}

/** Unmounts what a program (the kubelet) mounted below a test's folder, deepest first, so it can be removed. */
export async function unmountBelow(dir: string): Promise<void> {
  const mounts = (await readFile('/proc/self/mounts', 'utf8'))
    .split('\n')
    .map((line) => line.split(' ')[1]?.replace(/\\040/g, ' '))
    .filter((m): m is string => Boolean(m?.startsWith(`${dir}/`)));
  for (const m of mounts.sort((a, b) => b.length - a.length)) await execa('umount', ['-l', m], { reject: false });
}
