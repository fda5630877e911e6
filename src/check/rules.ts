import type { X509Certificate } from 'node:crypto';
import type { KeyFile } from './files.js';
import { problem, type Problem } from '../model/problem.js';

const octal = (mode: number) => `0${mode.toString(8)}`;

/** The key next to a certificate: present, readable, the certificate's own, and 0600. */
export function keyRules(cert: X509Certificate, key: KeyFile | null, expected: string): Problem[] {
  if (!key) return [problem('error', 'key-missing', `its key ${expected} is missing`)];
  const out = secretModeRules(key.file, key.mode, 'key-mode', 'a private key');
  if (key.encrypted) out.unshift(problem('note', 'key-encrypted', `${key.file} is encrypted at rest (its passphrase opens it; check does not ask for it)`));
  else if (!key.key) out.unshift(problem('error', 'key-unreadable', `${key.file} is not a readable private key`));
  else if (!cert.checkPrivateKey(key.key)) out.unshift(problem('error', 'key-mismatch', `${key.file} is not this certificate's key (its public key differs)`));
  return out;
}

/** Private keys and files that embed them: nobody but the owner may read them. */
export function secretModeRules(file: string, mode: number, code: string, what: string): Problem[] {
  if (mode & 0o077) return [problem('error', code, `${file} has mode ${octal(mode)}; ${what} must be 0600`)];
  return [];
}

export function certModeRules(file: string, mode: number): Problem[] {
  if (mode & 0o022) return [problem('warning', 'cert-mode', `${file} has mode ${octal(mode)}: others may replace it; certificates should be 0644`)];
  return [];
}
