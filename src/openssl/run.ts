import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { caConfig, CA_CONFIG_FILE, CA_INDEX } from './commands.js';
import { EXIT, UserError } from '../errors.js';
import { spawnOpenssl, type OpensslResult } from './spawn.js';

export const MIN_OPENSSL = [3, 0] as const;

/** openssl's messages, in the step's own temporary folder (a name no PKI file has). */
const STDERR_FILE = '.openssl-stderr';

/**
 * Runs openssl with an argument array (never a shell string) in `cwd`, a private temporary folder;
 * throws with openssl's own words on failure. `retries`: how many times a failed run is tried again.
 */
export async function runOpenssl(args: string[], cwd: string, { retries = 0, engineConf }: { retries?: number; engineConf?: string } = {}): Promise<void> {
  // `openssl ca`: its configuration and (empty) index in the step's own folder, its working directory.
  if (args[0] === 'ca') {
    writeFileSync(join(cwd, CA_CONFIG_FILE), caConfig('.'), { mode: 0o600 });
    writeFileSync(join(cwd, CA_INDEX), '', { mode: 0o600 });
  }
  const result = await spawnOpenssl(args, cwd, { stderrFile: join(cwd, STDERR_FILE), ...(engineConf !== undefined ? { engineConf } : {}) });
  if (result.missing) throw opensslMissing();
  if (result.exitCode === 0) return;
  if (retries > 0) return runOpenssl(args, cwd, { retries: retries - 1, ...(engineConf !== undefined ? { engineConf } : {}) });
  throw new Error(`openssl ${args[0]} failed (${howItEnded(result)}): ${firstLines(result.stderr)}`);
}

// openssl's stderr names files and reasons, never key material.
const firstLines = (stderr: string) => stderr.split('\n').filter(Boolean).slice(0, 4).join(' | ');
const howItEnded = (r: OpensslResult) => (r.signal ? `killed by ${r.signal}` : `exit ${r.exitCode ?? '?'}`);

const opensslMissing = () =>
  new UserError('openssl was not found on PATH: install it (Debian/Ubuntu: apt-get install openssl)', EXIT.failed);

/** Checks that openssl exists and is 3.0 or newer (random serials, SKI/AKI by default, genpkey options). */
export async function checkOpenssl(): Promise<string> {
  const result = await spawnOpenssl(['version'], process.cwd(), { captureStdout: true });
  if (result.missing) throw opensslMissing();
  if (result.exitCode !== 0) throw new UserError(`openssl version failed (${howItEnded(result)}): ${firstLines(result.stderr)}`, EXIT.failed);
  const stdout = result.stdout;
  const m = /^OpenSSL (\d+)\.(\d+)\.(\d+)/.exec(stdout);
  if (!m) throw new UserError(`unsupported openssl: ${JSON.stringify(stdout.trim())}; kube-pki needs OpenSSL ${MIN_OPENSSL.join('.')} or newer`, EXIT.failed);
  const [major, minor] = [Number(m[1]), Number(m[2])];
  if (major < MIN_OPENSSL[0] || (major === MIN_OPENSSL[0] && minor < MIN_OPENSSL[1]))
    throw new UserError(`${m[0]} is too old; kube-pki needs OpenSSL ${MIN_OPENSSL.join('.')} or newer`, EXIT.failed);
  return stdout.trim();
}
