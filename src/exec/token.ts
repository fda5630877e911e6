import { X509Certificate, createPublicKey, type KeyObject } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { EXIT, UserError } from '../errors.js';
import { readIfExists } from '../inspect/disk.js';
import type { Pkcs11Settings, TokenKeySpec } from '../model/cluster.js';
import type { Instances } from '../model/instances.js';
import { usesToken, type Plan } from '../model/steps.js';
import { PKCS11_ENGINE } from '../openssl/commands.js';
import { spawnOpenssl } from '../openssl/spawn.js';
import { spkiKind } from '../util/spki.js';

// The root CA key in a PKCS#11 token (rootCA.pkcs11, docs/pkcs11.md). Its PIN is the first line of a
// file the user names; kube-pki reads it only to hand it to openssl's pkcs11 engine through a pipe
// (OPENSSL_CONF=/dev/fd/3): never in an argument, an environment variable, a file of its own, a log,
// an error or --json.

export const PIN_OPTION = '--ca-pin-file';
export const PIN_ENV = 'KUBE_PKI_CA_PIN_FILE';

/** Where SoftHSM2's module is on Debian, Ubuntu, Fedora and Homebrew: the default only when it exists. */
export const SOFTHSM2_MODULES = [
  '/usr/lib/softhsm/libsofthsm2.so',
  '/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so',
  '/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so',
  '/usr/lib64/pkcs11/libsofthsm2.so',
  '/usr/local/lib/softhsm/libsofthsm2.so',
  '/opt/homebrew/lib/softhsm/libsofthsm2.so',
];

/** The PIN file as the user named it, for messages. */
export interface PinFile {
  path: string;
  named: string;
}

/** What openssl needs to sign with the key in the token: never the PIN itself, only its file. */
export interface TokenAccess {
  module: string;
  uri: string;
  pinFile: string;
}

/**
 * --ca-pin-file FILE, else $KUBE_PKI_CA_PIN_FILE: a readable file whose first line (the PIN) is not
 * empty. Exit 2 otherwise; undefined when neither is set.
 */
export async function pinFile(option: string | undefined, env: NodeJS.ProcessEnv = process.env): Promise<PinFile | undefined> {
  const given = option ?? (env[PIN_ENV] || undefined);
  if (given === undefined) return undefined;
  const named = option !== undefined ? `${PIN_OPTION} ${JSON.stringify(option)}` : `${PIN_ENV}=${JSON.stringify(given)}`;
  const path = resolve(given);
  let pin: string;
  let mode: number;
  try {
    ({ pin, mode } = await readPinFile(path));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UserError(`${named}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is not a file' : `cannot be read (${code ?? 'error'})`}`, EXIT.badInput);
  }
  if (pin.length === 0) throw new UserError(`${named}: the file is empty (its first line must hold the token's user PIN)`, EXIT.badInput);
  if (mode & 0o077) process.stderr.write(`warning: ${named}: the file is readable or writable by others (mode ${mode.toString(8)}): anyone who reads it can sign with the root CA key while the token is attached; run chmod 600 ${path}\n`);
  return { path, named };
}

/** The first line of the PIN file (a Windows line ending dropped), read when openssl needs it. */
export async function readPinFile(path: string): Promise<{ pin: string; mode: number }> {
  const handle = await open(path, 'r');
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw Object.assign(new Error('not a file'), { code: 'EISDIR' });
    const buf = Buffer.alloc(4096);
    const { bytesRead } = await handle.read(buf, 0, buf.length, 0);
    const pin = (buf.subarray(0, bytesRead).toString('utf8').split('\n')[0] ?? '').replace(/\r$/, '');
    buf.fill(0);
    return { pin, mode: st.mode & 0o777 };
  } finally {
    await handle.close();
  }
}

/** rootCA.pkcs11.module, else SoftHSM2's where it is installed; exit 2 naming the field otherwise. */
export function tokenModule(settings: Pkcs11Settings): string {
  if (settings.module !== undefined) {
    let file = false;
    try {
      file = statSync(settings.module).isFile();
    } catch {
      /* reported below */
    }
    if (!file) throw new UserError(`rootCA.pkcs11.module: ${JSON.stringify(settings.module)}: no such file; name the token's PKCS#11 module (docs/pkcs11.md lists the usual paths)`, EXIT.badInput);
    return settings.module;
  }
  const found = SOFTHSM2_MODULES.find((m) => existsSync(m));
  if (!found)
    throw new UserError(
      'rootCA.pkcs11.module is not given and no SoftHSM2 module was found: name the token\'s PKCS#11 module (YubiKey: libykcs11.so or opensc-pkcs11.so; docs/pkcs11.md)',
      EXIT.badInput,
    );
  return found;
}

