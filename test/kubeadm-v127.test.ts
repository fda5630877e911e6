import { X509Certificate } from 'node:crypto';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseCluster } from '../src/cluster/load.js';
import { instancesFor } from '../src/pki.js';
import type { Instances } from '../src/model/instances.js';
import { checkJson } from './check-fixtures.js';
import { kubePki, tempDir } from './helpers/cli.js';
import {
  MATRIX_CERTS_V127,
  MATRIX_KUBECONFIGS_V127,
  WORKER_FILES,
  cnOn,
  controlPlaneFiles,
  dn,
  generated,
  kubectlView,
  listFiles,
  loadPair,
  opensslFacts,
  MATRIX_DESCRIPTION,
} from './helpers/kubeadm.js';

// `kubeadmLayout: v1.27` keeps the layout kube-pki made before it followed current kubeadm, for
// clusters made with it: the same paths, subjects and SANs (etcd's SANs gained ::1, which kubeadm
// checks for in every release). test/golden/kubeadm-v127-instances.json is what the code before the
// change (commit c78ac76) resolved for this description.
const CLUSTER = MATRIX_DESCRIPTION;
const V127 = `kubeadmLayout: v1.27\n${CLUSTER}`;

/** The facts the golden file holds, from today's instances. */
function resolved(instances: Instances) {
  return {
    certs: instances.certs.map((c) => ({ name: c.name, certPath: c.certPath, keyPath: c.keyPath, subject: c.subject, sans: c.sans, usages: c.usages, days: c.days, ca: c.caName ?? null })),
    kubeconfigs: instances.kubeconfigs.map((k) => ({ name: k.name, path: k.path, certName: k.certName, server: k.server, clusterName: k.clusterName, userName: k.userName, contextName: k.contextName })),
    copies: instances.copies.map((c) => ({ name: c.name, source: c.source, files: c.files })),
    keyPairs: instances.keyPairs.map((k) => ({ name: k.name, keyPath: k.keyPath, pubPath: k.pubPath })),
  };
}

