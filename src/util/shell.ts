// The one quoting rule for every shell line kube-pki writes: the bash script (`kube-pki script`),
// the commands it prints (gen --dry-run, explain, csr, kubectl-commands) and the remote commands of
// distribute, which go through the login shell of the remote user (sh, dash, bash, zsh).

/**
 * Characters no shell reads anything into. `=` only after the first character: a leading `=` is
 * zsh's =cmd expansion.
 */
const BARE = /^[A-Za-z0-9_./:,+@%-][A-Za-z0-9_./:,+@%=-]*$/;
/** NAME=… as a command's first word is an assignment, not a command: always quoted. */
const ASSIGNMENT = /^[A-Za-z_][A-Za-z0-9_]*=/;

/** Quotes one word for a POSIX shell: bare when plainly safe, else single-quoted with each ' written as '\''. */
export function shellQuote(word: string): string {
  if (BARE.test(word) && !ASSIGNMENT.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}
