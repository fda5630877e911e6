import { createPrivateKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Processes } from '../helpers/processes.js';
import { etcdctl, startEtcdCluster, waitHealthy, type EtcdClientAuth, type EtcdMember } from '../helpers/etcd.js';
import { kubectl } from '../helpers/apiserver.js';
import { generated, opensslFacts, withFakeApiserver } from '../helpers/kubeadm.js';

// Real consumers of the kubeadm PKI, on loopback only (127.0.3.x and ::1 are this file's): a
// three-member etcd cluster on each node's own certificates, and kubectl against an HTTPS server
// on apiserver.crt. Once with RSA 2048, once with ECDSA P-256 and an IPv6 endpoint.
const VARIANTS = [
  { title: 'RSA 2048', key: '{ algorithm: rsa, size: 2048 }', net: 10, endpoint: '127.0.3.30', port: 16443, url: 'https://127.0.3.30:16443' },
  { title: 'ECDSA P-256', key: '{ algorithm: ecdsa, curve: P-256 }', net: 40, endpoint: '::1', port: 16444, url: 'https://[::1]:16444' },
];

describe.each(VARIANTS)('kubeadm PKI ($title) with real etcd and kubectl', (v) => {
  const ip = (n: number) => `127.0.3.${v.net + n}`;
  const cps = [1, 2, 3].map((n) => ({ name: `cp-${n}`, ip: ip(n) }));
  const CLUSTER = `profile: kubeadm
clusterDomain: lab.internal
key: ${v.key}
apiServer: { endpoint: "${v.endpoint}", port: ${v.port} }
nodes:
${cps.map((c) => `  - { name: ${c.name}, address: ${c.ip}, role: controlplane }`).join('\n')}
  - { name: worker-1, address: "fd00::${v.net + 11}", role: worker }
  - { name: lb, address: ${ip(20)}, role: loadbalancer }
`;
  const processes = new Processes();
  let out: string;
  let cleanup: () => Promise<void>;
  const at = (...parts: string[]) => join(out, ...parts);

  beforeAll(async () => {
    ({ out, cleanup } = await generated(CLUSTER));
  });
  afterAll(async () => {
    await processes.stopAll();
    await cleanup();
  });

  it('uses the key algorithm of the description, with keyEncipherment only on RSA', async () => {
    const key = createPrivateKey(await readFile(at('cp-2/pki/etcd/peer.key')));
    const facts = await opensslFacts(at('cp-2/pki/etcd/peer.crt'));
    if (v.key.includes('ecdsa')) {
      expect([key.asymmetricKeyType, key.asymmetricKeyDetails?.namedCurve]).toEqual(['ec', 'prime256v1']);
      expect(facts.keyUsage).toEqual(['Digital Signature']);
    } else {
      expect([key.asymmetricKeyType, key.asymmetricKeyDetails?.modulusLength]).toEqual(['rsa', 2048]);
      expect(facts.keyUsage).toEqual(['Digital Signature', 'Key Encipherment']);
    }
    const sa = createPrivateKey(await readFile(at('cp-1/pki/sa.key')));
    expect(sa.asymmetricKeyType).toBe(v.key.includes('ecdsa') ? 'ec' : 'rsa');
  });

  it('runs a three-member etcd cluster on each node\'s own server and peer certificates; etcdctl needs a client of etcd-ca', async () => {
    const members: EtcdMember[] = cps.map((c) => ({
      name: c.name,
      ip: c.ip,
      certFile: at(c.name, 'pki/etcd/server.crt'),
      keyFile: at(c.name, 'pki/etcd/server.key'),
      peerCertFile: at(c.name, 'pki/etcd/peer.crt'),
      peerKeyFile: at(c.name, 'pki/etcd/peer.key'),
    }));
    await startEtcdCluster(members, at('cp-1/pki/etcd/ca.crt'), processes);
    const client = (tree: string, base: string): EtcdClientAuth => ({ cacert: at(tree, 'pki/etcd/ca.crt'), cert: at(tree, `${base}.crt`), key: at(tree, `${base}.key`) });
    const healthcheck = client('cp-1', 'pki/etcd/healthcheck-client');
    await waitHealthy(members, healthcheck);
    for (const [i, m] of members.entries()) {
      // Each member with the health-check client of another node's tree (they are the same shared files).
      const status = await etcdctl([m], client(cps[(i + 1) % 3]!.name, 'pki/etcd/healthcheck-client'), ['endpoint', 'status', '-w', 'json']);
      expect(status.exitCode, status.output).toBe(0);
      expect(JSON.parse(status.output)[0].Endpoint).toBe(`https://${m.ip}:2379`);
    }
    const apiserver = await etcdctl(members, client('cp-3', 'pki/apiserver-etcd-client'), ['endpoint', 'status']);
    expect(apiserver.exitCode, apiserver.output).toBe(0);
    // A client certificate of the Kubernetes CA is no way into etcd: the same call fails (etcd closes
    // the connection after the handshake, so etcdctl can only report the failed request).
    const otherCa = await etcdctl([members[0]!], client('cp-1', 'pki/apiserver-kubelet-client'), ['endpoint', 'status']);
    expect(otherCa.exitCode).not.toBe(0);
    expect(otherCa.output).toMatch(new RegExp(`Failed to get the status of endpoint https://${members[0]!.ip.replace(/\./g, '\\.')}:2379`));
  });

  it('lets kubectl reach an HTTPS server on apiserver.crt with admin.conf and kubelet.conf, and fails on a name not in the SANs', async () => {
    const tls = { cert: at('cp-2/pki/apiserver.crt'), key: at('cp-2/pki/apiserver.key'), ca: at('cp-2/pki/ca.crt') };
    await withFakeApiserver(tls, v.endpoint, v.port, async (api) => {
      const admin = await kubectl(at('cp-1/admin.conf'), ['get', '--raw', '/version']);
      expect(admin.exitCode, String(admin.stderr)).toBe(0);
      expect(JSON.parse(admin.stdout).gitVersion).toBe('v1.30.0');
      expect(api.clients.at(-1)).toBe('CN=kubernetes-admin\nO=kubeadm:cluster-admins');
      const superAdmin = await kubectl(at('cp-1/super-admin.conf'), ['get', '--raw', '/version']);
      expect(superAdmin.exitCode, String(superAdmin.stderr)).toBe(0);
      expect(api.clients.at(-1)).toBe('CN=kubernetes-super-admin\nO=system:masters');
      const kubelet = await kubectl(at('worker-1/kubelet.conf'), ['get', '--raw', '/version']);
      expect(kubelet.exitCode, String(kubelet.stderr)).toBe(0);
      expect(api.clients.at(-1)).toBe('CN=system:node:worker-1\nO=system:nodes');
    });
    // The same server on an address the certificate does not name.
    await withFakeApiserver(tls, ip(21), v.port, async (elsewhere) => {
      const wrong = await kubectl(at('cp-1/admin.conf'), ['--server', `https://${ip(21)}:${v.port}`, 'get', '--raw', '/version']);
      expect(wrong.exitCode).not.toBe(0);
      expect(wrong.stderr).toMatch(new RegExp(`x509: certificate is valid for .*not ${ip(21).replace(/\./g, '\\.')}`));
      expect(elsewhere.clients).toEqual([]);
    });
  });
});
