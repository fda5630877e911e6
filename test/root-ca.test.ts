import { X509Certificate, createHash, createPrivateKey } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CheckReport } from '../src/check/report.js';
import { kubePki, tempDir } from './helpers/cli.js';
import { listFiles, opensslFacts } from './helpers/kubeadm.js';
import { ROOT_HARDWAY_YAML as HARDWAY } from './helpers/rotation.js';

// rootCA: one root CA over the cluster's CAs, its key encrypted at rest and kept out of every node's
// tree (README "A root CA"). Real openssl is the oracle for chains and for the encrypted key.

const PASSPHRASE = 'correct horse battery staple 15';

const KUBEADM = (extra = 'rootCA: {}') => `profile: kubeadm
key: { algorithm: ecdsa, curve: P-256 }
${extra}
apiServer: { endpoint: 192.168.15.30 }
nodes:
  - { name: cp-1, address: 192.168.15.11, role: controlplane }
  - { name: cp-2, address: 192.168.15.12, role: controlplane }
  - { name: worker-1, address: 192.168.15.21, role: worker }
`;

const KUBEADM_CAS = ['_cluster/pki/ca', '_cluster/pki/etcd/ca', '_cluster/pki/front-proxy-ca'];

let dir: string;
let cleanup: () => Promise<void>;
let passFile: string;

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('kube-pki-root-'));
  passFile = join(dir, 'root.pass');
  await writeFile(passFile, `${PASSPHRASE}\n`, { mode: 0o600 });
});
afterAll(async () => cleanup());

const config = async (name: string, yaml: string) => {
  const file = join(dir, `${name}.yaml`);
  await writeFile(file, yaml);
  return file;
};
const ok = (r: { exitCode?: number; stdout: string; stderr: string }) => expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
const verify = (root: string, intermediate: string, leaf: string) =>
  execa('openssl', ['verify', '-CAfile', root, '-untrusted', intermediate, leaf], { reject: false, stdin: 'ignore' });
const cert = async (file: string) => new X509Certificate(await readFile(file));
/** Every file of a folder with its bytes (a snapshot: "nothing written" compares two of them). */
const snapshot = async (root: string) => {
  const files = await listFiles(root).catch(() => [] as string[]);
  return new Map(await Promise.all(files.map(async (f) => [f, createHash('sha256').update(await readFile(join(root, f))).digest('hex')] as const)));
};

/**
 * Does a file (or a text) hold this PEM file's body, as text or base64-encoded as a kubeconfig embeds
 * it? (Offsets skip the BEGIN line every key shares; 60 base64 characters are 45 whole bytes.)
 */
const holds = (data: Buffer | string, pem: string) => {
  const buf = Buffer.isBuffer(data) ? data : Buffer.from(data);
  return buf.includes(pem.slice(40, 200)) || buf.includes(Buffer.from(pem).toString('base64').slice(60, 124));
};

