import { copyFile, readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { genPki, labCluster } from '../check-fixtures.js';
import { kubectl, startFakeApiserver, type FakeApiserver } from '../helpers/apiserver.js';
import { kubePki, tempDir } from '../helpers/cli.js';
import { kubeconfigParts } from '../helpers/rotation.js';

// The real kubectl through every phase of the hard-way `ca` rotation, against an mTLS endpoint
// started from the files `kube-pki flags kube-apiserver` names for the phase (127.0.14.x: this
// issue's range).

const YAML = `profile: hardway
apiServer: { endpoint: 127.0.14.30, port: 16443 }
nodes:
  - { name: master-1, address: 127.0.14.31, role: controlplane }
  - { name: worker-1, address: 127.0.14.41, role: worker }
  - { name: loadbalancer, address: 127.0.14.30, role: loadbalancer }
`;
const ADMIN = 'CN=admin\nO=system:masters';
const WORKER = 'CN=system:node:worker-1\nO=system:nodes';

describe('kubectl authenticates through rotate-ca start, reissue and finish (hard way)', () => {
  let dir: string;
  let config: string;
  let out: string;
  let cleanup: () => Promise<void>;
  let server: FakeApiserver | null = null;

  /** (Re)starts the endpoint with the files the flags name now: serving pair and --client-ca-file. */
  const restartApiserver = async () => {
    await server?.close();
    const r = await kubePki(['flags', 'kube-apiserver', '--config', config, '--dir', out, '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    const f = Object.fromEntries((JSON.parse(r.stdout) as Record<string, { flag: string; path: string }[]>)['kube-apiserver']!.map((x) => [x.flag, x.path]));
    const [cert, key, ca] = await Promise.all(['--tls-cert-file', '--tls-private-key-file', '--client-ca-file'].map((flag) => readFile(f[flag]!)));
    server = await startFakeApiserver({ cert: cert!, key: key!, ca: ca! }, '127.0.14.30', 16443);
    return f;
  };
  /** kubectl with this kubeconfig: the user the endpoint saw, or the failure. */
  const whoAmI = async (kubeconfig: string) => {
    const seen = server!.clients.length;
    const r = await kubectl(kubeconfig, ['get', '--raw', '/version']);
    return r.exitCode === 0 && server!.clients.length > seen ? server!.clients.at(-1)! : `failed: ${r.stderr}`;
  };
  const rotate = async (phase: string) => {
    const r = await kubePki(['rotate-ca', phase, '--config', config, '--out', out]);
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
  };

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    ({ config } = await labCluster(dir, YAML));
    out = await genPki(dir, config);
  });
  afterAll(async () => {
    await server?.close();
    await cleanup();
  });

  it('kubeconfigs handed out at start work until finish; after finish only the new ones do', async () => {
    await restartApiserver();
    expect(await whoAmI(join(out, 'admin.kubeconfig'))).toBe(ADMIN);

    await rotate('start');
    const f = await restartApiserver();
    expect(f['--client-ca-file']).toBe(join(out, 'ca-bundle.crt'));
    const handedOut = { admin: join(dir, 'start-admin.kubeconfig'), worker: join(dir, 'start-worker-1.kubeconfig') };
    await copyFile(join(out, 'admin.kubeconfig'), handedOut.admin);
    await copyFile(join(out, 'worker-1.kubeconfig'), handedOut.worker);
    expect(await whoAmI(handedOut.admin)).toBe(ADMIN);
    expect(await whoAmI(handedOut.worker)).toBe(WORKER);

    await rotate('reissue');
    await restartApiserver(); // now serving with a certificate of the new CA
    expect(await whoAmI(handedOut.admin)).toBe(ADMIN); // old client certificate, bundle trusts the new server
    expect(await whoAmI(handedOut.worker)).toBe(WORKER);
    expect(await whoAmI(join(out, 'admin.kubeconfig'))).toBe(ADMIN); // new client certificate

    await rotate('finish');
    const last = await restartApiserver();
    expect(last['--client-ca-file']).toBe(join(out, 'ca.crt'));
    expect(await whoAmI(handedOut.admin)).toMatch(/^failed: /); // a certificate of the old CA is refused
    expect(await whoAmI(handedOut.worker)).toMatch(/^failed: /);
    expect(await whoAmI(join(out, 'admin.kubeconfig'))).toBe(ADMIN);
    expect(await whoAmI(join(out, 'worker-1.kubeconfig'))).toBe(WORKER);
    for (const kc of (await readdir(out)).filter((n) => n.endsWith('.kubeconfig'))) expect((await kubeconfigParts(join(out, kc))).cas, kc).toHaveLength(1);
  }, 120_000);
});
