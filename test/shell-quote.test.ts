import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { quoteWord } from '../src/ssh/quote.js';
import { shellQuote } from '../src/util/shell.js';

// One quoting rule (src/util/shell.ts) for the bash script, the printed commands and the remote
// commands: every word must reach the program as it was, in every shell a node may log in with.

const SHELLS = ['sh', 'dash', 'bash'];

const TRICKY = [
  "it's", "'", "''", '"', '"q"', '\\', '\\n', 'a b', 'a\tb', 'line\nbreak', '', ' ', '-', '--', '-n', '-e',
  '$HOME', '${IFS}', '$((1+1))', '$(touch /tmp/kube-pki-quote-test)', '`id`', '*', '?', '[ab]', 'a*', '~', '~/x', '~root',
  '=x', 'a=b', 'FOO=bar', '--server=https://10.0.0.1:6443', '/CN=admin/O=system:masters', 'DNS:kubernetes,IP:10.96.0.1',
  'user@host', '100%', '%s', 'a,b', 'x+y', '{a,b}', '{}', ';', 'a;b', '&&', 'a&b', '|', 'a|b', '>', 'a<b', '(x)', '!', '!!', '#', 'x#y',
  '^', 'é', 'ключ', '鍵',
];

describe('shell quoting: one function, one rule', () => {
  it.each(SHELLS)('passes every word through %s unchanged', async (shell) => {
    const { stdout } = await execa(shell, ['-c', ['printf', '%s\\0', ...TRICKY].map(shellQuote).join(' ')], { stripFinalNewline: false });
    expect(stdout.split('\0').slice(0, -1)).toEqual(TRICKY);
  });

  it.each(SHELLS)('keeps an assignment-looking first word a command in %s', async (shell) => {
    // Quoted, FOO=bar is a command name (not found), never an assignment that sets FOO.
    const { stdout } = await execa(shell, ['-c', `${shellQuote('FOO=bar')} 2>/dev/null; printf '[%s]' "$FOO"`], { reject: false });
    expect(stdout).toBe('[]');
  });

  it('leaves the words of the lab script bare and quotes the rest', () => {
    for (const word of ['openssl', '-subj', '/CN=system:node:worker-1/O=system:nodes', 'ca.crt', 'backup/ca.key', '0x1f', 'user@10.0.0.1', '100%'])
      expect(shellQuote(word)).toBe(word);
    expect(shellQuote('=x')).toBe("'=x'");
    expect(shellQuote('FOO=bar')).toBe("'FOO=bar'");
    expect(shellQuote('~')).toBe("'~'");
    expect(shellQuote('')).toBe("''");
  });

  it('quotes remote words by the same rule (plus: no control characters)', () => {
    for (const word of TRICKY.filter((w) => !/[\u0000-\u001f\u007f]/.test(w))) expect(quoteWord(word)).toBe(shellQuote(word));
    expect(() => quoteWord('line\nbreak')).toThrow(/control character/);
  });
});