describe('kubeadm profile under a root CA', () => {
  let out: string;
  let file: string;
  const at = (...p: string[]) => join(out, ...p);
  let genRun: Awaited<ReturnType<typeof kubePki>>;

  beforeAll(async () => {
    out = join(dir, 'kubeadm');
    file = await config('kubeadm', KUBEADM());
    genRun = await kubePki(['gen', '--config', file, '--out', out, '--ca-passphrase-file', passFile, '--json']);
    ok(genRun);
  });

  it('writes the root at the top of the folder: a self-signed CA, its key 0600 and encrypted (PKCS#8, AES-256)', async () => {
    const root = await cert(at('root-ca.crt'));
    expect(root.subject).toBe('CN=kubernetes-root-ca');
    expect(root.verify(root.publicKey)).toBe(true);
    expect(root.ca).toBe(true);
    const days = (Date.parse(root.validTo) - Date.parse(root.validFrom)) / 86_400_000;
    expect(Math.round(days)).toBe(7300);
    const key = await readFile(at('root-ca.key'), 'utf8');
    expect(key.split('\n')[0]).toBe('-----BEGIN ENCRYPTED PRIVATE KEY-----');
    expect((await stat(at('root-ca.key'))).mode & 0o777).toBe(0o600);
    const asn1 = await execa('openssl', ['asn1parse', '-in', at('root-ca.key')], { stdin: 'ignore' });
    expect(asn1.stdout).toMatch(/aes-256-cbc/);
    // Only the passphrase opens it (openssl and Node alike); the key is the certificate's.
    expect(() => createPrivateKey(key)).toThrow();
    expect(root.checkPrivateKey(createPrivateKey({ key, passphrase: PASSPHRASE }))).toBe(true);
    const opened = await execa('openssl', ['pkey', '-in', at('root-ca.key'), '-passin', `file:${passFile}`, '-noout'], { reject: false, stdin: 'ignore' });
    expect(opened.exitCode).toBe(0);
  });

  it('makes the three CAs intermediates of the root: CA:TRUE, pathlen:0, keyCertSign and cRLSign, within the root\'s validity', async () => {
    const root = await cert(at('root-ca.crt'));
    for (const ca of KUBEADM_CAS) {
      const c = await cert(at(`${ca}.crt`));
      expect(c.issuer, ca).toBe('CN=kubernetes-root-ca');
      expect(c.checkIssued(root) && c.verify(root.publicKey), ca).toBe(true);
      const facts = await opensslFacts(at(`${ca}.crt`));
      expect(facts.basicConstraints, ca).toBe('CA:TRUE, pathlen:0');
      expect(facts.keyUsage, ca).toEqual(expect.arrayContaining(['Certificate Sign', 'CRL Sign']));
      expect(Date.parse(c.validTo)).toBeLessThanOrEqual(Date.parse(root.validTo));
      // The file holds the intermediate only: each component trusts its own CA, not the root's others.
      expect((await readFile(at(`${ca}.crt`), 'utf8')).match(/BEGIN CERTIFICATE/g)).toHaveLength(1);
    }
  });

  it('every leaf verifies up to the root: openssl verify -CAfile root-ca.crt -untrusted <intermediate>, and node:crypto', async () => {
    const root = await cert(at('root-ca.crt'));
    const leaves = (await listFiles(out)).filter((f) => f.endsWith('.crt') && !/(^|\/)(ca|front-proxy-ca|root-ca)\.crt$/.test(f));
    expect(leaves.length).toBeGreaterThan(15);
    for (const leaf of leaves) {
      const issuer = (await cert(at(leaf))).issuer;
      const ca = { 'CN=kubernetes-ca': 'pki/ca', 'CN=etcd-ca': 'pki/etcd/ca', 'CN=kubernetes-front-proxy-ca': 'pki/front-proxy-ca' }[issuer];
      expect(ca, `${leaf} issued by ${issuer}`).toBeDefined();
      const intermediate = at('_cluster', `${ca}.crt`);
      const v = await verify(at('root-ca.crt'), intermediate, at(leaf));
      expect(v.exitCode, `${leaf}: ${v.stdout}${v.stderr}`).toBe(0);
      const [l, i] = [await cert(at(leaf)), await cert(intermediate)];
      expect(l.checkIssued(i) && l.verify(i.publicKey) && i.checkIssued(root) && i.verify(root.publicKey), leaf).toBe(true);
      // Without the intermediate, or against the intermediate alone, OpenSSL has no chain to a root.
      expect((await execa('openssl', ['verify', '-CAfile', at('root-ca.crt'), at(leaf)], { reject: false, stdin: 'ignore' })).exitCode).not.toBe(0);
    }
  });

  it('keeps the root key out of every node tree, kubeconfig and the --json output; the passphrase is only in its own file', async () => {
    const files = await listFiles(out);
    expect(files.filter((f) => /root-ca/.test(f))).toEqual(['root-ca.crt', 'root-ca.key']);
    const encrypted = await readFile(at('root-ca.key'), 'utf8');
    const plain = createPrivateKey({ key: encrypted, passphrase: PASSPHRASE }).export({ type: 'pkcs8', format: 'pem' }) as string;
    const pass = Buffer.from(PASSPHRASE);
    for (const f of files.filter((name) => name !== 'root-ca.key')) {
      const data = await readFile(at(f));
      expect(holds(data, encrypted), f).toBe(false);
      expect(holds(data, plain), f).toBe(false);
      expect(data.includes(pass), f).toBe(false);
    }
    for (const text of [genRun.stdout, genRun.stderr]) {
      expect(holds(text, encrypted)).toBe(false);
      expect(holds(text, plain)).toBe(false);
      expect(text).not.toContain(PASSPHRASE);
    }
    // The kubeconfigs embed the intermediate kubernetes-ca, not the root.
    const admin = await readFile(at('cp-1/admin.conf'), 'utf8');
    expect(admin).toContain((await readFile(at('_cluster/pki/ca.crt'))).toString('base64'));
    expect(holds(admin, await readFile(at('root-ca.crt'), 'utf8'))).toBe(false);
  });

  it('needs no passphrase for a gen that only makes leaves, nor for renew', async () => {
    const before = await readFile(at('_cluster/pki/ca.crt'));
    await execa('rm', [at('cp-2/pki/apiserver.crt'), at('cp-2/pki/apiserver.key')]);
    const r = await kubePki(['gen', '--config', file, '--out', out], { env: { KUBE_PKI_CA_PASSPHRASE_FILE: '' } });
    ok(r);
    expect(r.stdout).toMatch(/1 created/);
    expect((await readFile(at('_cluster/pki/ca.crt'))).equals(before)).toBe(true);
    const renewed = await kubePki(['renew', 'admin', '--config', file, '--out', out]);
    ok(renewed);
  });

  it('check: the chain up to the root, pathlen:0, the root in the CA table with its expiry; a root key in a node tree is an error', async () => {
    const r = await kubePki(['check', '--config', file, '--out', out, '--json']);
    ok(r);
    const report = JSON.parse(r.stdout) as CheckReport;
    const root = report.cas.find((c) => c.file === 'root-ca.crt')!;
    expect(root.notAfter).toBe(new Date((await cert(at('root-ca.crt'))).validTo).toISOString());
    expect(root.problems.map((p) => p.code)).toEqual(['key-encrypted']);
    for (const ca of KUBEADM_CAS) expect(report.cas.find((c) => c.file === `${ca}.crt`)).toMatchObject({ ca: 'root-ca.crt', status: 'ok' });
    const text = await kubePki(['check', '--config', file, '--out', out]);
    expect(text.stdout).toMatch(/^root-ca\.crt +\w{3} \d\d, \d{4}/m);

    await writeFile(at('cp-1/pki/root-ca.key.bak'), await readFile(at('root-ca.key')), { mode: 0o600 });
    const bad = await kubePki(['check', '--config', file, '--out', out, '--json']);
    expect(bad.exitCode).toBe(1);
    const rows = (JSON.parse(bad.stdout) as CheckReport).files;
    expect(rows).toContainEqual(expect.objectContaining({ file: 'cp-1/pki/root-ca.key.bak', problems: [expect.objectContaining({ code: 'root-key-on-node' })] }));
    await execa('rm', [at('cp-1/pki/root-ca.key.bak')]);
  });

  it('check and gen find an intermediate of the root without pathlen:0', async () => {
    const copy = join(dir, 'kubeadm-no-pathlen');
    await execa('cp', ['-a', out, copy]);
    const cnf = join(dir, 'no-pathlen.cnf');
    await writeFile(cnf, '[req]\ndistinguished_name = dn\n[dn]\n[v3_ca]\nbasicConstraints = critical, CA:TRUE\nkeyUsage = critical, digitalSignature, keyCertSign, cRLSign\nsubjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid:always\n');
    const csr = join(dir, 'front-proxy-ca.csr');
    await execa('openssl', ['req', '-new', '-key', join(copy, '_cluster/pki/front-proxy-ca.key'), '-subj', '/CN=kubernetes-front-proxy-ca', '-config', cnf, '-out', csr]);
    await execa('openssl', ['x509', '-req', '-in', csr, '-CA', join(copy, 'root-ca.crt'), '-CAkey', join(copy, 'root-ca.key'), '-passin', `file:${passFile}`,
      '-days', '3650', '-set_serial', '0x1515', '-extfile', cnf, '-extensions', 'v3_ca', '-out', join(copy, '_cluster/pki/front-proxy-ca.crt')]);
    const r = await kubePki(['check', '--config', file, '--out', copy, '--json']);
    expect(r.exitCode).toBe(1);
    const row = (JSON.parse(r.stdout) as CheckReport).cas.find((c) => c.file === '_cluster/pki/front-proxy-ca.crt')!;
    expect(row.problems).toContainEqual(expect.objectContaining({ code: 'root-chain', message: expect.stringMatching(/basicConstraints has no pathlen, an intermediate of the root needs pathlen:0/) }));
    const g = await kubePki(['gen', '--config', file, '--out', copy]);
    expect(g.exitCode).toBe(3);
    expect(g.stdout).toMatch(/stale: front-proxy-ca: basicConstraints has no pathlen.*a CA is only replaced with --replace-ca/);
  });

  it('distribute refuses to send the root key even where a placement rule sends a file', async () => {
    const copy = join(dir, 'kubeadm-tampered');
    await execa('cp', ['-a', out, copy]);
    // cp-1 receives pki/etcd/ca.key by the catalog: here it holds the root's key instead.
    await writeFile(join(copy, 'cp-1/pki/etcd/ca.key'), await readFile(at('root-ca.key')), { mode: 0o600 });
    const r = await kubePki(['distribute', '--dry-run', '--config', file, '--out', copy], { env: { SSH_AUTH_SOCK: '' } });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/refusing to distribute: cp-1\/pki\/etcd\/ca\.key holds the root CA's private key \(root-ca\.key\)/);
  });

  it('explain root-ca draws the topology', async () => {
    const r = await kubePki(['explain', 'root-ca', '--config', file, '--out', out]);
    ok(r);
    expect(r.stdout).toContain('THE ROOT CA AND ITS INTERMEDIATES');
    expect(r.stdout).toMatch(/├── _cluster\/pki\/ca\.crt {2}CN=kubernetes-ca, pathlen:0/);
    expect(r.stdout).toMatch(/└── _cluster\/pki\/front-proxy-ca\.crt/);
    const ca = await kubePki(['explain', 'ca', '--config', file, '--out', out]);
    expect(ca.stdout).toMatch(/signed by root-ca/);
    expect(ca.stdout).toMatch(/CA:TRUE, pathlen:0/);
    const without = await kubePki(['explain', 'root-ca', '--config', await config('no-root', KUBEADM(''))]);
    expect(without.exitCode).toBe(2);
    expect(without.stderr).toMatch(/no rootCA/);
  });

  it('gen --replace-ca --ca etcd-ca replaces that intermediate only (with the passphrase) and re-issues what it signs', async () => {
    const before = await snapshot(out);
    const noPass = await kubePki(['gen', '--config', file, '--out', out, '--replace-ca', '--ca', 'etcd-ca']);
    expect(noPass.exitCode).toBe(2);
    expect(noPass.stderr).toMatch(/--ca-passphrase-file/);
    expect(await snapshot(out)).toEqual(before);

    const r = await kubePki(['gen', '--config', file, '--out', out, '--replace-ca', '--ca', 'etcd-ca'], { env: { KUBE_PKI_CA_PASSPHRASE_FILE: passFile } });
    ok(r);
    const after = await snapshot(out);
    const changed = [...after.keys()].filter((f) => before.get(f) !== after.get(f) && !f.startsWith('backup-')).sort();
    expect(changed).toEqual([
      '.kube-pki-ca-keys.json', // the new intermediate's key is one this folder holds (src/inspect/held-keys.ts)
      '_cluster/pki/apiserver-etcd-client.crt',
      '_cluster/pki/etcd/ca.crt',
      '_cluster/pki/etcd/ca.key',
      '_cluster/pki/etcd/healthcheck-client.crt',
      'cp-1/pki/apiserver-etcd-client.crt',
      'cp-1/pki/etcd/ca.crt',
      'cp-1/pki/etcd/ca.key',
      'cp-1/pki/etcd/healthcheck-client.crt',
      'cp-1/pki/etcd/peer.crt',
      'cp-1/pki/etcd/server.crt',
      'cp-2/pki/apiserver-etcd-client.crt',
      'cp-2/pki/etcd/ca.crt',
      'cp-2/pki/etcd/ca.key',
      'cp-2/pki/etcd/healthcheck-client.crt',
      'cp-2/pki/etcd/peer.crt',
      'cp-2/pki/etcd/server.crt',
    ]);
    const v = await verify(at('root-ca.crt'), at('_cluster/pki/etcd/ca.crt'), at('cp-2/pki/etcd/peer.crt'));
    expect(v.exitCode, v.stderr).toBe(0);
  });

  it('refuses bad --ca values and a wrong passphrase (exit 2, nothing written)', async () => {
    const before = await snapshot(out);
    const cases: [string[], RegExp][] = [
      [['--ca', 'etcd-ca'], /--ca etcd-ca: only with --replace-ca/],
      [['--replace-ca', '--ca', 'root-ca'], /gen never replaces the root CA/],
      [['--replace-ca', '--ca', 'bogus'], /--ca "bogus": no such CA; the CAs are ca, etcd-ca, front-proxy-ca/],
    ];
    for (const [args, message] of cases) {
      const r = await kubePki(['gen', '--config', file, '--out', out, '--ca-passphrase-file', passFile, ...args]);
      expect(r.exitCode, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
    }
    const wrong = join(dir, 'wrong.pass');
    await writeFile(wrong, 'not the passphrase\n');
    const r = await kubePki(['gen', '--config', file, '--out', out, '--replace-ca', '--ca', 'ca', '--ca-passphrase-file', wrong, '--json']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/cannot decrypt root-ca\.key/);
    expect(JSON.parse(r.stdout)).toMatchObject({ result: 'error', exitCode: 2 });
    expect(r.stdout + r.stderr).not.toContain('not the passphrase');
    expect(await snapshot(out)).toEqual(before);
  });
});

describe('bad input under a root CA: exit 2, the field or option named, nothing written', () => {
  it('no passphrase file where the root must sign, an empty one, a missing one', async () => {
    const file = await config('fresh', KUBEADM());
    const out = join(dir, 'fresh');
    const empty = join(dir, 'empty.pass');
    await writeFile(empty, '\nsecond line is not read by openssl\n');
    const cases: [string[], Record<string, string>, RegExp][] = [
      [[], {}, /root-ca, ca, etcd-ca, front-proxy-ca need the encrypted root CA key: give --ca-passphrase-file FILE \(or KUBE_PKI_CA_PASSPHRASE_FILE=FILE\)/],
      [['--ca-passphrase-file', empty], {}, /--ca-passphrase-file ".*empty\.pass": the file is empty/],
      [[], { KUBE_PKI_CA_PASSPHRASE_FILE: join(dir, 'nowhere.pass') }, /KUBE_PKI_CA_PASSPHRASE_FILE=".*nowhere\.pass": no such file/],
    ];
    for (const [args, env, message] of cases) {
      const r = await kubePki(['gen', '--config', file, '--out', out, ...args], { env });
      expect(r.exitCode, r.stderr).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(await stat(out).catch(() => null)).toBeNull();
    }
    // The other commands that take the option check it the same way.
    for (const command of [['renew', '--all'], ['csr'], ['script']]) {
      const r = await kubePki([...command, '--config', file, '--out', out, '--ca-passphrase-file', empty].filter((a) => command[0] !== 'script' || !['--out', out].includes(a)));
      expect(r.exitCode, command.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/--ca-passphrase-file ".*empty\.pass": the file is empty/);
    }
  });

  it('rootCA.validityDays not longer than the CAs it signs, and bad rootCA fields', async () => {
    const cases: [string, RegExp][] = [
      ['rootCA: { validityDays: 3650 }', /rootCA\.validityDays: 3650: must be longer than validityDays\.ca \(3650, the kubeadm default\)/],
      ['rootCA: { validityDays: 500 }\nvalidityDays: { ca: 800 }', /rootCA\.validityDays: 500: must be longer than validityDays\.ca \(800\)/],
      ['rootCA: { encrypt: "yes" }', /rootCA\.encrypt: "yes": must be true or false/],
      ['rootCA: { commonName: "Root/CN=evil" }', /rootCA\.commonName: "Root\/CN=evil": must be 1 to 64 letters/],
      ['rootCA: { colour: blue }', /rootCA\.colour: unknown field "colour"/],
    ];
    for (const [extra, message] of cases) {
      const file = await config('bad', KUBEADM(extra));
      const out = join(dir, 'bad-out');
      const r = await kubePki(['gen', '--config', file, '--out', out, '--ca-passphrase-file', passFile]);
      expect(r.exitCode, extra).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(await stat(out).catch(() => null)).toBeNull();
    }
  });
});

describe('a root that ends before the intermediates would', () => {
  it('refuses to sign an intermediate that would outlive its root (exit 2, nothing written)', async () => {
    const out = join(dir, 'short-root');
    await execa('mkdir', ['-m', '700', out]);
    // A root of the right name made by hand, for 100 days, with its key in plaintext.
    const cnf = join(dir, 'root.cnf');
    await writeFile(cnf, '[req]\ndistinguished_name = dn\n[dn]\n[v3_ca]\nbasicConstraints = critical, CA:TRUE\nkeyUsage = critical, digitalSignature, keyCertSign, cRLSign\nsubjectKeyIdentifier = hash\n');
    await execa('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', join(out, 'root-ca.key')]);
    await execa('openssl', ['req', '-x509', '-new', '-key', join(out, 'root-ca.key'), '-subj', '/CN=kubernetes-root-ca', '-days', '100', '-config', cnf, '-extensions', 'v3_ca', '-out', join(out, 'root-ca.crt')]);
    const before = await snapshot(out);
    const r = await kubePki(['gen', '--config', await config('short-root', KUBEADM()), '--out', out]);
    expect(r.exitCode, r.stdout).toBe(2);
    expect(r.stderr).toMatch(/root-ca\.crt: the root CA ends on .*; _cluster\/pki\/ca\.crt, _cluster\/pki\/etcd\/ca\.crt, _cluster\/pki\/front-proxy-ca\.crt made now for validityDays\.ca 3650 days would outlive it/);
    expect(await snapshot(out)).toEqual(before);
  });
});

