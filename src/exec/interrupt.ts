/**
 * Ctrl-C (SIGINT), SIGTERM or SIGHUP while kube-pki works in a folder under its lock: says what was
 * interrupted and what the next run does about it, releases what is safe to release (what each
 * holder's `stop` does: the lock, half-made files, running openssl processes), then lets the signal
 * end the process as it would have.
 */
export interface Interruptible {
  /** What was under way, e.g. "kube-pki gen in /x/pki". */
  what: string;
  /** Synchronous: releases what can be released now; returns what the user should know. */
  stop(): string[];
}

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
const holders = new Set<Interruptible>();

function onSignal(signal: NodeJS.Signals): void {
  for (const s of SIGNALS) process.removeListener(s, onSignal);
  const lines: string[] = [];
  for (const h of holders) {
    let told: string[];
    try {
      told = h.stop();
    } catch (err) {
      told = [`could not release everything: ${(err as Error).message}`];
    }
    lines.push(`interrupted by ${signal}: ${h.what}`, ...told.map((t) => `  ${t}`));
  }
  holders.clear();
  // The progress view (listr2) hides the cursor on a terminal and would show it again on its own way out.
  if (process.stderr.isTTY) process.stderr.write('\u001b[?25h');
  if (lines.length) process.stderr.write(`\nkube-pki: ${lines.join('\nkube-pki: ')}\nkube-pki: run the same command again: it completes what was begun\n`);
  // Ended by the signal now, synchronously: with no listener left it takes its default action inside
  // kill(), before anything else of this run (a callback of a stopped openssl) can run on.
  process.removeAllListeners(signal);
  process.kill(process.pid, signal);
}

/** Registers a holder until the returned function is called (the work ended on its own). */
export function interruptible(holder: Interruptible): () => void {
  if (holders.size === 0) for (const s of SIGNALS) process.on(s, onSignal);
  holders.add(holder);
  return () => {
    holders.delete(holder);
    if (holders.size === 0) for (const s of SIGNALS) process.removeListener(s, onSignal);
  };
}
