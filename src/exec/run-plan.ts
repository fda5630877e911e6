import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { backupFile, ensureDir, removeFile } from '../files/atomic.js';
import { installTogether, type Staged } from './install-together.js';
import { kubeconfigFromPem } from '../kubeconfig/render.js';
import { runOpenssl } from '../openssl/run.js';
import { CA_CONFIG_FILE, startDate } from '../openssl/commands.js';
import { MODE, TMP_DIR } from '../model/files.js';
import { usesToken, type Arg, type Plan, type PlanItem, type Step } from '../model/steps.js';
import { engineConfigFor, type TokenAccess } from './token.js';
import { limiter } from '../util/limit.js';
import { pemBundle } from '../util/pem.js';
import { parseEncryptionConfig, renderEncryptionConfig, type EncryptionKey } from '../encryption/config.js';
import { ENCRYPTION_KEY_BYTES, type EncryptionKeyRef } from '../model/encryption.js';

export interface RunContext {
  outDir: string;
  /** Where replaced files are copied first; made when the first backup happens. */
  backupDir: string;
  /**
   * Bounds the openssl processes running at once (key generation is CPU bound); an urgent step (a
   * CA's) goes ahead of the others waiting.
   */
  cpu: <T>(task: () => Promise<T>, urgent?: boolean) => Promise<T>;
  /** How many items may be under way at once. */
  window: number;
  /** Absolute path of the root CA key's passphrase file: openssl reads it (-passin/-passout file:). */
  passphraseFile?: string;
  /** The root CA key in a PKCS#11 token: module, URI, PIN file (checked by assertToken before the run). */
  token?: TokenAccess;
  /** One signature at a time in the token: a YubiKey or an HSM partition serves one session well, not ten. */
  tokenLane: <T>(task: () => Promise<T>) => Promise<T>;
}

export function runContext(outDir: string, now = new Date(), concurrency = availableParallelism(), passphraseFile?: string, token?: TokenAccess): RunContext {
  const stamp = now.toISOString().replace(/[:.]/g, '-');
  const cpus = Math.max(1, concurrency);
  return {
    outDir,
    backupDir: join(outDir, `backup-${stamp}`),
    cpu: limiter(cpus),
    window: cpus * 8,
    tokenLane: limiter(1),
    ...(passphraseFile ? { passphraseFile } : {}),
    ...(token ? { token } : {}),
  };
}

/** A positive 128-bit serial (RFC 5280 allows up to 20 octets); the top bit is cleared to stay positive. */
export function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = bytes[0]! & 0x7f;
  return `0x${bytes.toString('hex')}`;
}

