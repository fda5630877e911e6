import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labCluster } from '../check-fixtures.js';
import { kubePki, tempDir } from '../helpers/cli.js';
import { EtcdRotationCluster } from '../helpers/etcd-rotation.js';
import { cert, issued } from '../helpers/rotation.js';
import { makeToken, type TestToken } from '../helpers/softhsm.js';

// The etcd rotation of rotate-ca-etcd.test.ts (test/helpers/etcd-rotation.ts) under a root CA whose key
// is in a PKCS#11 token (SoftHSM2, rootCA.pkcs11): root init makes it there, gen and rotate-ca start sign
// the etcd intermediates through the token, and a real 3-member etcd cluster keeps quorum and its data
// through start, reissue and finish with a rolling restart of one member at a time.

const NODES = [
  { name: 'cp-1', ip: '127.0.36.11' },
  { name: 'cp-2', ip: '127.0.36.12' },
  { name: 'cp-3', ip: '127.0.36.13' },
];
const URI = 'pkcs11:token=kube-etcd-root;object=root-ca';
const YAML = `profile: kubeadm
key: { algorithm: ecdsa, curve: P-256 }
rootCA:
  pkcs11:
    uri: "${URI}"
apiServer: { endpoint: 127.0.36.11, port: 6443 }
nodes:
${NODES.map((n) => `  - { name: ${n.name}, address: ${n.ip}, role: controlplane }`).join('\n')}
`;

describe('rotate-ca --ca etcd-ca on a live 3-member etcd cluster, the root CA key in a PKCS#11 token', () => {
  let dir: string;
  let out: string;
  let cleanup: () => Promise<void>;
  let token: TestToken;
  let etcd: EtcdRotationCluster | undefined;

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    const { config } = await labCluster(dir, YAML);
    token = await makeToken(dir, 'kube-etcd-root', '1618033');
    out = join(dir, 'pki');
    for (const args of [['root', 'init'], ['gen']]) {
      const r = await kubePki([...args, '--config', config, '--out', out, '--ca-pin-file', token.pinFile], { env: token.env });
      expect(r.exitCode, `${args.join(' ')}: ${r.stdout}\n${r.stderr}`).toBe(0);
    }
    etcd = new EtcdRotationCluster(NODES, config, out, token.env, { ...token.env, KUBE_PKI_CA_PIN_FILE: token.pinFile });
    await etcd.start();
  }, 120_000);
  afterAll(async () => {
    await etcd?.stop();
    await cleanup();
  });

  it('keeps quorum and data through start, reissue and finish; an old client works during the overlap only', async () => {
    const newCa = await etcd!.rotateKeepingQuorum(dir);
    // The new intermediate was signed by the token's key: it chains to root-ca.crt, as every leaf does.
    const root = await cert(join(out, 'root-ca.crt'));
    expect(issued(newCa, root)).toBe(true);
    for (const leaf of ['cp-1/pki/etcd/server.crt', 'cp-2/pki/etcd/peer.crt', 'cp-3/pki/apiserver-etcd-client.crt']) {
      const v = await execa('openssl', ['verify', '-CAfile', join(out, 'root-ca.crt'), '-untrusted', join(out, '_cluster/pki/etcd/ca.crt'), join(out, leaf)], { reject: false, stdin: 'ignore' });
      expect(v.exitCode, `${leaf}: ${v.stderr}`).toBe(0);
    }
  }, 300_000);
});
