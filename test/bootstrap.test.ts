import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { kubePki, tempDir } from './helpers/cli.js';
import { parseCluster } from '../src/cluster/load.js';
import { parseCsrPem } from '../src/bootstrap/csr-der.js';
import { judgeServingCsr, type CsrObject } from '../src/bootstrap/judge.js';

// Issue 25 without a cluster: the description fields, what gen and distribute do for a bootstrap worker,
// the token commands and the files they keep, the flags, and the approver's rule on CSRs openssl makes.

const YAML = `profile: hardway
apiServer: { endpoint: 127.0.35.30 }
kubeletBootstrap: true
nodes:
  - { name: master-1, address: 127.0.35.11, role: controlplane }
  - { name: worker-1, address: 127.0.35.21, role: worker, bootstrap: false }
  - { name: worker-3, address: 127.0.35.23, role: worker }
  - { name: loadbalancer, address: 127.0.35.30, role: loadbalancer }
`;

describe('kubelet TLS bootstrap without a cluster', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let config: string;
  let out: string;
  const run = (args: string[]) => kubePki([...args, '--config', config, '--out', out]);
  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('kube-pki-bootstrap-'));
    config = join(dir, 'cluster.yaml');
    out = join(dir, 'pki');
    await writeFile(config, YAML);
    const gen = await run(['gen']);
    expect(gen.exitCode, gen.stderr).toBe(0);
  });
  afterAll(() => cleanup());

  it('resolves kubeletBootstrap per worker (bootstrap: false opts out) and refuses bootstrap or kubeletDir off workers', async () => {
    const c = parseCluster(YAML, 'c.yaml');
    expect(c.nodes.map((n) => [n.name, n.bootstrap ?? false])).toEqual([['master-1', false], ['worker-1', false], ['worker-3', true], ['loadbalancer', false]]);
    const bad = join(dir, 'bad.yaml');
    await writeFile(bad, YAML.replace('role: controlplane }', 'role: controlplane, bootstrap: true, kubeletDir: /k }'));
    const r = await kubePki(['gen', '--config', bad, '--out', join(dir, 'never')]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/nodes\[0\]\.bootstrap: true: is for workers only \(master-1 is controlplane\)/);
    expect(r.stderr).toMatch(/nodes\[0\]\.kubeletDir: "\/k": is for workers only/);
    await writeFile(bad, YAML.replace('role: worker }', 'role: worker, kubeletDir: var/lib/kubelet }'));
    expect((await kubePki(['gen', '--config', bad, '--out', join(dir, 'never')])).stderr).toMatch(/nodes\[2\]\.kubeletDir: "var\/lib\/kubelet": is not an absolute folder path/);
  });

  it('gen makes nothing for a bootstrap worker; distribute refuses until a token exists', async () => {
    const files = await readdir(out);
    expect(files.filter((f) => f.startsWith('worker-3'))).toEqual([]);
    expect(files).toContain('worker-1.crt');
    const dry = await run(['distribute', '--dry-run']);
    expect(dry.exitCode).toBe(2);
    expect(dry.stderr).toMatch(/bootstrap-kubeconfig: missing, and worker-3 join by TLS bootstrap with it: kube-pki token create/);
  });

  it('token create: [a-z0-9]{6}.[a-z0-9]{16} printed once, its Secret kept 0600 in a 0700 folder, bootstrap-kubeconfig written; --json never holds it', async () => {
    const created = await run(['token', 'create', '--ttl', '2h', '--description', 'rack 4']);
    expect(created.exitCode, created.stderr).toBe(0);
    const token = created.stdout.trim();
    expect(token).toMatch(/^[a-z0-9]{6}\.[a-z0-9]{16}$/);
    expect(created.stderr).not.toContain(token.split('.')[1]);
    const [id, secret] = token.split('.') as [string, string];
    const folder = join(out, '.kube-pki-bootstrap-tokens');
    expect((await stat(folder)).mode & 0o777).toBe(0o700);
    const file = join(folder, `bootstrap-token-${id}.yaml`);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const s = parse(await readFile(file, 'utf8')) as { metadata: object; type: string; stringData: Record<string, string> };
    expect(s.metadata).toEqual({ name: `bootstrap-token-${id}`, namespace: 'kube-system' });
    expect(s.type).toBe('bootstrap.kubernetes.io/token');
    expect(s.stringData).toMatchObject({ 'token-id': id, 'token-secret': secret, 'usage-bootstrap-authentication': 'true', 'auth-extra-groups': 'system:bootstrappers:kube-pki:default-node-token', description: 'rack 4' });
    const ttl = new Date(s.stringData.expiration!).getTime() - Date.now();
    expect(ttl).toBeGreaterThan(7000_000);
    expect(ttl).toBeLessThanOrEqual(7200_000);
    const kc = parse(await readFile(join(out, 'bootstrap-kubeconfig'), 'utf8')) as { clusters: { cluster: Record<string, string> }[]; users: { user: { token: string } }[] };
    expect((await stat(join(out, 'bootstrap-kubeconfig'))).mode & 0o777).toBe(0o600);
    expect(kc.users[0]!.user.token).toBe(token);
    expect(kc.clusters[0]!.cluster.server).toBe('https://127.0.35.30:6443');
    expect(Buffer.from(kc.clusters[0]!.cluster['certificate-authority-data']!, 'base64').equals(await readFile(join(out, 'ca.crt')))).toBe(true);

    const json = await run(['token', 'create', '--json', '--ttl', '1h']);
    expect(json.exitCode, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ result: 'created', id: expect.stringMatching(/^[a-z0-9]{6}$/), expired: false, inBootstrapKubeconfig: false });
    const second = (JSON.parse(json.stdout) as { id: string }).id;
    const secondSecret = (parse(await readFile(join(folder, `bootstrap-token-${second}.yaml`), 'utf8')) as { stringData: Record<string, string> }).stringData['token-secret']!;
    expect(json.stdout).not.toContain(secondSecret);

    const list = await kubePki(['token', 'list', '--out', out]);
    expect(list.stdout).toMatch(new RegExp(`^${id} .* valid +yes +rack 4$`, 'm'));
    expect(list.stdout).not.toContain(secret);
    expect(list.stdout).not.toContain(secondSecret);
  });

  it('token create and delete refuse bad input with exit 2, writing nothing', async () => {
    const before = await readdir(join(out, '.kube-pki-bootstrap-tokens'));
    for (const [args, message] of [
      [['token', 'create', '--ttl', '24 hours'], /--ttl: "24 hours": is not a duration like 24h/],
      [['token', 'create', '--description', 'two\nlines'], /--description: must be one line/],
      [['token', 'delete', 'NOT-AN-ID'], /give a token id/],
      [['token', 'delete', 'zzzzzz'], /no token zzzzzz/],
    ] as const) {
      const r = await run([...args]);
      expect(r.exitCode, r.stderr).toBe(2);
      expect(r.stderr).toMatch(message);
    }
    expect(await readdir(join(out, '.kube-pki-bootstrap-tokens'))).toEqual(before);
  });

  it('distribute sends a bootstrap worker ca.crt and bootstrap-kubeconfig only; manifests carries the tokens as Secrets', async () => {
    const dry = await run(['distribute', '--dry-run', '--json']);
    expect(dry.exitCode, dry.stderr).toBe(0);
    const nodes = (JSON.parse(dry.stdout) as { nodes: { node: string; files: { path: string; mode: string }[] }[] }).nodes;
    expect(nodes.find((n) => n.node === 'worker-3')!.files).toEqual([
      expect.objectContaining({ path: 'bootstrap-kubeconfig', mode: '0600' }),
      expect.objectContaining({ path: 'ca.crt', mode: '0644' }),
    ]);
    expect(nodes.find((n) => n.node === 'worker-1')!.files.map((f) => f.path)).toContain('worker-1.key');
    const m = await run(['manifests']);
    const objects = parseAllDocuments(m.stdout).map((d) => d.toJS() as { kind: string; metadata: { name: string } });
    expect(objects.filter((o) => o.kind === 'Secret').map((o) => o.metadata.name)).toHaveLength(2);
  });

  it('flags: the bootstrap worker\'s kubelet flags and KubeletConfiguration fields, the signing duration, bootstrap-token auth', async () => {
    const r = await run(['flags', '--dir', '/srv/pki']);
    expect(r.exitCode, r.stderr).toBe(0);
    for (const line of [
      '--enable-bootstrap-token-auth=true',
      '--cluster-signing-cert-file=/srv/pki/ca.crt',
      '--cluster-signing-key-file=/srv/pki/ca.key',
      '--cluster-signing-duration=24000h0m0s',
      '--controllers=*,bootstrapsigner,tokencleaner',
      '--tls-cert-file=/srv/pki/worker-1.crt   # on worker-1',
      '--bootstrap-kubeconfig=/srv/pki/bootstrap-kubeconfig   # on worker-3',
      '--kubeconfig=/var/lib/kubelet/kubeconfig   # on worker-3',
      '--cert-dir=/var/lib/kubelet/pki   # on worker-3',
      '# KubeletConfiguration of worker-3: rotateCertificates: true',
      '# KubeletConfiguration of worker-3: serverTLSBootstrap: true',
    ])
      expect(r.stdout.split('\n')).toContain(line);
    expect(r.stdout).not.toMatch(/worker-3\.(crt|key|kubeconfig)/);
  });
});

