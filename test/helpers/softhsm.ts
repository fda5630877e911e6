import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { expect } from 'vitest';

// A real PKCS#11 token for tests: SoftHSM2 with a token folder of the test's own (SOFTHSM2_CONF names
// its configuration; that variable is no secret). The test's own setup and inspection (softhsm2-util,
// pkcs11-tool) take the PIN as an argument; the runs of kube-pki under test never do.

export const SOFTHSM2_MODULE = '/usr/lib/softhsm/libsofthsm2.so';
export const SO_PIN = '87654321';

export interface TestToken {
  /** The environment every process that opens the token needs. */
  env: { SOFTHSM2_CONF: string };
  label: string;
  pin: string;
  /** The PIN file kube-pki reads (first line). */
  pinFile: string;
}

/** A SoftHSM2 token (initialised, user PIN set) in its own folder below `dir`. */
export async function makeToken(dir: string, label: string, pin: string): Promise<TestToken> {
  const base = join(dir, `softhsm-${label}`);
  await mkdir(join(base, 'tokens'), { recursive: true, mode: 0o700 });
  const conf = join(base, 'softhsm2.conf');
  await writeFile(conf, `directories.tokendir = ${join(base, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`);
  const env = { SOFTHSM2_CONF: conf };
  const r = await execa('softhsm2-util', ['--init-token', '--free', '--label', label, '--so-pin', SO_PIN, '--pin', pin], { env, reject: false, stdin: 'ignore', all: true });
  expect(r.exitCode, r.all).toBe(0);
  const pinFile = join(base, 'user.pin');
  await writeFile(pinFile, `${pin}\n`, { mode: 0o600 });
  return { env, label, pin, pinFile };
}

export interface TokenObject {
  kind: string;
  label: string;
  lines: string[];
}

/** `pkcs11-tool --list-objects` after a log-in: every object with its attribute lines. */
export async function listObjects(token: TestToken): Promise<TokenObject[]> {
  const r = await execa('pkcs11-tool', ['--module', SOFTHSM2_MODULE, '--token-label', token.label, '--login', '--pin', token.pin, '--list-objects'], {
    env: token.env,
    reject: false,
    stdin: 'ignore',
    all: true,
  });
  expect(r.exitCode, r.all).toBe(0);
  const objects: TokenObject[] = [];
  for (const line of r.stdout.split('\n')) {
    if (/^\S/.test(line)) objects.push({ kind: line.trim(), label: '', lines: [] });
    else if (objects.length) {
      const o = objects[objects.length - 1]!;
      o.lines.push(line.trim());
      const m = /^label:\s+(.*)$/.exec(line.trim());
      if (m) o.label = m[1]!;
    }
  }
  return objects;
}

/**
 * Makes a key pair in the token with pkcs11-tool, as a token's own tools would (for --use-existing-key),
 * with a CKA_ID of its own as a PIV slot's key has: without one, libp11 may pair the private key with
 * another key's public half.
 */
export async function makeKeyWithTokenTools(token: TestToken, label: string, keyType: string): Promise<void> {
  const id = Buffer.from(label).toString('hex');
  const r = await execa(
    'pkcs11-tool',
    ['--module', SOFTHSM2_MODULE, '--token-label', token.label, '--login', '--pin', token.pin, '--keypairgen', '--key-type', keyType, '--label', label, '--id', id, '--usage-sign', '--sensitive', '--private'],
    { env: token.env, reject: false, stdin: 'ignore', all: true },
  );
  expect(r.exitCode, r.all).toBe(0);
}
