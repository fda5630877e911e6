import { shellQuote } from '../util/shell.js';

/**
 * Remote commands go through the login shell of the remote user (`sh -c` semantics for sh, dash,
 * bash, zsh). SSH sends one string, so every argument is quoted here, word by word, by the same
 * rule as every other shell line kube-pki writes (src/util/shell.ts).
 */
export function quoteWord(word: string): string {
  // A control character cannot be passed safely to every shell (csh, line-based logging): refuse it.
  if (/[\u0000-\u001f\u007f]/.test(word)) throw new Error(`cannot pass ${JSON.stringify(word)} to a remote shell: it holds a control character`);
  return shellQuote(word);
}

/** One remote command line from an argv array: what `ssh host -- argv…` would mean. */
export function commandLine(argv: readonly string[]): string {
  if (argv.length === 0) throw new Error('empty command');
  return argv.map(quoteWord).join(' ');
}