describe('kubelet TLS bootstrap, profile kubeadm', () => {
  it('makes nothing in a bootstrap worker\'s tree but pki/ca.crt; distribute sends it that and bootstrap-kubelet.conf', async () => {
    const { dir, cleanup } = await tempDir('kube-pki-bootstrap-kubeadm-');
    try {
      const config = join(dir, 'c.yaml');
      const out = join(dir, 'pki');
      await writeFile(config, 'profile: kubeadm\napiServer: { endpoint: 127.0.35.30 }\nkubeletBootstrap: true\nnodes:\n  - { name: cp-1, address: 127.0.35.11, role: controlplane }\n  - { name: w-1, address: 127.0.35.21, role: worker }\n');
      for (const args of [['gen'], ['token', 'create']]) {
        const r = await kubePki([...args, '--config', config, '--out', out]);
        expect(r.exitCode, r.stderr).toBe(0);
      }
      expect(await readdir(join(out, 'w-1'), { recursive: true })).toEqual(expect.arrayContaining(['pki', 'pki/ca.crt']));
      expect(await readdir(join(out, 'w-1'), { recursive: true })).toHaveLength(2);
      const dry = await kubePki(['distribute', '--dry-run', '--json', '--config', config, '--out', out]);
      const w1 = (JSON.parse(dry.stdout) as { nodes: { node: string; files: { path: string }[] }[] }).nodes.find((n) => n.node === 'w-1')!;
      expect(w1.files.map((f) => f.path)).toEqual(['bootstrap-kubelet.conf', 'pki/ca.crt']);
    } finally {
      await cleanup();
    }
  });
});

