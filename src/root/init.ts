import { resolve, join } from 'node:path';
import { EXIT, UserError } from '../errors.js';
import { assertOutDir, privateOutDir, runLocked } from '../exec/run-locked.js';
import { assertKeyKind, keyKind, keyKindText, pinFile, tokenAccess, tokenFailureMessage, tokenPublicKey, type TokenAccess } from '../exec/token.js';
import { assertNothingUnfinished } from '../exec/unfinished.js';
import { readIfExists } from '../inspect/disk.js';
import type { Cluster } from '../model/cluster.js';
import type { Plan } from '../model/steps.js';
import { checkOpenssl } from '../openssl/run.js';
import { instancesFor, ownPaths } from '../pki.js';
import { tokenRootItem } from '../plan/root.js';
import { assertP11tool, generateInToken } from './keygen.js';

// `kube-pki root init` (docs/pkcs11.md): the root CA key made inside a PKCS#11 token, never on a disk,
// and its self-signed certificate OUT/root-ca.crt. Made once: a root that exists is never made again.

export interface RootInitOptions {
  out: string;
  caPinFile?: string;
  /** Certify a key the token already holds (made by its own tools, as a YubiKey PIV slot's). */
  useExistingKey?: boolean;
  dryRun?: boolean;
  json?: boolean;
}

export interface RootInitResult {
  outDir: string;
  uri: string;
  module: string;
  /** made: in the token by this run; found: the token's own (--use-existing-key). */
  key: 'made' | 'found';
  kind: string;
  certificate: string;
  result: 'ok' | 'dry-run' | 'failed';
  errors: string[];
}

/** What the token holds now: the key (found), none (made by this run), or a reason to stop (exit 2). */
async function tokenKey(access: TokenAccess, cluster: Cluster, options: RootInitOptions, pinNamed: { path: string; named: string }): Promise<'found' | 'absent'> {
  const settings = cluster.rootCA!.pkcs11!;
  const opened = await tokenPublicKey(access);
  if ('failure' in opened) {
    // "object not found" comes after the log-in: the token is there and the PIN right.
    if (opened.failure === 'object') {
      if (options.useExistingKey)
        throw new UserError(`root init --use-existing-key: the token has no private key ${access.uri}: correct object=… (or id=…) in rootCA.pkcs11.uri, or leave out --use-existing-key to make it; nothing was written`, EXIT.badInput);
      return 'absent';
    }
    throw new UserError(`root init: ${tokenFailureMessage(opened.failure, access, pinNamed)}; nothing was written`, EXIT.badInput);
  }
  if (!options.useExistingKey) {
    const kind = keyKind(opened.key);
    throw new UserError(
      `root init: the token already holds ${access.uri}${kind ? ` (${keyKindText(kind)})` : ''}; root init never makes a second key of one name. ` +
        'To certify that key (made by the token\'s own tools, as a YubiKey PIV slot\'s), run again with --use-existing-key; for a new key, name another object= in rootCA.pkcs11.uri; nothing was written',
      EXIT.badInput,
    );
  }
  assertKeyKind(opened.key, settings);
  return 'found';
}

export async function rootInit(cluster: Cluster, options: RootInitOptions): Promise<{ exitCode: number; result: RootInitResult }> {
  const outDir = resolve(options.out);
  const instances = instancesFor(cluster);
  const root = instances.root;
  const settings = instances.rootToken;
  if (!root || !settings)
    throw new UserError(
      `root init: ${cluster.source} has no rootCA.pkcs11: it makes a root CA whose key is in a PKCS#11 token (rootCA: { pkcs11: { uri: "pkcs11:token=…;object=…" } }, docs/pkcs11.md); a root whose key is a file is made by gen`,
      EXIT.badInput,
    );
  const pin = await pinFile(options.caPinFile);
  const access = tokenAccess(settings, pin, 'root init needs the PIN of');
  await assertOutDir(outDir, ownPaths(instances));
  await assertNothingUnfinished(outDir, instances, 'root init');
  const exists = async () => {
    for (const path of [root.certPath, root.keyPath])
      if ((await readIfExists(join(outDir, path))) !== null)
        throw new UserError(
          `root init: ${join(outDir, path)} exists: the root CA is made once (a new root means new intermediates everywhere: rotate-ca); nothing was written`,
          EXIT.badInput,
        );
  };
  await exists();
  const key = await tokenKey(access, cluster, options, pin!);
  if (key === 'absent') assertP11tool();
  const result: RootInitResult = {
    outDir,
    uri: settings.uri,
    module: access.module,
    key: key === 'found' ? 'found' : 'made',
    kind: keyKindText(settings.key),
    certificate: join(outDir, root.certPath),
    result: 'dry-run',
    errors: [],
  };
  if (options.dryRun) return { exitCode: EXIT.ok, result };

  await checkOpenssl();
  await privateOutDir(outDir);
  const errors = await runLocked(
    async (): Promise<Plan> => {
      // Under the lock: another root init may have finished (or made the key) meanwhile.
      await exists();
      if ((await tokenKey(access, cluster, options, pin!)) === 'absent') {
        await generateInToken(access, settings.key);
        const made = await tokenPublicKey(access);
        if ('failure' in made) throw new UserError(`root init: the key made in the token cannot be opened: ${tokenFailureMessage(made.failure, access, pin!)}`, EXIT.failed);
        assertKeyKind(made.key, settings);
      }
      const reason = result.key === 'made' ? `key made in the PKCS#11 token ${settings.uri}` : `key found in the PKCS#11 token ${settings.uri}`;
      return { profile: cluster.profile, items: [tokenRootItem(root, settings, reason)] };
    },
    outDir,
    { operation: 'root init', instances, silent: true, token: () => access },
  );
  result.errors = [...errors.values()];
  result.result = errors.size ? 'failed' : 'ok';
  return { exitCode: errors.size ? EXIT.failed : EXIT.ok, result };
}
