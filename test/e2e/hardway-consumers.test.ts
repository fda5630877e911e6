import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubePki, tempDir } from '../helpers/cli.js';
import { Processes } from '../helpers/processes.js';
import { etcdctl, startEtcdCluster, waitHealthy, type EtcdMember } from '../helpers/etcd.js';
import { kubectl, startFakeApiserver } from '../helpers/apiserver.js';

// Real consumers of the hard-way PKI, on loopback only (127.0.2.x is this file's range).
const CLUSTER = `profile: hardway
apiServer: { endpoint: 127.0.2.30, port: 16443 }
nodes:
  - { name: master-1, address: 127.0.2.11, role: controlplane }
  - { name: master-2, address: 127.0.2.12, role: controlplane }
  - { name: worker-1, address: 127.0.2.21, role: worker }
  - { name: loadbalancer, address: 127.0.2.30, role: loadbalancer }
`;

describe('hardway PKI with real etcd and kubectl', () => {
  const processes = new Processes();
  let dir: string;
  let pki: string;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    pki = join(dir, 'pki');
    await writeFile(join(dir, 'cluster.yaml'), CLUSTER);
    const r = await kubePki(['gen', '--config', join(dir, 'cluster.yaml'), '--out', pki]);
    expect(r.exitCode, r.stderr).toBe(0);
  });
  afterAll(async () => {
    await processes.stopAll();
    await cleanup();
  });

  it('a two-member etcd cluster runs on etcd-server.crt as server and peer cert, and etcdctl is healthy', async () => {
    const member = (name: string, ip: string): EtcdMember => ({
      name,
      ip,
      certFile: join(pki, 'etcd-server.crt'),
      keyFile: join(pki, 'etcd-server.key'),
      peerCertFile: join(pki, 'etcd-server.crt'),
      peerKeyFile: join(pki, 'etcd-server.key'),
    });
    const members = [member('master-1', '127.0.2.11'), member('master-2', '127.0.2.12')];
    await startEtcdCluster(members, join(pki, 'ca.crt'), processes);
    // The apiserver's way in: ca.crt and a client certificate of the CA.
    const auth = { cacert: join(pki, 'ca.crt'), cert: join(pki, 'etcd-server.crt'), key: join(pki, 'etcd-server.key') };
    await waitHealthy(members, auth);
    const health = await etcdctl(members, auth, ['endpoint', 'health']);
    expect(health.output).toMatch(/127\.0\.2\.11:2379 is healthy/);
    expect(health.output).toMatch(/127\.0\.2\.12:2379 is healthy/);
    const status = await etcdctl(members, auth, ['endpoint', 'status', '-w', 'json']);
    expect(status.exitCode, status.output).toBe(0);
    expect(JSON.parse(status.output)).toHaveLength(2);
    // A client certificate that lacks clientAuth (kube-apiserver.crt is server-only) is refused.
    const serverOnly = await etcdctl(members, { ...auth, cert: join(pki, 'kube-apiserver.crt'), key: join(pki, 'kube-apiserver.key') }, ['endpoint', 'status']);
    expect(serverOnly.exitCode).not.toBe(0);
  });

  it('kubectl with admin.kubeconfig reaches an HTTPS server on kube-apiserver.crt as CN=admin, O=system:masters', async () => {
    const api = await startFakeApiserver(
      {
        cert: await readFile(join(pki, 'kube-apiserver.crt')),
        key: await readFile(join(pki, 'kube-apiserver.key')),
        ca: await readFile(join(pki, 'ca.crt')),
      },
      '127.0.2.30',
      16443,
    );
    try {
      const r = await kubectl(join(pki, 'admin.kubeconfig'), ['get', '--raw', '/version']);
      expect(r.exitCode, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout).gitVersion).toBe('v1.30.0');
      expect(api.clients.length).toBeGreaterThan(0);
      expect(api.clients.at(-1)).toContain('CN=admin');
      expect(api.clients.at(-1)).toContain('O=system:masters');
    } finally {
      await api.close();
    }
  });
});