/** The module a script names by default: the description's, else SoftHSM2's where installed (the script may run elsewhere). */
export const scriptModule = (settings: Pkcs11Settings): string | undefined => settings.module ?? SOFTHSM2_MODULES.find((m) => existsSync(m));

/** One value of an openssl.cnf line, quoted: the characters openssl's parser treats specially escaped. */
const cnfValue = (v: string) => `"${v.replace(/[\\"$#]/g, (ch) => `\\${ch}`)}"`;

/** The configuration openssl reads on descriptor 3: its pkcs11 engine, the module, the PIN. */
export function engineConfig(module: string, pin: string): string {
  return [
    'openssl_conf = openssl_init',
    '[openssl_init]',
    'engines = engine_section',
    '[engine_section]',
    `${PKCS11_ENGINE} = pkcs11_section`,
    '[pkcs11_section]',
    `engine_id = ${PKCS11_ENGINE}`,
    `MODULE_PATH = ${cnfValue(module)}`,
    `PIN = ${cnfValue(pin)}`,
    'init = 0',
    '',
  ].join('\n');
}

/** The engine configuration for one openssl process, the PIN read from its file just now. */
export async function engineConfigFor(access: TokenAccess): Promise<string> {
  return engineConfig(access.module, (await readPinFile(access.pinFile)).pin);
}

/** Why the engine could not open the key, in words that say what to fix. */
export type TokenFailure = 'engine' | 'module' | 'token' | 'pin' | 'object' | 'other';

