import { X509Certificate, createHash, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, kubePki, tempDir } from './helpers/cli.js';
import { listFiles } from './helpers/kubeadm.js';
import { listObjects, makeKeyWithTokenTools, makeToken, SOFTHSM2_MODULE, type TestToken } from './helpers/softhsm.js';

// rootCA.pkcs11: the root CA key made inside a real PKCS#11 token (SoftHSM2), never on a disk; gen,
// gen --replace-ca, rotate-ca and script sign the intermediates through openssl's pkcs11 engine. The
// PIN comes from a file and reaches no argument or environment of any process (strace sees every
// execve), no file of the output folder (watched while the runs go), no output.

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => ({ dir, cleanup } = await tempDir('kube-pki-pkcs11-')));
afterAll(async () => cleanup());

const HARDWAY = (uri: string, key = '') => `profile: hardway
rootCA:
  pkcs11:
    module: ${SOFTHSM2_MODULE}
    uri: "${uri}"${key ? `\n    key: ${key}` : ''}
apiServer: { endpoint: 192.168.36.30 }
nodes:
  - { name: master-1, address: 192.168.36.11, role: controlplane }
  - { name: worker-1, address: 192.168.36.21, role: worker }
`;
const KUBEADM = (uri: string, key: string) => `profile: kubeadm
key: { algorithm: ecdsa, curve: P-256 }
rootCA:
  pkcs11:
    uri: "${uri}"
    key: ${key}
apiServer: { endpoint: 192.168.36.30 }
nodes:
  - { name: cp-1, address: 192.168.36.11, role: controlplane }
  - { name: worker-1, address: 192.168.36.21, role: worker }
`;

const config = async (name: string, yaml: string) => {
  const file = join(dir, `${name}.yaml`);
  await writeFile(file, yaml);
  return file;
};
const ok = (r: { exitCode?: number; stdout: string; stderr: string }) => expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
const verify = (root: string, intermediate: string, leaf: string) => execa('openssl', ['verify', '-CAfile', root, '-untrusted', intermediate, leaf], { reject: false, stdin: 'ignore' });
const cert = async (file: string) => new X509Certificate(await readFile(file));
const spki = (k: KeyObject) => k.export({ type: 'spki', format: 'der' });
const snapshot = async (root: string) => {
  const files = await listFiles(root).catch(() => [] as string[]);
  return new Map(await Promise.all(files.map(async (f) => [f, createHash('sha256').update(await readFile(join(root, f))).digest('hex')] as const)));
};

/** Every private key a file holds: PEM blocks, and the base64 client-key-data of a kubeconfig. */
function privateKeys(data: Buffer): KeyObject[] {
  const text = data.toString('latin1');
  const pems = [...text.matchAll(/-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g)].map((m) => m[0]);
  const embedded = [...text.matchAll(/client-key-data:\s*(\S+)/g)].map((m) => Buffer.from(m[1]!, 'base64').toString('latin1'));
  const keys: KeyObject[] = [];
  for (const pem of [...pems, ...embedded]) {
    try {
      keys.push(createPrivateKey(pem));
    } catch {
      /* encrypted or not a key: not the token's (it cannot leave it) */
    }
  }
  return keys;
}

interface Watched {
  /** Files (under the watched folders) seen holding the PIN, or a private key of the root's public key. */
  pinIn: Set<string>;
  rootKeyIn: Set<string>;
  seen: Set<string>;
}

/** Reads every file of these folders over and over while `running` goes: the temporary ones included. */
async function watchWhile<T>(folders: string[], pin: string, rootPublic: () => Promise<Buffer | null>, running: Promise<T>): Promise<{ result: T; watched: Watched }> {
  const watched: Watched = { pinIn: new Set(), rootKeyIn: new Set(), seen: new Set() };
  let done = false;
  const result = running.finally(() => (done = true));
  const scan = async () => {
    const root = await rootPublic();
    for (const folder of folders) {
      const files = await listAll(folder);
      for (const f of files) {
        const data = await readFile(f).catch(() => null);
        if (!data) continue;
        watched.seen.add(f);
        if (data.includes(Buffer.from(pin))) watched.pinIn.add(f);
        if (root && privateKeys(data).some((k) => spki(createPublicKey(k)).equals(root))) watched.rootKeyIn.add(f);
      }
    }
  };
  while (!done) {
    await scan();
    await new Promise((r) => setTimeout(r, 10));
  }
  await scan();
  return { result: await result, watched };
}

