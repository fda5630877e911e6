import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';
import { EXIT, UserError } from '../errors.js';
import type { TokenKeySpec } from '../model/cluster.js';
import { readPinFile, type TokenAccess } from '../exec/token.js';
import { parsePkcs11Uri, tokenUri } from '../util/pkcs11-uri.js';

// The root key is made inside the token (C_GenerateKeyPair), by GnuTLS's p11tool: sensitive, private,
// never extractable. Its PIN goes to p11tool on stdin: p11tool runs in a session of its own (no
// controlling terminal), where its PIN prompt reads stdin. Not pkcs11-tool: it takes the PIN only as
// an argument (or from an environment variable), and reads a prompt only from a terminal.

const MISSING =
  'p11tool was not found on PATH: it makes the root key inside the token (Debian/Ubuntu: apt-get install gnutls-bin); or make the key with the token\'s own tools and run kube-pki root init --use-existing-key';

/** Before anything is made (a dry run too): p11tool must be there to make the key. */
export function assertP11tool(): void {
  const found = (process.env.PATH ?? '').split(delimiter).some((dir) => {
    if (!dir || !isAbsolute(dir)) return false;
    try {
      accessSync(join(dir, 'p11tool'), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
  if (!found) throw new UserError(`${MISSING}; nothing was written`, EXIT.badInput);
}

/** p11tool's words for the key. */
const keyArgs = (key: TokenKeySpec): string[] =>
  key.algorithm === 'rsa' ? ['--generate-privkey=RSA', `--bits=${key.size}`] : ['--generate-privkey=ECDSA', `--curve=${key.curve === 'P-256' ? 'secp256r1' : 'secp384r1'}`];

/** Makes the key pair the URI names (label from object=, CKA_ID from id=) in the token; throws with p11tool's words. */
export async function generateInToken(access: TokenAccess, key: TokenKeySpec): Promise<void> {
  const uri = parsePkcs11Uri(access.uri);
  const args = [
    `--provider=${access.module}`,
    '--login',
    ...keyArgs(key),
    ...(uri.object !== undefined ? [`--label=${uri.object}`] : []),
    ...(uri.idHex !== undefined ? [`--id=${uri.idHex}`] : []),
    '--mark-sign',
    '--mark-private',
    tokenUri(uri),
  ];
  // A PIN in GnuTLS's own variables would be used instead of (and next to) ours: never passed on.
  const env = { ...process.env };
  delete env.GNUTLS_PIN;
  delete env.GNUTLS_SO_PIN;
  const { pin } = await readPinFile(access.pinFile);
  const result = await new Promise<{ code: number | null; stderr: string; missing: boolean }>((resolve) => {
    const child = spawn('p11tool', args, { env, detached: true, stdio: ['pipe', 'ignore', 'pipe'] });
    const stderr: Buffer[] = [];
    child.stderr.on('data', (c: Buffer) => stderr.push(c));
    child.stdin.on('error', () => undefined);
    child.stdin.end(`${pin}\n`);
    child.on('error', (err: NodeJS.ErrnoException) => resolve({ code: null, stderr: err.message, missing: err.code === 'ENOENT' }));
    child.on('close', (code) => resolve({ code, stderr: Buffer.concat(stderr).toString('utf8'), missing: false }));
  });
  if (result.missing)
    throw new UserError(MISSING, EXIT.badInput);
  if (result.code !== 0) {
    // p11tool's messages name the token and the failure, never the PIN (it was on stdin).
    const said = result.stderr.split('\n').filter((l) => l.trim() && !/^(Enter PIN|warning: no --outfile)/.test(l.trim())).slice(-3).join(' | ');
    throw new UserError(`p11tool could not make the ${key.algorithm === 'rsa' ? `RSA ${key.size}` : `ECDSA ${key.curve}`} key in the token (does it support this kind? set rootCA.pkcs11.key, or make the key with the token's own tools and use --use-existing-key): ${said}`, EXIT.failed);
  }
}