/** What openssl's pkcs11 engine said, sorted (libp11 0.4's messages). */
export function tokenFailure(stderr: string): TokenFailure {
  if (/invalid engine "?pkcs11|could not load the shared library/i.test(stderr)) return 'engine';
  if (/Unable to load (PKCS#11 )?module|cannot open shared object/i.test(stderr)) return 'module';
  if (/PIN (incorrect|len range|locked|invalid)|CKR_PIN/i.test(stderr)) return 'pin';
  if (/No matching initialized token|No tokens? (found|available)|token not present/i.test(stderr)) return 'token';
  if (/object not found|private key was not found/i.test(stderr)) return 'object';
  return 'other';
}

export function tokenFailureMessage(failure: TokenFailure, access: TokenAccess, pin: PinFile): string {
  switch (failure) {
    case 'engine':
      return `openssl has no pkcs11 engine: install it (Debian/Ubuntu: apt-get install libengine-pkcs11-openssl)`;
    case 'module':
      return `rootCA.pkcs11.module ${access.module}: the PKCS#11 module could not be loaded (not a module for this machine?)`;
    case 'token':
      return `no token matches ${access.uri} through ${access.module}: plug the token in (or start its daemon: pcscd for a YubiKey), or correct token=… in rootCA.pkcs11.uri`;
    case 'pin':
      return `the token refused the PIN in ${pin.named}: correct the file (its first line is the user PIN); a token locks itself after a few wrong PINs, so check before trying again`;
    case 'object':
      return `the token has no private key ${access.uri}: correct object=… (or id=…) in rootCA.pkcs11.uri, or make it with kube-pki root init`;
    case 'other':
      return `openssl could not open the root CA key ${access.uri} through ${access.module}`;
  }
}

/**
 * Opens the key through the engine as a signature would (log in with the PIN, find the object) and
 * returns its public key; a failure sorted, never thrown.
 */
export async function tokenPublicKey(access: TokenAccess): Promise<{ key: KeyObject } | { failure: TokenFailure; stderr: string }> {
  const r = await spawnOpenssl(['pkey', '-engine', PKCS11_ENGINE, '-inform', 'engine', '-in', access.uri, '-pubout'], '/', {
    captureStdout: true,
    engineConf: await engineConfigFor(access),
  });
  if (r.missing) throw new UserError('openssl was not found on PATH: install it (Debian/Ubuntu: apt-get install openssl)', EXIT.failed);
  if (r.exitCode === 0 && r.stdout.includes('BEGIN PUBLIC KEY')) return { key: createPublicKey(r.stdout) };
  // libp11 0.4 may crash while unloading after a failed login: the words it printed first still say why.
  return { failure: tokenFailure(r.stderr), stderr: r.stderr };
}

const der = (k: KeyObject) => k.export({ type: 'spki', format: 'der' });

/** What kind of key it is, in the description's words; null when the token holds a kind kube-pki does not use. */
export function keyKind(key: KeyObject): TokenKeySpec | null {
  const k = spkiKind(der(key));
  if (k?.algorithm === 'rsa' && (k.bits === 3072 || k.bits === 4096)) return { algorithm: 'rsa', size: k.bits };
  if (k?.algorithm === 'ec' && k.pointFits && (k.curve === 'P-256' || k.curve === 'P-384')) return { algorithm: 'ecdsa', curve: k.curve };
  return null;
}

export const keyKindText = (k: TokenKeySpec) => (k.algorithm === 'rsa' ? `RSA ${k.size}` : `ECDSA ${k.curve}`);

function describeKey(key: KeyObject): string {
  const kind = keyKind(key);
  if (kind) return keyKindText(kind);
  const k = spkiKind(der(key));
  if (k?.algorithm === 'rsa') return `RSA ${k.bits}`;
  if (k?.algorithm === 'ec' && !k.pointFits && (k.curve === 'P-256' || k.curve === 'P-384'))
    return `ECDSA ${k.curve} with a public point that is not on its curve (the token gave the private key another key's public half: give each key pair its own CKA_ID, e.g. pkcs11-tool --id)`;
  return k?.algorithm === 'ec' ? `ECDSA ${k.curve}` : (key.asymmetricKeyType ?? 'a key of an unknown kind');
}

/** Exit 2 when the key is not of the kind rootCA.pkcs11.key names (a key made by the token's own tools, or the wrong object). */
export function assertKeyKind(key: KeyObject, settings: Pkcs11Settings): void {
  const kind = keyKind(key);
  const want = keyKindText(settings.key);
  if (!kind || keyKindText(kind) !== want)
    throw new UserError(
      `the token's key ${settings.uri} is ${describeKey(key)}, but rootCA.pkcs11.key asks for ${want}: ` +
        `${kind ? `set rootCA.pkcs11.key to ${keyKindText(kind)}, or ` : ''}point rootCA.pkcs11.uri at the right key (RSA 3072/4096, ECDSA P-256/P-384); nothing was written`,
      EXIT.badInput,
    );
}

/** The access for the description's token, with the PIN file: exit 2 naming the option when it is not given. */
export function tokenAccess(settings: Pkcs11Settings, pin: PinFile | undefined, needs: string): TokenAccess {
  if (!pin)
    throw new UserError(`${needs} the root CA key in the token ${settings.uri}: give ${PIN_OPTION} FILE (or ${PIN_ENV}=FILE), the file whose first line is its user PIN; nothing was written`, EXIT.badInput);
  return { module: tokenModule(settings), uri: settings.uri, pinFile: pin.path };
}

/**
 * Before anything is written: a plan that signs with the key in the token needs the PIN file, the
 * token, the PIN, the object, a key of the described kind, and the key of root-ca.crt. Exit 2 naming
 * what to fix otherwise. Returns the access for the executor (undefined when nothing signs with it).
 */
export async function assertToken(plan: Plan, instances: Instances, outDir: string, pin: PinFile | undefined): Promise<TokenAccess | undefined> {
  const settings = instances.rootToken;
  const root = instances.root;
  if (!settings || !root) return undefined;
  const users = plan.items.filter((i) => [...i.keySteps, ...i.steps].some(usesToken)).map((i) => i.name);
  if (!users.length) return undefined;
  const access = tokenAccess(settings, pin, `${users.join(', ')} must be signed by`);
  const opened = await tokenPublicKey(access);
  if ('failure' in opened) throw new UserError(`${tokenFailureMessage(opened.failure, access, pin!)}; nothing was written`, EXIT.badInput);
  assertKeyKind(opened.key, settings);
  const certPem = await readIfExists(join(outDir, root.certPath));
  if (certPem) {
    let same = true;
    try {
      same = der(opened.key).equals(der(new X509Certificate(certPem).publicKey));
    } catch {
      /* an unreadable certificate is the planner's problem */
    }
    if (!same)
      throw new UserError(
        `the token's key ${settings.uri} is not the key of ${root.certPath}: the root would sign intermediates that do not verify; point rootCA.pkcs11.uri at the root's key; nothing was written`,
        EXIT.badInput,
      );
  }
  return access;
}