describe('approve-csrs: the rule, on requests openssl makes', () => {
  const cluster = parseCluster(YAML, 'c.yaml');
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => ({ dir, cleanup } = await tempDir('kube-pki-csr-')));
  afterAll(() => cleanup());
  /** `san`: the -addext value, or DNS names given in a config section (where a value may hold ", "). */
  const csr = async (subject: string, san: string | { dns: string[] }): Promise<string> => {
    const args = ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', '/dev/null', '-subj', subject];
    if (typeof san === 'string') return (await execa('openssl', [...args, '-addext', `subjectAltName=${san}`])).stdout;
    const cnf = join(dir, 'alt.cnf');
    await writeFile(cnf, `[req]\ndistinguished_name = dn\nreq_extensions = ext\n[dn]\n[ext]\nsubjectAltName = @alt\n[alt]\n${san.dns.map((d, i) => `DNS.${i + 1} = "${d}"`).join('\n')}\n`);
    return (await execa('openssl', [...args, '-config', cnf])).stdout;
  };
  const object = (pem: string, user = 'system:node:worker-3', usages = ['digital signature', 'server auth']): CsrObject => ({
    metadata: { name: 'x' },
    spec: { signerName: 'kubernetes.io/kubelet-serving', username: user, groups: ['system:nodes', 'system:authenticated'], usages, request: Buffer.from(pem).toString('base64') },
  });
  const judge = async (subject: string, san: string | { dns: string[] }, user?: string, usages?: string[]) => {
    const pem = await csr(subject, san);
    return judgeServingCsr(cluster, object(pem, user, usages), parseCsrPem(pem));
  };
  const W3 = '/O=system:nodes/CN=system:node:worker-3';

  it('approves a worker naming itself (name, address; RSA usages too)', async () => {
    expect(await judge(W3, 'DNS:worker-3,IP:127.0.35.23')).toMatchObject({ action: 'approve', node: 'worker-3' });
    expect(await judge(W3, 'IP:127.0.35.23', undefined, ['digital signature', 'key encipherment', 'server auth'])).toMatchObject({ action: 'approve' });
  });

  it('denies another address, another node\'s name, a node not in the description, a non-worker, odd subjects and usages, other SAN kinds', async () => {
    expect(await judge(W3, 'DNS:worker-3,IP:127.0.35.99')).toMatchObject({ action: 'deny', reason: expect.stringContaining('names 127.0.35.99,') });
    expect(await judge(W3, 'DNS:worker-3,DNS:worker-1')).toMatchObject({ action: 'deny', reason: expect.stringContaining('names worker-1,') });
    // A DNS name that reads like two names in openssl's text output is one name here, and not the worker's.
    const tricky = await csr(W3, { dns: ['worker-3, IP Address:127.0.35.23'] });
    expect((await execa('openssl', ['req', '-noout', '-text'], { input: tricky })).stdout).toContain('DNS:worker-3, IP Address:127.0.35.23');
    expect(parseCsrPem(tricky)).toMatchObject({ dns: ['worker-3, IP Address:127.0.35.23'], ip: [] });
    expect(judgeServingCsr(cluster, object(tricky), parseCsrPem(tricky))).toMatchObject({ action: 'deny' });
    expect(await judge('/O=system:nodes/CN=system:node:ghost', 'DNS:ghost', 'system:node:ghost')).toMatchObject({ action: 'deny', reason: 'ghost is not a worker of c.yaml' });
    expect(await judge('/O=system:nodes/CN=system:node:master-1', 'DNS:master-1', 'system:node:master-1')).toMatchObject({ action: 'deny', reason: expect.stringContaining('not a worker') });
    expect(await judge(W3, 'DNS:worker-3', 'jane')).toMatchObject({ action: 'deny', reason: expect.stringContaining('not a node') });
    expect(await judge('/O=system:masters/CN=system:node:worker-3', 'DNS:worker-3')).toMatchObject({ action: 'deny', reason: expect.stringContaining('O=system:masters') });
    expect(await judge(W3, 'DNS:worker-3', undefined, ['digital signature', 'server auth', 'client auth'])).toMatchObject({ action: 'deny', reason: expect.stringContaining('client auth') });
    expect(await judge(W3, 'DNS:worker-3,email:a@example.org')).toMatchObject({ action: 'deny', reason: expect.stringContaining('email') });
  });
});