/** The files below a folder; in /dev/shm only kube-pki's own (the engine's configurations), not other programs'. */
async function listAll(folder: string): Promise<string[]> {
  const entries = await readdir(folder, { withFileTypes: true, recursive: true }).catch(() => []);
  const files = entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
  return folder === '/dev/shm' ? files.filter((f) => f.includes('kube-pki-engine-')) : files;
}

let traces = 0;
/** kube-pki under strace: every program it (or its children) started, with argv and environment. */
async function traced(args: string[], env: Record<string, string>) {
  const trace = join(dir, `execve-${++traces}.trace`);
  const r = await execa('strace', ['-f', '-qq', '-v', '-s', '65536', '-e', 'trace=execve', '-o', trace, 'node', CLI, ...args], {
    reject: false,
    stdin: 'ignore',
    env: { CI: '1', ...env },
  });
  const execs = (await readFile(trace, 'utf8')).split('\n').filter((l) => l.includes('execve('));
  return { ...r, execs };
}

describe('a root CA in a SoftHSM2 token (hardway, ECDSA P-256)', () => {
  let token: TestToken;
  let file: string;
  let out: string;
  const URI = 'pkcs11:token=kube-root;object=root-ca';
  const rootPublic = async () => {
    const pem = await readFile(join(out, 'root-ca.crt')).catch(() => null);
    return pem ? spki(new X509Certificate(pem).publicKey) : null;
  };

  beforeAll(async () => {
    token = await makeToken(dir, 'kube-root', '31415926-hsm-pin');
    file = await config('hardway', HARDWAY(URI));
    out = join(dir, 'hardway');
  });

  it('root init makes the key inside the token (private, sensitive, never extractable) and the self-signed root-ca.crt; the PIN is in no argv or environment', async () => {
    const run = await traced(['root', 'init', '--config', file, '--out', out, '--ca-pin-file', token.pinFile, '--json'], token.env);
    ok(run);
    const report = JSON.parse(run.stdout) as { key: string; kind: string; uri: string };
    expect(report).toMatchObject({ key: 'made', kind: 'ECDSA P-256', uri: URI });
    // The key was made by p11tool and certified through openssl's engine (its configuration on descriptor 3).
    expect(run.execs.some((l) => l.includes('"p11tool"') || /p11tool", \[/.test(l))).toBe(true);
    expect(run.execs.some((l) => l.includes('OPENSSL_CONF=/dev/fd/3'))).toBe(true);
    for (const l of run.execs) expect(l.includes(token.pin), l.slice(0, 300)).toBe(false);
    expect(`${run.stdout}${run.stderr}`).not.toContain(token.pin);

    const objects = (await listObjects(token)).filter((o) => o.label === 'root-ca');
    const priv = objects.find((o) => o.kind.startsWith('Private Key Object; EC'));
    expect(priv, JSON.stringify(objects)).toBeDefined();
    const access = priv!.lines.find((l) => l.startsWith('Access:'))!;
    expect(access).toMatch(/\bsensitive\b/);
    expect(access).toMatch(/never extractable/);
    expect(priv!.lines.find((l) => l.startsWith('Usage:'))).toMatch(/\bsign\b/);
    // Private: without a log-in the token shows no private key.
    const anonymous = await execa('pkcs11-tool', ['--module', SOFTHSM2_MODULE, '--token-label', token.label, '--list-objects', '--type', 'privkey'], { env: token.env, reject: false, stdin: 'ignore' });
    expect(anonymous.stdout).not.toContain('Private Key Object');
    const root = await cert(join(out, 'root-ca.crt'));
    expect(root.subject).toBe('CN=kubernetes-root-ca');
    expect(root.issuer).toBe(root.subject);
    expect(root.verify(root.publicKey)).toBe(true);
    expect(root.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(root.ca).toBe(true);
    // No file holds the root key: the folder has its certificate only.
    expect((await listFiles(out)).filter((f) => /root-ca/.test(f))).toEqual(['root-ca.crt']);
  });

  it('gen signs the intermediate through the token: every leaf verifies to root-ca.crt; no file, temporary ones included, holds the key or the PIN', async () => {
    const { result: run, watched } = await watchWhile([out, '/dev/shm'], token.pin, rootPublic, traced(['gen', '--config', file, '--out', out, '--ca-pin-file', token.pinFile], token.env));
    ok(run);
    expect(watched.seen.size).toBeGreaterThan(10);
    expect([...watched.seen].some((f) => f.includes('.kube-pki-tmp')), 'the temporary folders were seen while gen ran').toBe(true);
    expect([...watched.pinIn]).toEqual([]);
    expect([...watched.rootKeyIn]).toEqual([]);
    const signing = run.execs.filter((l) => l.includes('-keyform') && l.includes(URI));
    expect(signing.length, 'ca.crt is signed through the engine').toBe(1);
    for (const l of run.execs) expect(l.includes(token.pin), l.slice(0, 300)).toBe(false);
    expect(`${run.stdout}${run.stderr}`).not.toContain(token.pin);

    const crts = (await listFiles(out)).filter((f) => f.endsWith('.crt') && f !== 'root-ca.crt' && f !== 'ca.crt');
    expect(crts.length).toBeGreaterThanOrEqual(9);
    for (const leaf of crts) {
      const v = await verify(join(out, 'root-ca.crt'), join(out, 'ca.crt'), join(out, leaf));
      expect(v.exitCode, `${leaf}: ${v.stdout}${v.stderr}`).toBe(0);
    }
    const ca = await cert(join(out, 'ca.crt'));
    expect(ca.checkIssued(await cert(join(out, 'root-ca.crt')))).toBe(true);
    // --json carries no PIN either; a gen with nothing to sign needs no PIN at all.
    const json = await kubePki(['gen', '--config', file, '--out', out, '--json'], { env: { ...token.env, KUBE_PKI_CA_PIN_FILE: '' } });
    ok(json);
    expect(json.stdout).not.toContain(token.pin);
  });

  it('gen --replace-ca has the token sign a new intermediate; explain root-ca and check say where the key lives', async () => {
    const oldCa = await cert(join(out, 'ca.crt'));
    const run = await traced(['gen', '--config', file, '--out', out, '--replace-ca'], { ...token.env, KUBE_PKI_CA_PIN_FILE: token.pinFile });
    ok(run);
    for (const l of run.execs) expect(l.includes(token.pin)).toBe(false);
    const ca = await cert(join(out, 'ca.crt'));
    expect(ca.fingerprint256).not.toBe(oldCa.fingerprint256);
    expect(ca.checkIssued(await cert(join(out, 'root-ca.crt'))) && ca.verify((await cert(join(out, 'root-ca.crt'))).publicKey)).toBe(true);
    const v = await verify(join(out, 'root-ca.crt'), join(out, 'ca.crt'), join(out, 'admin.crt'));
    expect(v.exitCode, v.stderr).toBe(0);

    const explain = await kubePki(['explain', 'root-ca', '--config', file, '--out', out]);
    ok(explain);
    expect(explain.stdout).toContain(`key in the PKCS#11 token ${URI} (module ${SOFTHSM2_MODULE}): made there, never exported; no file holds it`);
    expect(explain.stdout).not.toMatch(/root-ca\.key/);
    const check = await kubePki(['check', '--config', file, '--out', out, '--json'], { env: token.env });
    ok(check);
    expect(check.stdout).toContain(`the root CA key is in the PKCS#11 token ${URI}`);
    // A root-ca.key file beside a token root: check reports it, gen refuses to run (nothing written).
    const stray = join(out, 'root-ca.key');
    await execa('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', stray], { stdin: 'ignore' });
    const flagged = await kubePki(['check', '--config', file, '--out', out], { env: token.env });
    expect(flagged.exitCode).toBe(1);
    expect(flagged.stdout).toMatch(/root-ca\.key: rootCA\.pkcs11 keeps the root CA key in the token/);
    const before = await snapshot(out);
    const gen = await kubePki(['gen', '--config', file, '--out', out, '--ca-pin-file', token.pinFile], { env: token.env });
    expect(gen.exitCode).toBe(2);
    expect(gen.stderr).toMatch(/root-ca\.key is in the output folder, but rootCA\.pkcs11 puts the root CA key in the token/);
    expect(await snapshot(out)).toEqual(before);
    await execa('rm', [stray]);
  });

  it('root init again: exit 2, the root exists; without --use-existing-key a key of that name is never certified', async () => {
    const again = await kubePki(['root', 'init', '--config', file, '--out', out, '--ca-pin-file', token.pinFile], { env: token.env });
    expect(again.exitCode).toBe(2);
    expect(again.stderr).toMatch(/root-ca\.crt exists: the root CA is made once/);
    const elsewhere = join(dir, 'other-folder');
    const existing = await kubePki(['root', 'init', '--config', file, '--out', elsewhere, '--ca-pin-file', token.pinFile], { env: token.env });
    expect(existing.exitCode).toBe(2);
    expect(existing.stderr).toMatch(/the token already holds pkcs11:token=kube-root;object=root-ca \(ECDSA P-256\); .*--use-existing-key/);
    expect(await snapshot(elsewhere)).toEqual(new Map());
  });

  it('script signs through the engine with the PIN read from its file on descriptor 3: the PIN is nowhere in the script, the run or its files', async () => {
    const r = await kubePki(['script', '--config', file, '--ca-pin-file', token.pinFile]);
    ok(r);
    expect(r.stdout).not.toContain(token.pin);
    expect(r.stdout).toMatch(/OPENSSL_CONF=\/dev\/fd\/3 openssl ca -batch -config .* -in ca\.csr -cert root-ca\.crt -keyfile 'pkcs11:token=kube-root;object=root-ca' -keyform engine -engine pkcs11 .* 3< <\(kube_pki_engine_conf\)/);
    const script = join(dir, 'pki.sh');
    await writeFile(script, r.stdout);
    const made = join(dir, 'scripted');
    await execa('mkdir', ['-m', '700', made]);
    const trace = join(dir, 'script.trace');
    const run = await execa('strace', ['-f', '-qq', '-v', '-s', '65536', '-e', 'trace=execve', '-o', trace, 'bash', script], { cwd: made, reject: false, stdin: 'ignore', all: true, env: token.env });
    expect(run.exitCode, run.all).toBe(0);
    expect(run.all).not.toContain(token.pin);
    expect(await readFile(trace, 'utf8')).not.toContain(token.pin);
    for (const f of await listFiles(made)) expect((await readFile(join(made, f))).includes(token.pin), f).toBe(false);
    // The script certified the same key: its root has the token's public key.
    expect(spki((await cert(join(made, 'root-ca.crt'))).publicKey).equals((await rootPublic())!)).toBe(true);
    const v = await verify(join(made, 'root-ca.crt'), join(made, 'ca.crt'), join(made, 'kube-apiserver.crt'));
    expect(v.exitCode, v.stderr).toBe(0);
  });
});

describe('a root CA in a token (kubeadm, RSA 3072): gen, rotate-ca start|reissue|finish', () => {
  let token: TestToken;
  let file: string;
  let out: string;
  const URI = 'pkcs11:token=kube-rsa;object=kubernetes-root';
  const INTERMEDIATES = ['_cluster/pki/ca.crt', '_cluster/pki/etcd/ca.crt', '_cluster/pki/front-proxy-ca.crt'];

  beforeAll(async () => {
    token = await makeToken(dir, 'kube-rsa', '271828');
    file = await config('kubeadm', KUBEADM(URI, '{ algorithm: rsa, size: 3072 }'));
    out = join(dir, 'kubeadm');
  });

  it('root init (RSA 3072) and gen: each leaf verifies to the root through its intermediate', async () => {
    ok(await kubePki(['root', 'init', '--config', file, '--out', out, '--ca-pin-file', token.pinFile], { env: token.env }));
    const root = await cert(join(out, 'root-ca.crt'));
    expect(root.publicKey.asymmetricKeyType).toBe('rsa');
    expect(root.publicKey.asymmetricKeyDetails?.modulusLength).toBe(3072);
    const priv = (await listObjects(token)).find((o) => o.label === 'kubernetes-root' && o.kind.startsWith('Private Key Object; RSA'));
    expect(priv?.lines.find((l) => l.startsWith('Access:'))).toMatch(/sensitive.*never extractable/);

    const run = await traced(['gen', '--config', file, '--out', out, '--ca-pin-file', token.pinFile], token.env);
    ok(run);
    expect(run.execs.filter((l) => l.includes('-keyform') && l.includes(URI)).length).toBe(3);
    for (const l of run.execs) expect(l.includes(token.pin)).toBe(false);
    const files = await listFiles(out);
    for (const ca of INTERMEDIATES) {
      const intermediate = await cert(join(out, ca));
      expect(intermediate.checkIssued(root) && intermediate.verify(root.publicKey), ca).toBe(true);
    }
    for (const [leaf, ca] of [
      ['cp-1/pki/apiserver.crt', '_cluster/pki/ca.crt'],
      ['cp-1/pki/apiserver-kubelet-client.crt', '_cluster/pki/ca.crt'],
      ['cp-1/pki/etcd/server.crt', '_cluster/pki/etcd/ca.crt'],
      ['cp-1/pki/etcd/peer.crt', '_cluster/pki/etcd/ca.crt'],
      ['cp-1/pki/apiserver-etcd-client.crt', '_cluster/pki/etcd/ca.crt'],
      ['cp-1/pki/front-proxy-client.crt', '_cluster/pki/front-proxy-ca.crt'],
    ] as const) {
      const v = await verify(join(out, 'root-ca.crt'), join(out, ca), join(out, leaf));
      expect(v.exitCode, `${leaf}: ${v.stderr}`).toBe(0);
    }
    // No file holds a private key of the root's public key.
    for (const f of files) expect(privateKeys(await readFile(join(out, f))).some((k) => spki(createPublicKey(k)).equals(spki(root.publicKey))), f).toBe(false);
  });

  it('rotate-ca start|reissue|finish --ca etcd-ca: the token signs the new intermediate; the PIN is in no argv', async () => {
    const root = await cert(join(out, 'root-ca.crt'));
    const oldEtcd = await cert(join(out, '_cluster/pki/etcd/ca.crt'));
    const pinEnv = { ...token.env, KUBE_PKI_CA_PIN_FILE: token.pinFile };
    const start = await traced(['rotate-ca', 'start', '--ca', 'etcd-ca', '--config', file, '--out', out, '--json'], pinEnv);
    ok(start);
    expect(start.execs.filter((l) => l.includes('-keyform') && l.includes(URI)).length).toBe(1);
    for (const l of start.execs) expect(l.includes(token.pin)).toBe(false);
    expect(start.stdout).not.toContain(token.pin);
    ok(await kubePki(['rotate-ca', 'reissue', '--ca', 'etcd-ca', '--config', file, '--out', out], { env: token.env }));
    ok(await kubePki(['rotate-ca', 'finish', '--ca', 'etcd-ca', '--config', file, '--out', out], { env: token.env }));
    const etcd = await cert(join(out, '_cluster/pki/etcd/ca.crt'));
    expect(etcd.fingerprint256).not.toBe(oldEtcd.fingerprint256);
    expect(etcd.checkIssued(root) && etcd.verify(root.publicKey)).toBe(true);
    for (const leaf of ['cp-1/pki/etcd/server.crt', 'cp-1/pki/etcd/peer.crt', 'cp-1/pki/apiserver-etcd-client.crt']) {
      const v = await verify(join(out, 'root-ca.crt'), join(out, '_cluster/pki/etcd/ca.crt'), join(out, leaf));
      expect(v.exitCode, `${leaf}: ${v.stderr}`).toBe(0);
    }
    const check = await kubePki(['check', '--config', file, '--out', out], { env: token.env });
    ok(check);
  });

  it('renew-ca --ca root-ca --ca front-proxy-ca: the token signs both (subject and key identifier kept); old leaves verify; dry run checks the token too', async () => {
    const before = { root: await cert(join(out, 'root-ca.crt')), fp: await cert(join(out, '_cluster/pki/front-proxy-ca.crt')) };
    const args = ['renew-ca', '--ca', 'root-ca', '--ca', 'front-proxy-ca', '--config', file, '--out', out];
    // No PIN: exit 2 naming the option, also in a dry run; nothing written.
    for (const extra of [[], ['--dry-run']]) {
      const refused = await kubePki([...args, ...extra], { env: token.env });
      expect(refused.exitCode, refused.stderr).toBe(2);
      expect(refused.stderr).toContain('--ca-pin-file');
    }
    expect((await cert(join(out, 'root-ca.crt'))).fingerprint256).toBe(before.root.fingerprint256);
    const run = await traced([...args, '--ca-pin-file', token.pinFile], token.env);
    ok(run);
    expect(run.execs.filter((l) => l.includes('-keyform') && l.includes(URI)).length).toBeGreaterThanOrEqual(2);
    for (const l of run.execs) expect(l.includes(token.pin)).toBe(false);
    const root = await cert(join(out, 'root-ca.crt'));
    const fp = await cert(join(out, '_cluster/pki/front-proxy-ca.crt'));
    expect(root.serialNumber).not.toBe(before.root.serialNumber);
    expect(root.subject).toBe(before.root.subject);
    expect(spki(root.publicKey).equals(spki(before.root.publicKey))).toBe(true);
    expect(root.verify(root.publicKey)).toBe(true);
    expect(fp.serialNumber).not.toBe(before.fp.serialNumber);
    expect(fp.subject).toBe(before.fp.subject);
    expect(fp.checkIssued(root) && fp.verify(root.publicKey)).toBe(true);
    const v = await verify(join(out, 'root-ca.crt'), join(out, '_cluster/pki/front-proxy-ca.crt'), join(out, 'cp-1/pki/front-proxy-client.crt'));
    expect(v.exitCode, v.stderr).toBe(0);
    ok(await kubePki(['check', '--config', file, '--out', out], { env: token.env }));
  });
});

describe('what to fix: a wrong PIN, a missing token, a wrong object, a key of the wrong kind, no PIN file: exit 2, nothing written (dry runs too)', () => {
  let token: TestToken;
  let out: string;
  let file: string;
  const URI = 'pkcs11:token=kube-err;object=root-ca';

  beforeAll(async () => {
    token = await makeToken(dir, 'kube-err', '112358');
    file = await config('errors', HARDWAY(URI));
    out = join(dir, 'errors');
    ok(await kubePki(['root', 'init', '--config', file, '--out', out, '--ca-pin-file', token.pinFile], { env: token.env }));
  });

  /** gen --replace-ca (the root must sign) and its dry run: exit 2, the message, the folder unchanged. */
  const refused = async (yaml: string, env: Record<string, string>, pinArgs: string[], message: RegExp) => {
    const f = await config(`case-${++traces}`, yaml);
    const before = await snapshot(out);
    for (const dry of [['--dry-run'], []]) {
      const r = await kubePki(['gen', '--config', f, '--out', out, '--replace-ca', ...dry, ...pinArgs], { env: { ...token.env, KUBE_PKI_CA_PIN_FILE: '', ...env } });
      expect(r.exitCode, `${dry.join(' ')} ${r.stdout}\n${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).toMatch(/nothing was written/);
      expect(`${r.stdout}${r.stderr}`).not.toContain(token.pin);
    }
    expect(await snapshot(out)).toEqual(before);
  };

  it('a wrong PIN', async () => {
    const wrong = join(dir, 'wrong.pin');
    await writeFile(wrong, '000000\n', { mode: 0o600 });
    await refused(HARDWAY(URI), {}, ['--ca-pin-file', wrong], /the token refused the PIN in --ca-pin-file ".*wrong\.pin": correct the file/);
  });

  it('a missing token', async () => {
    await refused(HARDWAY('pkcs11:token=no-such-token;object=root-ca'), {}, ['--ca-pin-file', token.pinFile], /no token matches pkcs11:token=no-such-token;object=root-ca through .*: plug the token in/);
  });

  it('a wrong object', async () => {
    await refused(HARDWAY('pkcs11:token=kube-err;object=not-the-root'), {}, ['--ca-pin-file', token.pinFile], /the token has no private key pkcs11:token=kube-err;object=not-the-root: correct object=/);
  });

  it('a key of the wrong kind, and another key than the root certificate\'s', async () => {
    await refused(HARDWAY(URI, '{ algorithm: rsa, size: 4096 }'), {}, ['--ca-pin-file', token.pinFile], /the token's key pkcs11:token=kube-err;object=root-ca is ECDSA P-256, but rootCA\.pkcs11\.key asks for RSA 4096: set rootCA\.pkcs11\.key to ECDSA P-256/);
    await makeKeyWithTokenTools(token, 'other-key', 'EC:prime256v1');
    await refused(HARDWAY('pkcs11:token=kube-err;object=other-key'), {}, ['--ca-pin-file', token.pinFile], /the token's key pkcs11:token=kube-err;object=other-key is not the key of root-ca\.crt/);
  });

  it('no PIN file, or a PIN in the URI', async () => {
    await refused(HARDWAY(URI), {}, [], /ca must be signed by the root CA key in the token pkcs11:token=kube-err;object=root-ca: give --ca-pin-file FILE \(or KUBE_PKI_CA_PIN_FILE=FILE\)/);
    const r = await kubePki(['gen', '--config', await config('pin-uri', HARDWAY(`${URI}?pin-value=112358`)), '--out', out, '--dry-run']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/rootCA\.pkcs11\.uri.*must not carry the PIN \(pin-value, pin-source\)/);
  });

  it('root init: the same refusals before anything is made; --use-existing-key certifies a key made by the token\'s own tools', async () => {
    const fresh = join(dir, 'fresh');
    const wrong = join(dir, 'wrong2.pin');
    await writeFile(wrong, '999999\n', { mode: 0o600 });
    const cases: [string, string, RegExp][] = [
      [HARDWAY('pkcs11:token=kube-err;object=new-root'), wrong, /the token refused the PIN/],
      [HARDWAY('pkcs11:token=absent;object=new-root'), token.pinFile, /no token matches pkcs11:token=absent;object=new-root/],
    ];
    for (const [yaml, pin, message] of cases) {
      const f = await config(`init-${++traces}`, yaml);
      for (const dry of [['--dry-run'], []]) {
        const r = await kubePki(['root', 'init', '--config', f, '--out', fresh, '--ca-pin-file', pin, ...dry], { env: token.env });
        expect(r.exitCode, r.stderr).toBe(2);
        expect(r.stderr).toMatch(message);
      }
    }
    expect(await snapshot(fresh)).toEqual(new Map());
    expect((await listObjects(token)).some((o) => o.label === 'new-root')).toBe(false);

    // A key the token's own tools made (as a YubiKey PIV slot's): certified as it is, with the flag.
    await makeKeyWithTokenTools(token, 'piv-like', 'EC:secp384r1');
    const f = await config('existing', HARDWAY('pkcs11:token=kube-err;object=piv-like', '{ algorithm: ecdsa, curve: P-384 }'));
    const refusedInit = await kubePki(['root', 'init', '--config', f, '--out', fresh, '--ca-pin-file', token.pinFile], { env: token.env });
    expect(refusedInit.exitCode, `${refusedInit.signal ?? ''} ${refusedInit.stdout}\n${refusedInit.stderr}`).toBe(2);
    expect(refusedInit.stderr).toMatch(/already holds .*ECDSA P-384.*--use-existing-key/);
    const used = await kubePki(['root', 'init', '--config', f, '--out', fresh, '--ca-pin-file', token.pinFile, '--use-existing-key'], { env: token.env });
    ok(used);
    expect(used.stdout).toMatch(/found in the token \(ECDSA P-384; made by its own tools\)/);
    const root = await cert(join(fresh, 'root-ca.crt'));
    expect(root.publicKey.asymmetricKeyDetails?.namedCurve).toBe('secp384r1');
    ok(await kubePki(['gen', '--config', f, '--out', fresh, '--ca-pin-file', token.pinFile], { env: token.env }));
    const v = await verify(join(fresh, 'root-ca.crt'), join(fresh, 'ca.crt'), join(fresh, 'admin.crt'));
    expect(v.exitCode, v.stderr).toBe(0);
  });
});

describe('a token root over a running cluster whose CAs are self-signed; bad descriptions', () => {
  it('gen refuses before root init; root init, then rotate-ca start|reissue|finish puts the token root over the old CA', async () => {
    const token = await makeToken(dir, 'kube-adopt', '4242-adopt');
    const plain = `profile: hardway
apiServer: { endpoint: 192.168.36.30 }
nodes:
  - { name: master-1, address: 192.168.36.11, role: controlplane }
`;
    const out = join(dir, 'adopt');
    ok(await kubePki(['gen', '--config', await config('adopt-plain', plain), '--out', out]));
    const oldCa = await cert(join(out, 'ca.crt'));
    const file = await config('adopt', `${plain}rootCA:\n  pkcs11: { uri: "pkcs11:token=kube-adopt;object=root" }\n`);
    const env = { ...token.env, KUBE_PKI_CA_PIN_FILE: token.pinFile };
    const before = await snapshot(out);
    const early = await kubePki(['gen', '--config', file, '--out', out], { env });
    expect(early.exitCode).toBe(2);
    expect(early.stderr).toMatch(/root-ca\.crt is not there: the root CA key is in the token pkcs11:token=kube-adopt;object=root; make its certificate first with kube-pki root init/);
    expect(await snapshot(out)).toEqual(before);
    ok(await kubePki(['root', 'init', '--config', file, '--out', out], { env }));
    const refused = await kubePki(['gen', '--config', file, '--out', out], { env });
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toMatch(/kube-pki rotate-ca start --ca-pin-file FILE does it without an outage/);
    for (const phase of ['start', 'reissue', 'finish']) ok(await kubePki(['rotate-ca', phase, '--config', file, '--out', out], { env }));
    const root = await cert(join(out, 'root-ca.crt'));
    const ca = await cert(join(out, 'ca.crt'));
    expect(ca.fingerprint256).not.toBe(oldCa.fingerprint256);
    expect(ca.checkIssued(root) && ca.verify(root.publicKey)).toBe(true);
    const v = await verify(join(out, 'root-ca.crt'), join(out, 'ca.crt'), join(out, 'admin.crt'));
    expect(v.exitCode, v.stderr).toBe(0);
  });

  it('rootCA.pkcs11 fields: a URI without key or token, with a query, an unknown attribute; a module that is not there; RSA 2048', async () => {
    const out = join(dir, 'bad-fields');
    const pin = join(dir, 'bad-fields.pin');
    await writeFile(pin, '123456\n', { mode: 0o600 });
    const cases: [string, RegExp][] = [
      [HARDWAY('pkcs11:token=kube-root'), /rootCA\.pkcs11\.uri.*must name the key with object=LABEL/],
      [HARDWAY('pkcs11:object=root-ca'), /rootCA\.pkcs11\.uri.*must name the token/],
      [HARDWAY('pkcs11:token=a;object=b?module-path=/x.so'), /rootCA\.pkcs11\.uri.*must have no query part/],
      [HARDWAY('pkcs11:token=a;object=b;colour=red'), /rootCA\.pkcs11\.uri.*unknown attribute "colour"/],
      [HARDWAY('pkcs11:token=a;object=my key'), /rootCA\.pkcs11\.uri.*must be percent-encoded/],
      [HARDWAY('pkcs11:token=a;object=b', '{ algorithm: rsa, size: 2048 }'), /rootCA\.pkcs11\.key.*must be one of 3072, 4096/],
      [HARDWAY('pkcs11:token=a;object=b').replace(SOFTHSM2_MODULE, '/nowhere/libpkcs11.so'), /rootCA\.pkcs11\.module: "\/nowhere\/libpkcs11\.so": no such file/],
    ];
    for (const [yaml, message] of cases) {
      const r = await kubePki(['root', 'init', '--config', await config(`bad-${++traces}`, yaml), '--out', out, '--dry-run', '--ca-pin-file', pin]);
      expect(r.exitCode, r.stderr).toBe(2);
      expect(r.stderr).toMatch(message);
    }
    expect(await snapshot(out)).toEqual(new Map());
  });
});

describe('a long PIN with the characters openssl.cnf and bash treat specially', () => {
  it('reaches the token whole from gen and from the script (quoted in the engine configuration, never an argument)', async () => {
    const pin = String.raw`p1n with "quotes" \back\slash $HOME #hash 'single' 0123456789`;
    const token = await makeToken(dir, 'kube-long', pin);
    const file = await config('long-pin', HARDWAY('pkcs11:token=kube-long;object=root-ca'));
    const out = join(dir, 'long-pin');
    const env = { ...token.env, KUBE_PKI_CA_PIN_FILE: token.pinFile };
    const init = await traced(['root', 'init', '--config', file, '--out', out], env);
    ok(init);
    const run = await traced(['gen', '--config', file, '--out', out], env);
    ok(run);
    for (const l of [...init.execs, ...run.execs]) expect(l.includes('#hash'), l.slice(0, 200)).toBe(false);
    const v = await verify(join(out, 'root-ca.crt'), join(out, 'ca.crt'), join(out, 'admin.crt'));
    expect(v.exitCode, v.stderr).toBe(0);

    const script = await kubePki(['script', '--config', file], { env });
    ok(script);
    expect(script.stdout).not.toContain('#hash');
    const path = join(dir, 'long-pin.sh');
    await writeFile(path, script.stdout);
    const made = join(dir, 'long-pin-scripted');
    await execa('mkdir', ['-m', '700', made]);
    const bash = await execa('bash', [path], { cwd: made, reject: false, stdin: 'ignore', all: true, env });
    expect(bash.exitCode, bash.all).toBe(0);
    const again = await verify(join(made, 'root-ca.crt'), join(made, 'ca.crt'), join(made, 'admin.crt'));
    expect(again.exitCode, again.stderr).toBe(0);
  });
});

describe('root init without p11tool', () => {
  it('exit 2 naming gnutls-bin and --use-existing-key, before anything is made (a dry run too)', async () => {
    const token = await makeToken(dir, 'kube-nop11', '8080');
    const file = await config('nop11', HARDWAY('pkcs11:token=kube-nop11;object=root-ca'));
    const bin = join(dir, 'bin-openssl-only');
    await execa('mkdir', ['-p', bin]);
    await execa('ln', ['-s', (await execa('sh', ['-c', 'command -v openssl'])).stdout.trim(), join(bin, 'openssl')]);
    const out = join(dir, 'nop11');
    for (const dry of [['--dry-run'], []]) {
      const r = await execa(process.execPath, [CLI, 'root', 'init', '--config', file, '--out', out, '--ca-pin-file', token.pinFile, ...dry], {
        reject: false,
        stdin: 'ignore',
        env: { ...token.env, CI: '1', PATH: bin },
        extendEnv: false,
      });
      expect(r.exitCode, r.stderr).toBe(2);
      expect(r.stderr).toMatch(/p11tool was not found on PATH: .*apt-get install gnutls-bin.*--use-existing-key; nothing was written/);
    }
    expect(await snapshot(out)).toEqual(new Map());
    expect((await listObjects(token)).some((o) => o.label === 'root-ca')).toBe(false);
  });
});
