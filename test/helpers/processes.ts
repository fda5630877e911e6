import { execa, type ResultPromise } from 'execa';

/** Child processes started by a test (etcd, sshd…), stopped by PID at the end. */
export class Processes {
  private readonly children: ResultPromise[] = [];

  start(file: string, args: string[], options: { cwd?: string } = {}): ResultPromise {
    const child = execa(file, args, { reject: false, stdin: 'ignore', all: true, buffer: true, ...options });
    this.children.push(child);
    return child;
  }

  async stopAll(): Promise<void> {
    for (const child of this.children) child.kill('SIGTERM');
    await Promise.all(this.children.map((c) => c.catch(() => undefined)));
    this.children.length = 0;
  }
}

/** Polls `probe` until it returns true or the time is up. */
export async function waitFor(probe: () => Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
