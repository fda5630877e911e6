import { createPrivateKey } from 'node:crypto';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectl } from '../helpers/apiserver.js';
import { kubePki, tempDir } from '../helpers/cli.js';
import { etcdctl, startEtcdCluster, waitHealthy, type EtcdMember } from '../helpers/etcd.js';
import { generated, opensslFacts, withFakeApiserver } from '../helpers/kubeadm.js';
import { Processes } from '../helpers/processes.js';

// The key algorithms in the other profile: the hard-way lab with ECDSA P-256 keys, used by real etcd
// and kubectl (the kubeadm profile's ECDSA run is in kubeadm-consumers), and RSA 3072. Loopback 127.0.3.15x.
const ECDSA = `profile: hardway
key: { algorithm: ecdsa, curve: P-256 }
apiServer: { endpoint: 127.0.3.160, port: 16447 }
nodes:
  - { name: master-1, address: 127.0.3.151, role: controlplane }
  - { name: master-2, address: 127.0.3.152, role: controlplane }
  - { name: worker-1, address: 127.0.3.153, role: worker }
  - { name: loadbalancer, address: 127.0.3.160, role: loadbalancer }
`;

describe('hardway PKI with ECDSA P-256 keys', () => {
  const processes = new Processes();
  let pki: string;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    ({ out: pki, cleanup } = await generated(ECDSA));
  });
  afterAll(async () => {
    await processes.stopAll();
    await cleanup();
  });

  it('makes every key a P-256 key and leaves no keyEncipherment in any certificate', async () => {
    const files = await readdir(pki);
    const keys = files.filter((f) => f.endsWith('.key'));
    expect(keys.length).toBeGreaterThan(8);
    for (const f of keys) {
      const key = createPrivateKey(await readFile(join(pki, f)));
      expect([key.asymmetricKeyType, key.asymmetricKeyDetails?.namedCurve], f).toEqual(['ec', 'prime256v1']);
    }
    for (const f of files.filter((x) => x.endsWith('.crt'))) {
      const facts = await opensslFacts(join(pki, f));
      expect(facts.keyUsage, f).not.toContain('Key Encipherment');
      expect(facts.keyUsage, f).toContain('Digital Signature');
    }
  });

  it('serves a two-member etcd cluster and kubectl', async () => {
    const member = (name: string, ip: string): EtcdMember => ({
      name, ip, certFile: join(pki, 'etcd-server.crt'), keyFile: join(pki, 'etcd-server.key'), peerCertFile: join(pki, 'etcd-server.crt'), peerKeyFile: join(pki, 'etcd-server.key'),
    });
    const members = [member('master-1', '127.0.3.151'), member('master-2', '127.0.3.152')];
    await startEtcdCluster(members, join(pki, 'ca.crt'), processes);
    const auth = { cacert: join(pki, 'ca.crt'), cert: join(pki, 'etcd-server.crt'), key: join(pki, 'etcd-server.key') };
    await waitHealthy(members, auth);
    const status = await etcdctl(members, auth, ['endpoint', 'status', '-w', 'json']);
    expect(status.exitCode, status.output).toBe(0);
    expect(JSON.parse(status.output)).toHaveLength(2);

    const tls = { cert: join(pki, 'kube-apiserver.crt'), key: join(pki, 'kube-apiserver.key'), ca: join(pki, 'ca.crt') };
    await withFakeApiserver(tls, '127.0.3.160', 16447, async (api) => {
      const r = await kubectl(join(pki, 'worker-1.kubeconfig'), ['get', '--raw', '/version']);
      expect(r.exitCode, String(r.stderr)).toBe(0);
      expect(api.clients.at(-1)).toBe('CN=system:node:worker-1\nO=system:nodes');
    });
  });
});

describe('RSA 3072 keys', () => {
  it('makes 3072-bit keys in both profiles', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      for (const profile of ['hardway', 'kubeadm']) {
        await writeFile(join(dir, `${profile}.yaml`), `profile: ${profile}
key: { algorithm: rsa, size: 3072 }
apiServer: { endpoint: 127.0.3.170 }
nodes:
  - { name: solo, address: 127.0.3.171, role: controlplane }
`);
        const out = join(dir, profile);
        const r = await kubePki(['gen', '--config', join(dir, `${profile}.yaml`), '--out', out]);
        expect(r.exitCode, `${String(r.stdout)}\n${String(r.stderr)}`).toBe(0);
        const key = createPrivateKey(await readFile(join(out, profile === 'kubeadm' ? 'solo/pki/apiserver.key' : 'kube-apiserver.key')));
        expect([key.asymmetricKeyType, key.asymmetricKeyDetails?.modulusLength], profile).toEqual(['rsa', 3072]);
      }
    } finally {
      await cleanup();
    }
  });
});
