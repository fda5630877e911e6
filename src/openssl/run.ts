import { execa } from 'execa';
import { EXIT, UserError } from '../errors.js';

export const MIN_OPENSSL = [3, 0] as const;

/**
 * `openssl x509` loads the system trust store (SSL_CERT_FILE, ~140 certificates) at start although
 * signing never consults it: ~25 ms of CPU per certificate. Pointing it at an empty file skips that.
 */
const NO_TRUST_STORE = { SSL_CERT_FILE: '/dev/null' };

/**
 * Runs openssl with an argument array (never a shell string); throws with openssl's own words on failure.
 * `retries`: how many times a failed run is tried again before it is reported.
 */
export async function runOpenssl(args: string[], cwd: string, { retries = 0 } = {}): Promise<void> {
  // Every output goes to a file (-out): stdout is not even read, which makes each spawn cheaper.
  const result = await execa('openssl', args, { cwd, env: NO_TRUST_STORE, reject: false, stdin: 'ignore', stdout: 'ignore' });
  if (result.failed) {
    if ((result as { code?: string }).code !== 'ENOENT' && retries > 0) return runOpenssl(args, cwd, { retries: retries - 1 });
    if ((result as { code?: string }).code === 'ENOENT') throw opensslMissing();
    // openssl's stderr names files and reasons, never key material.
    const detail = String(result.stderr || result.message || '').split('\n').slice(0, 4).join(' | ');
    throw new Error(`openssl ${args[0]} failed (exit ${result.exitCode ?? '?'}): ${detail}`);
  }
}

const opensslMissing = () =>
  new UserError('openssl was not found on PATH: install it (Debian/Ubuntu: apt-get install openssl)', EXIT.failed);

/** Checks that openssl exists and is 3.0 or newer (random serials, SKI/AKI by default, genpkey options). */
export async function checkOpenssl(): Promise<string> {
  let stdout: string;
  try {
    ({ stdout } = await execa('openssl', ['version'], { stdin: 'ignore' }));
  } catch (err) {
    if ((err as { code?: string }).code === 'ENOENT') throw opensslMissing();
    throw new UserError(`openssl version failed: ${(err as Error).message}`, EXIT.failed);
  }
  const m = /^OpenSSL (\d+)\.(\d+)\.(\d+)/.exec(stdout);
  if (!m) throw new UserError(`unsupported openssl: ${JSON.stringify(stdout.trim())}; kube-pki needs OpenSSL ${MIN_OPENSSL.join('.')} or newer`, EXIT.failed);
  const [major, minor] = [Number(m[1]), Number(m[2])];
  if (major < MIN_OPENSSL[0] || (major === MIN_OPENSSL[0] && minor < MIN_OPENSSL[1]))
    throw new UserError(`${m[0]} is too old; kube-pki needs OpenSSL ${MIN_OPENSSL.join('.')} or newer`, EXIT.failed);
  return stdout.trim();
}
