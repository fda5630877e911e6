import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { genPki, labCluster } from '../check-fixtures.js';
import { tempDir } from '../helpers/cli.js';
import { EtcdRotationCluster } from '../helpers/etcd-rotation.js';
import { cert, issued } from '../helpers/rotation.js';

// A real 3-member etcd cluster (kubeadm profile, mTLS for peers and clients) started from the files
// `kube-pki flags etcd --dir OUT/<node>` names for the current phase, keeps quorum and its data through
// rotate-ca start, reissue and finish --ca etcd-ca with a rolling restart of one member at a time, and
// through an abort from reissue and then from start (test/helpers/etcd-rotation.ts).

const NODES = [
  { name: 'cp-1', ip: '127.0.14.11' },
  { name: 'cp-2', ip: '127.0.14.12' },
  { name: 'cp-3', ip: '127.0.14.13' },
];
const YAML = `profile: kubeadm
key: { algorithm: ecdsa, curve: P-256 }
apiServer: { endpoint: 127.0.14.11, port: 6443 }
nodes:
${NODES.map((n) => `  - { name: ${n.name}, address: ${n.ip}, role: controlplane }`).join('\n')}
`;

describe('rotate-ca --ca etcd-ca on a live 3-member etcd cluster', () => {
  let dir: string;
  let out: string;
  let cleanup: () => Promise<void>;
  let etcd: EtcdRotationCluster | undefined;

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    const { config } = await labCluster(dir, YAML);
    out = await genPki(dir, config);
    etcd = new EtcdRotationCluster(NODES, config, out);
    await etcd.start();
  }, 120_000);
  afterAll(async () => {
    await etcd?.stop();
    await cleanup();
  });

  it('keeps quorum and data through start, reissue and finish; an old client works during the overlap only', async () => {
    await etcd!.rotateKeepingQuorum(dir);
  }, 300_000);

  it('abort from reissue, then from start, keeps quorum and data; a client of the aborted CA is refused at the end', async () => {
    const e = etcd!;
    const current = await cert(join(out, '_cluster/pki/etcd/ca.crt'));
    await e.rotate('start');
    await e.rollingRestart();
    await e.rotate('reissue');
    await e.rollingRestart();
    // A client certificate of the CA about to be aborted.
    const abortedClient = await e.keepClient(join(dir, 'aborted-client'));

    await e.rotate('abort'); // back to start: the current CA signs again, both trusted
    await e.rollingRestart();
    expect((await e.etcdctl(await abortedClient(), ['get', 'key-1'])).exitCode).toBe(0);
    await e.rotate('abort'); // trust only the current CA again
    await e.rollingRestart();
    const refused = await e.etcdctl(await abortedClient(), ['get', 'key-1']);
    expect(refused.exitCode, refused.output).not.toBe(0);
    for (const node of NODES) {
      const f = await e.flagsOf('etcd', node.name);
      expect(f['--trusted-ca-file']).toBe(join(out, node.name, 'pki/etcd/ca.crt'));
      for (const file of [f['--cert-file']!, f['--peer-cert-file']!]) expect(issued(await cert(file), current), file).toBe(true);
    }
  }, 300_000);
});
