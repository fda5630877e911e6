import { X509Certificate, createPublicKey } from 'node:crypto';
import { open } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { EXIT, UserError } from '../errors.js';
import { readIfExists } from '../inspect/disk.js';
import { isEncryptedKey } from '../inspect/x509.js';
import type { Instances } from '../model/instances.js';
import { usesPassphrase, type Plan } from '../model/steps.js';

// The root CA key's passphrase lives in a file the user names; openssl reads it from there
// (-passin/-passout file:). kube-pki only checks the file is usable: the passphrase is never read
// into an argument, an environment variable, a log line, an error or --json.

export const PASSPHRASE_OPTION = '--ca-passphrase-file';
export const PASSPHRASE_ENV = 'KUBE_PKI_CA_PASSPHRASE_FILE';

/** Where the passphrase file was named, for messages. */
export interface PassphraseFile {
  path: string;
  named: string;
}

/**
 * --ca-passphrase-file FILE, else $KUBE_PKI_CA_PASSPHRASE_FILE: an absolute path to a readable file
 * whose first line (what openssl reads) is not empty. Exit 2 otherwise; undefined when neither is set.
 */
export async function passphraseFile(option: string | undefined, env: NodeJS.ProcessEnv = process.env): Promise<PassphraseFile | undefined> {
  const given = option ?? (env[PASSPHRASE_ENV] || undefined);
  if (given === undefined) return undefined;
  const named = option !== undefined ? `${PASSPHRASE_OPTION} ${JSON.stringify(option)}` : `${PASSPHRASE_ENV}=${JSON.stringify(given)}`;
  const path = resolve(given);
  let firstLine: string;
  let mode: number;
  try {
    const handle = await open(path, 'r');
    try {
      const st = await handle.stat();
      if (!st.isFile()) throw Object.assign(new Error('not a file'), { code: 'EISDIR' });
      mode = st.mode & 0o777;
      // Only the first line matters to openssl; read no more than needed to see it.
      const buf = Buffer.alloc(4096);
      const { bytesRead } = await handle.read(buf, 0, buf.length, 0);
      firstLine = buf.subarray(0, bytesRead).toString('utf8').split('\n')[0] ?? '';
      buf.fill(0);
    } finally {
      await handle.close();
    }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UserError(`${named}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is not a file' : `cannot be read (${code ?? 'error'})`}`, EXIT.badInput);
  }
  if (firstLine.replace(/\r$/, '').length === 0) throw new UserError(`${named}: the file is empty (its first line must hold the root CA key passphrase)`, EXIT.badInput);
  for (const w of passphraseFileWarnings(firstLine, mode, path)) process.stderr.write(`warning: ${named}: ${w}\n`);
  return { path, named };
}

/** What is risky about a usable passphrase file: said, not refused (the key may have been made with it as it is). */
function passphraseFileWarnings(firstLine: string, mode: number, path: string): string[] {
  const warnings: string[] = [];
  // openssl's file: drops the "\n" only: a Windows line ending leaves "\r" as the passphrase's last character.
  if (firstLine.endsWith('\r'))
    warnings.push('its first line ends with a carriage return (CRLF, a Windows line ending): openssl keeps it as part of the passphrase, which another tool will not; convert it (dos2unix) unless the key was encrypted with this very file');
  if (mode & 0o077) warnings.push(`the file is readable or writable by others (mode ${mode.toString(8)}): anyone who reads it can open the root CA key; run chmod 600 ${path}`);
  return warnings;
}

/**
 * Before anything is written: a plan that signs with (or makes) the encrypted root key needs the
 * passphrase file, and the file must open the root key on disk (`openssl pkey -passin file:`) and
 * give the root certificate's public key. Exit 2 otherwise, naming the option.
 */
export async function assertPassphrase(plan: Plan, instances: Instances, outDir: string, file: PassphraseFile | undefined): Promise<void> {
  const root = instances.root;
  const users = plan.items.filter((i) => [...i.keySteps, ...i.steps].some(usesPassphrase)).map((i) => i.name);
  if (users.length && !file)
    throw new UserError(
      `${users.join(', ')} need the encrypted root CA key: give ${PASSPHRASE_OPTION} FILE (or ${PASSPHRASE_ENV}=FILE), ` +
        'the file that holds its passphrase; nothing was written',
      EXIT.badInput,
    );
  if (!root || !file) return;
  const keyPem = await readIfExists(join(outDir, root.keyPath));
  if (!keyPem || !isEncryptedKey(keyPem)) return;
  // Loaded here, not at start: only a run under an encrypted root gets this far (execa costs ~55 ms to load).
  const { execa } = await import('execa');
  const r = await execa('openssl', ['pkey', '-in', join(outDir, root.keyPath), '-passin', `file:${file.path}`, '-pubout'], { reject: false, stdin: 'ignore', env: { SSL_CERT_FILE: '/dev/null' } });
  const cannot = `cannot decrypt ${root.keyPath} with the passphrase in ${file.named}; nothing was written`;
  if (r.exitCode !== 0) throw new UserError(cannot, EXIT.badInput);
  const certPem = await readIfExists(join(outDir, root.certPath));
  if (!certPem) return;
  const der = (pem: string | Buffer) => createPublicKey(pem).export({ type: 'spki', format: 'der' });
  let same = false;
  try {
    same = der(String(r.stdout)).equals(new X509Certificate(certPem).publicKey.export({ type: 'spki', format: 'der' }));
  } catch {
    /* an unreadable certificate is the planner's problem */
    return;
  }
  if (!same) throw new UserError(`${root.keyPath} is not the key of ${root.certPath}: the root would sign intermediates that do not verify; nothing was written`, EXIT.badInput);
}