describe('adding rootCA to a PKI whose CAs are self-signed', () => {
  it('is a CA replacement: refused without --replace-ca, done with it', async () => {
    const out = join(dir, 'existing');
    ok(await kubePki(['gen', '--config', await config('plain', KUBEADM('')), '--out', out]));
    const file = await config('rooted', KUBEADM());
    const before = await snapshot(out);
    const r = await kubePki(['gen', '--config', file, '--out', out, '--ca-passphrase-file', passFile]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/rootCA: _cluster\/pki\/ca\.crt, _cluster\/pki\/etcd\/ca\.crt, _cluster\/pki\/front-proxy-ca\.crt are CAs not signed by the root CA.*rotate-ca start --ca-passphrase-file FILE does it without an outage.*gen --replace-ca does it at once/);
    expect(await snapshot(out)).toEqual(before);

    ok(await kubePki(['gen', '--config', file, '--out', out, '--ca-passphrase-file', passFile, '--replace-ca']));
    const v = await verify(join(out, 'root-ca.crt'), join(out, 'cp-1/pki/ca.crt'), join(out, 'cp-1/pki/apiserver.crt'));
    expect(v.exitCode, v.stderr).toBe(0);
    ok(await kubePki(['check', '--config', file, '--out', out]));
  });
});

describe('rootCA.encrypt: false', () => {
  it('writes the root key in plaintext (0600), needs no passphrase, and still keeps it off the nodes', async () => {
    const file = await config('plain-root', HARDWAY.replace('rootCA: {', 'rootCA: { encrypt: false,'));
    const out = join(dir, 'plain-root');
    const r = await kubePki(['gen', '--config', file, '--out', out, '--json'], { env: { KUBE_PKI_CA_PASSPHRASE_FILE: '' } });
    ok(r);
    const root = JSON.parse(r.stdout).items.find((i: { name: string }) => i.name === 'root-ca');
    expect(root).toMatchObject({ group: 'ca', action: 'create', files: ['root-ca.key', 'root-ca.crt'], subject: 'CN=Lab Root CA', issuer: 'CN=Lab Root CA' });
    const key = await readFile(join(out, 'root-ca.key'), 'utf8');
    expect(key.split('\n')[0]).toBe('-----BEGIN PRIVATE KEY-----');
    expect((await stat(join(out, 'root-ca.key'))).mode & 0o777).toBe(0o600);
    expect((await cert(join(out, 'root-ca.crt'))).checkPrivateKey(createPrivateKey(key))).toBe(true);
    // A copy under a placed name is found by its public key.
    await writeFile(join(out, 'ca.key'), key, { mode: 0o600 });
    const d = await kubePki(['distribute', '--dry-run', '--config', file, '--out', out], { env: { SSH_AUTH_SOCK: '' } });
    expect(d.exitCode).toBe(2);
    expect(d.stderr).toMatch(/refusing to distribute: ca\.key holds the root CA's private key/);
  });
});

describe('hardway profile under a root CA', () => {
  let out: string;
  let file: string;

  beforeAll(async () => {
    out = join(dir, 'hardway');
    file = await config('hardway', HARDWAY);
    ok(await kubePki(['gen', '--config', file, '--out', out, '--ca-passphrase-file', passFile]));
  });

  it('signs KUBERNETES-CA with the root (RSA key encrypted with AES-256), and every leaf verifies up to it', async () => {
    const root = await cert(join(out, 'root-ca.crt'));
    expect(root.subject).toBe('CN=Lab Root CA');
    expect((await readFile(join(out, 'root-ca.key'), 'utf8')).startsWith('-----BEGIN ENCRYPTED PRIVATE KEY-----')).toBe(true);
    expect((await opensslFacts(join(out, 'ca.crt'))).basicConstraints).toBe('CA:TRUE, pathlen:0');
    for (const leaf of ['admin', 'kube-apiserver', 'etcd-server', 'worker-1', 'service-account']) {
      const v = await verify(join(out, 'root-ca.crt'), join(out, 'ca.crt'), join(out, `${leaf}.crt`));
      expect(v.exitCode, `${leaf}: ${v.stderr}`).toBe(0);
    }
  });

  it('script reads the passphrase from the file it names; the passphrase is nowhere in it, and gen keeps what it made', async () => {
    const r = await kubePki(['script', '--config', file, '--ca-passphrase-file', passFile]);
    ok(r);
    expect(r.stdout).not.toContain(PASSPHRASE);
    expect(r.stdout).toMatch(/openssl genrsa -aes256 -passout "file:\$KUBE_PKI_CA_PASSPHRASE_FILE" -out root-ca\.key 2048/);
    const script = join(dir, 'pki.sh');
    await writeFile(script, r.stdout);
    const made = join(dir, 'scripted');
    await execa('mkdir', ['-m', '700', made]);
    const run = await execa('bash', [script], { cwd: made, reject: false, stdin: 'ignore', all: true });
    expect(run.exitCode, run.all).toBe(0);
    expect(run.all).not.toContain(PASSPHRASE);
    for (const f of await listFiles(made)) expect((await readFile(join(made, f))).includes(PASSPHRASE), f).toBe(false);
    const v = await verify(join(made, 'root-ca.crt'), join(made, 'ca.crt'), join(made, 'kube-apiserver.crt'));
    expect(v.exitCode, v.stderr).toBe(0);
    const again = await kubePki(['gen', '--config', file, '--out', made]);
    ok(again);
    expect(again.stdout).toMatch(/0 created, 0 re-issued, \d+ kept, 0 stale/);
    // Without a file named, the script stops before openssl runs.
    const bare = await kubePki(['script', '--config', file], { env: { KUBE_PKI_CA_PASSPHRASE_FILE: '' } });
    await writeFile(script, bare.stdout);
    const empty = join(dir, 'scripted-bare');
    await execa('mkdir', [empty]);
    const stopped = await execa('bash', [script], { cwd: empty, reject: false, stdin: 'ignore', all: true, env: { KUBE_PKI_CA_PASSPHRASE_FILE: '' } });
    expect(stopped.exitCode).not.toBe(0);
    expect(stopped.all).toMatch(/KUBE_PKI_CA_PASSPHRASE_FILE/);
    expect(await listFiles(empty)).toEqual([]);
  });
});
