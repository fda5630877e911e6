import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { onExit } from 'signal-exit';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KeySpec } from '../model/cluster.js';
import type { CertInstance } from '../model/instances.js';
import type { Arg } from '../model/steps.js';
import { usagesFor } from '../catalog/usages.js';
import { extensionSection, renderCnf } from '../openssl/cnf.js';
import { CA_CONFIG_FILE, csrArgs, genKeyArgs, signArgs, startDate } from '../openssl/commands.js';
import { runOpenssl } from '../openssl/run.js';

/** A client certificate's request as the catalog's rows make one, for openssl.cnf's template. */
function userInstance(subject: { cn: string; o: string[] }, key: KeySpec, days: number): CertInstance {
  const fixed = () => subject.cn;
  return {
    name: 'user',
    spec: { id: 'user', scope: 'cluster', file: () => 'user', cn: fixed, o: subject.o, kind: 'client', explain: { purpose: 'A person\'s client certificate.', subject: '' } },
    keyPath: 'user.key',
    certPath: 'user.crt',
    subject,
    sans: { dns: [], ip: [] },
    usages: usagesFor('client', key),
    days,
    daysField: '--days',
    key,
  };
}

/** A positive 128-bit serial, as the executor gives every certificate. */
const serial = () => {
  const bytes = randomBytes(16);
  bytes[0] = bytes[0]! & 0x7f;
  return `0x${bytes.toString('hex')}`;
};

const resolve = (dir: string) => (a: Arg): string => {
  if (typeof a === 'string') return a;
  if ('serial' in a) return serial();
  if ('notBefore' in a) return startDate(new Date());
  if ('caConfig' in a) return join(dir, CA_CONFIG_FILE);
  if ('in' in a) return a.in;
  if ('out' in a) return join(dir, a.out);
  throw new Error('a user certificate is never signed with the root CA');
};

/**
 * A new key and client certificate signed by the CA's files (absolute paths), made in a private
 * temporary folder (0700, outside the PKI folder) that is removed before returning: the key exists
 * only in memory afterwards, never in the PKI folder, a log or an argument.
 */
export async function signUserCert(o: { cn: string; o: string[]; key: KeySpec; days: number; caCrt: string; caKey: string }): Promise<{ cert: Buffer; key: Buffer }> {
  const dir = await mkdtemp(join(tmpdir(), 'kube-pki-user-'));
  // Interrupted (Ctrl-C, SIGTERM), the key goes with the folder too; only SIGKILL leaves it, in a 0700 folder.
  const off = onExit(() => rmSync(dir, { recursive: true, force: true }));
  try {
    const cert = userInstance({ cn: o.cn, o: o.o }, o.key, o.days);
    const r = resolve(dir);
    const [key, cnf, csr, crt] = [{ out: 'user.key' }, { out: 'user.cnf' }, { out: 'user.csr' }, { out: 'user.crt' }];
    await writeFile(join(dir, cnf.out), renderCnf(cert), { mode: 0o600 });
    await runOpenssl(genKeyArgs(o.key, key).map(r), dir);
    await runOpenssl(csrArgs({ key, subject: cert.subject, csr, cnf }).map(r), dir);
    const signer = { caCrt: { in: o.caCrt }, caKey: { in: o.caKey } };
    await runOpenssl(signArgs({ csr, crt, days: o.days, cnf, section: extensionSection(cert), signer }).map(r), dir);
    return { cert: await readFile(join(dir, crt.out)), key: await readFile(join(dir, key.out)) };
  } finally {
    await rm(dir, { recursive: true, force: true });
    off();
  }
}