const tmpName = (path: string) => path.replace(/\//g, '__');

function resolveArg(arg: Arg, ctx: RunContext, tmp: string): string {
  if (typeof arg === 'string') return arg;
  if ('in' in arg) return join(ctx.outDir, arg.in);
  if ('out' in arg) return join(tmp, tmpName(arg.out));
  if ('passphrase' in arg) {
    // Checked before the run starts (exit 2, nothing written); this is the last line of defence.
    if (!ctx.passphraseFile) throw new Error('the root CA key needs its passphrase file (--ca-passphrase-file)');
    return `file:${ctx.passphraseFile}`;
  }
  if ('token' in arg) return arg.token;
  if ('notBefore' in arg) return startDate(new Date());
  if ('caConfig' in arg) return join(tmp, CA_CONFIG_FILE); // written by runOpenssl
  return randomSerial();
}

/** Key generation: openssl 3.0.2–3.1.7 fails it now and then (openssl#18321), so a failure is tried once more. */
const KEY_GENERATION = new Set(['genrsa', 'genpkey']);

/**
 * How an item's openssl steps get a core: `normal` ones wait their turn; `urgent` ones (a CA's, which
 * every signature waits for) wait ahead of them; `held`: the item already holds a core for all its steps.
 */
type Core = 'normal' | 'urgent' | 'held';

/** Runs one step; files to install are only staged: the item installs them together at its end. */
async function runStep(step: Step, ctx: RunContext, tmp: string, staged: Staged[], core: Core): Promise<void> {
  switch (step.op) {
    case 'write':
      await writeFile(join(tmp, tmpName(step.file)), step.content, { mode: MODE.secret });
      return;
    case 'openssl': {
      const args = step.args.map((a) => resolveArg(a, ctx, tmp));
      if (usesToken(step)) {
        // Checked before the run starts (exit 2, nothing written); this is the last line of defence.
        const token = ctx.token;
        if (!token) throw new Error('the root CA key in the token needs its PIN file (--ca-pin-file)');
        const signed = () => ctx.tokenLane(async () => runOpenssl(args, tmp, { engineConf: await engineConfigFor(token) }));
        await (core === 'held' ? signed() : ctx.cpu(signed, core === 'urgent'));
        return;
      }
      const run = () => runOpenssl(args, tmp, { retries: KEY_GENERATION.has(args[0]!) ? 1 : 0 });
      await (core === 'held' ? run() : ctx.cpu(run, core === 'urgent'));
      return;
    }
    case 'install':
      staged.push({ tmp: tmpName(step.file), final: step.file, mode: step.mode });
      return;
    case 'backup':
      await backupFile(join(ctx.outDir, step.file), join(ctx.backupDir, step.file));
      return;
    case 'kubeconfig': {
      const k = step.kubeconfig;
      const [ca, cert, key] = await Promise.all([k.caFile, k.certFile, k.keyFile].map((p) => readFile(join(ctx.outDir, p))));
      await writeFile(join(tmp, tmpName(step.file)), kubeconfigFromPem(k, { ca: ca!, cert: cert!, key: key! }), { mode: MODE.secret });
      return;
    }
    case 'copy': {
      await writeFile(join(tmp, tmpName(step.to)), await readFile(join(ctx.outDir, step.from)), { mode: step.mode });
      staged.push({ tmp: tmpName(step.to), final: step.to, mode: step.mode });
      return;
    }
    case 'concat': {
      const parts = await Promise.all(step.from.map(async (f) => ({ name: f, pem: await readFile(join(ctx.outDir, f)) })));
      // Read back before it is installed: a bundle a strict PEM reader cannot split fails the item.
      await writeFile(join(tmp, tmpName(step.to)), pemBundle(parts, step.to), { mode: step.mode });
      staged.push({ tmp: tmpName(step.to), final: step.to, mode: step.mode });
      return;
    }
    case 'encryption-config': {
      const keys = await Promise.all(step.keys.map((k) => encryptionKey(k, ctx, tmp)));
      await writeFile(join(tmp, tmpName(step.file)), renderEncryptionConfig({ provider: step.provider, keys }), { mode: MODE.secret });
      return;
    }
    case 'remove':
      // Order matters (rotate-ca: the old pair is copied aside before its certificate goes): what was
      // staged before the removal is installed first, together.
      await installTogether(ctx.outDir, tmp, staged.splice(0));
      await removeFile(join(ctx.outDir, step.file));
      return;
  }
}

/**
 * A key of an EncryptionConfiguration: fresh from `openssl rand` (written to a 0600 file in the item's
 * private folder, never on a command line or stdout), or taken by name from a configuration in the folder.
 */
async function encryptionKey(ref: EncryptionKeyRef, ctx: RunContext, tmp: string): Promise<EncryptionKey> {
  if ('fresh' in ref) {
    const file = join(tmp, `${ref.name}.bin`);
    await writeFile(file, '', { mode: MODE.secret });
    await ctx.cpu(() => runOpenssl(['rand', '-out', file, String(ENCRYPTION_KEY_BYTES)], tmp));
    const bytes = await readFile(file);
    await rm(file, { force: true });
    if (bytes.length !== ENCRYPTION_KEY_BYTES) throw new Error(`openssl rand gave ${bytes.length} bytes, not ${ENCRYPTION_KEY_BYTES}`);
    return { name: ref.name, secret: bytes.toString('base64') };
  }
  const parsed = parseEncryptionConfig(await readFile(join(ctx.outDir, ref.from), 'utf8'));
  if ('error' in parsed) throw new Error(`${ref.from}: ${parsed.error}`);
  const key = parsed.keys.find((k) => k.name === ref.name);
  if (!key) throw new Error(`${ref.from} has no key ${ref.name}`);
  return key;
}

async function runSteps(steps: Step[], ctx: RunContext, tmp: string, core: Core, staged: Staged[] = []): Promise<void> {
  for (const step of steps) await runStep(step, ctx, tmp, staged, core);
}

/**
 * Starts the items in plan order through a bounded window (ctx.window at a time): each generates its
 * key as soon as it starts (openssl processes bounded by the CPU limiter), the rest of its steps once
 * the items it needs are done. Returns one promise per item, for the progress display.
 */
export function startPlan(plan: Plan, ctx: RunContext): Map<string, Promise<void>> {
  const running = new Map<string, Promise<void>>();
  // Items start in plan order, a bounded number at a time: enough to keep every core busy, few
  // enough that a 1000-node cluster does not hold 2000 half-done items (and their temp folders) in
  // memory. An item only waits for earlier items, so the window cannot deadlock.
  const window = limiter(ctx.window);
  // Items find what they need by name: two items of one name would silently lose one of them.
  const names = new Set<string>();
  for (const item of plan.items) {
    if (names.has(item.name)) throw new Error(`plan: two items are named ${JSON.stringify(item.name)}`);
    names.add(item.name);
  }
  // The temporary folder is made once, by whichever item needs it first, and every item waits for that
  // one promise: were the first item to make it (and sync its parent) while the others found it there,
  // the CA's key would queue behind every other key.
  let tmpRoot: Promise<void> | undefined;
  const tmpRootReady = () => (tmpRoot ??= ensureDir(join(ctx.outDir, TMP_DIR)));
  for (const item of plan.items) running.set(item.name, window(() => runItem(item, ctx, running, tmpRootReady)));
  // Failures are reported through each item's promise; avoid unhandled-rejection noise here.
  for (const p of running.values()) p.catch(() => undefined);
  return running;
}

async function runItem(item: PlanItem, ctx: RunContext, running: Map<string, Promise<void>>, tmpRootReady: () => Promise<void>): Promise<void> {
  if (item.keySteps.length + item.steps.length === 0) return;
  await tmpRootReady();
  // Synchronously, so that items ask for a core in plan order (the CA's key first).
  const tmp = mkdtempSync(join(ctx.outDir, TMP_DIR, `${tmpName(item.name)}-`));
  // Installed together at the end (backups are made before): a key and its certificate, never one alone.
  const staged: Staged[] = [];
  const steps = async (core: Core) => {
    await runSteps(item.keySteps, ctx, tmp, core);
    for (const need of item.needs) {
      try {
        await running.get(need);
      } catch {
        throw new Error(`not made: ${need} failed`);
      }
    }
    await runSteps(item.steps, ctx, tmp, core, staged);
  };
  try {
    // A CA that waits for nothing runs its steps back to back on one core: were it to give the core back
    // after its key, a leaf's key would take it, and every signature would wait for that key too.
    if (item.group === 'ca' && item.needs.length === 0) await ctx.cpu(() => steps('held'), true);
    else await steps(item.group === 'ca' ? 'urgent' : 'normal');
    await installTogether(ctx.outDir, tmp, staged);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** Removes what a killed run left in the temporary folder; final files are never partial. */
export async function clearLeftovers(outDir: string): Promise<void> {
  await rm(join(outDir, TMP_DIR), { recursive: true, force: true });
}