describe('kubeadmLayout: v1.27', () => {
  it('resolves exactly what kube-pki resolved before current kubeadm, apart from ::1 in etcd SANs', async () => {
    const golden = JSON.parse(await readFile(join(import.meta.dirname, 'golden/kubeadm-v127-instances.json'), 'utf8')) as ReturnType<typeof resolved>;
    const now = resolved(instancesFor(parseCluster(V127, 'test')));
    const etcd = now.certs.filter((c) => /etcd-(server|peer)$/.test(c.name));
    expect(etcd).toHaveLength(6);
    for (const c of etcd) {
      expect(c.sans.ip.at(-1), c.name).toBe('::1');
      c.sans.ip = c.sans.ip.slice(0, -1);
    }
    expect(now).toEqual(golden);
    // The default is the current layout, which differs.
    expect(resolved(instancesFor(parseCluster(CLUSTER, 'test')))).not.toEqual(resolved(instancesFor(parseCluster(V127, 'test'))));
  });

  it('refuses an unknown layout, and the field with profile hardway, naming field and value (exit 2, nothing written)', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      for (const [yaml, message] of [
        [`kubeadmLayout: v1.28\n${CLUSTER}`, /kubeadmLayout: "v1\.28": must be one of current, v1\.27/],
        [`kubeadmLayout: current\n${CLUSTER.replace('profile: kubeadm', 'profile: hardway')}`, /kubeadmLayout: "current": is for profile kubeadm only \(profile is hardway\)/],
      ] as const) {
        const config = join(dir, 'bad.yaml');
        await writeFile(config, yaml);
        const r = await kubePki(['gen', '--config', config, '--out', join(dir, 'out')]);
        expect(r.exitCode, String(r.stderr)).toBe(2);
        expect(String(r.stderr)).toMatch(message);
        expect(await readdir(dir)).toEqual(['bad.yaml']);
      }
    } finally {
      await cleanup();
    }
  });

  describe('gen', () => {
    let out: string;
    let config: string;
    let cleanup: () => Promise<void>;
    const cps = [
      { name: 'cp-1', address: '127.0.3.131' },
      { name: 'cp-2', address: '127.0.3.132' },
      { name: 'cp-3', address: 'fd00::133' },
    ];
    beforeAll(async () => {
      ({ out, config, cleanup } = await generated(V127));
    });
    afterAll(() => cleanup());

    it('writes the v1.27 trees: no super-admin.conf, shared kubeconfig certificates in _cluster', async () => {
      const files = controlPlaneFiles(true, MATRIX_CERTS_V127, MATRIX_KUBECONFIGS_V127);
      expect(files).not.toContain('super-admin.conf');
      for (const cp of cps) expect(await listFiles(join(out, cp.name)), cp.name).toEqual(files);
      for (const w of ['worker-1', 'worker-2']) expect(await listFiles(join(out, w))).toEqual(WORKER_FILES);
      expect((await listFiles(join(out, '_cluster/kubeconfig'))).filter((f) => f.endsWith('.crt'))).toEqual(
        ['admin.crt', 'controller-manager.crt', 'kubelet-cp-1.crt', 'kubelet-cp-2.crt', 'kubelet-cp-3.crt', 'kubelet-worker-1.crt', 'kubelet-worker-2.crt', 'scheduler.crt'],
      );
    });

    it('has the v1.27 subjects and SANs (openssl\'s reading), and every kubeconfig to the load balancer', async () => {
      for (const cp of cps) {
        for (const spec of MATRIX_CERTS_V127) {
          const what = `${cp.name}/${spec.path}`;
          const { cert } = await loadPair(join(out, cp.name), spec.path);
          expect(dn(cert.subject), what).toEqual({ cn: cnOn(spec, cp), o: spec.o });
          const facts = await opensslFacts(join(out, cp.name, `${spec.path}.crt`));
          expect(facts.text, what).toMatch(/Subject: CN ?= ?/);
          expect([...facts.sans].sort(), what).toEqual(spec.sans ? [...new Set(spec.sans(cp, { loadBalancer: ['k8s-api.corp.example', '127.0.3.130'], serviceIP: '10.32.0.1', domain: 'k8s.corp.example', extraSANs: ['api.k8s.corp.example', 'fd00::99'] }))].sort() : []);
        }
        for (const kc of MATRIX_KUBECONFIGS_V127) {
          const view = await kubectlView(join(out, cp.name, kc.file));
          expect(view.clusters[0]!.cluster.server, kc.file).toBe('https://k8s-api.corp.example:6443');
          const client = new X509Certificate(Buffer.from(view.users[0]!.user['client-certificate-data'], 'base64'));
          expect(dn(client.subject), kc.file).toEqual({ cn: kc.cn(cp.name), o: kc.o });
          expect(client.raw.equals(new X509Certificate(await readFile(join(out, '_cluster/kubeconfig', `${kc.certFile(cp.name)}.crt`))).raw), kc.file).toBe(true);
        }
      }
    });

    it('check passes it with no notes; manifests has nothing to apply (a ConfigMap that grants nothing)', async () => {
      const { exitCode, report } = await checkJson(config, out);
      expect(exitCode).toBe(0);
      expect(report.summary).toMatchObject({ errors: 0, warnings: 0, notes: 0 });
      const r = await kubePki(['manifests', '--config', config]);
      expect(r.exitCode, String(r.stderr)).toBe(0);
      expect(parse(String(r.stdout))).toMatchObject({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'kube-pki', namespace: 'kube-system' } });
    });

    it('moving to the current layout: etcd certificates stale until --force; kubeconfigs re-made (old ones backed up) with super-admin.conf', async () => {
      const current = join(out, '..', 'current.yaml');
      await writeFile(current, CLUSTER);
      const before = await readFile(join(out, 'cp-1/admin.conf'));
      const r = await kubePki(['gen', '--config', current, '--out', out]);
      expect(r.exitCode, String(r.stderr)).toBe(3);
      expect(String(r.stdout)).toMatch(/^stale: cp-1\/etcd-server: /m);
      expect(String(r.stdout)).toMatch(/^cp-1\/admin\.conf: re-issued \(its certificate changed\)/m);
      expect(String(r.stdout)).toMatch(/^cp-1\/super-admin\.conf: created/m);
      const backup = (await readdir(out)).find((f) => f.startsWith('backup-'))!;
      expect((await readFile(join(out, backup, 'cp-1/admin.conf'))).equals(before)).toBe(true);
      const admin = await kubectlView(join(out, 'cp-1/admin.conf'));
      expect(dn(new X509Certificate(Buffer.from(admin.users[0]!.user['client-certificate-data'], 'base64')).subject)).toEqual({ cn: 'kubernetes-admin', o: ['kubeadm:cluster-admins'] });
    });
  });
});

