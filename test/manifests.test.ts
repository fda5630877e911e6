import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { kubePki, tempDir } from './helpers/cli.js';

// `kube-pki manifests`: YAML for `kubectl apply -f -`. kubectl apply needs a server even with
// --dry-run=client (discovery, OpenAPI), so the oracle is kubectl's own generator, which does not:
// `kubectl create clusterrolebinding … --dry-run=client` makes the objects kubeadm init creates.
const KUBEADM = `profile: kubeadm
apiServer: { endpoint: 192.168.5.30 }
nodes:
  - { name: cp-1, address: 192.168.5.11, role: controlplane }
`;

/** What kubectl itself makes of `kubectl create clusterrolebinding NAME ARGS` (no server needed). */
async function kubectlBinding(name: string, args: string[]): Promise<unknown> {
  const r = await execa('kubectl', ['create', 'clusterrolebinding', name, ...args, '--dry-run=client', '-o', 'json'], {
    stdin: 'ignore',
    env: { KUBECONFIG: '/dev/null' },
    timeout: 60_000,
  });
  const object = JSON.parse(r.stdout) as { metadata: Record<string, unknown> };
  delete object.metadata.creationTimestamp;
  return object;
}

describe('kube-pki manifests', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  const manifests = async (yaml: string) => {
    const config = join(dir, `c-${Math.random().toString(36).slice(2)}.yaml`);
    await writeFile(config, yaml);
    const r = await kubePki(['manifests', '--config', config]);
    expect(r.exitCode, String(r.stderr)).toBe(0);
    const docs = parseAllDocuments(String(r.stdout));
    for (const d of docs) expect(d.errors, String(r.stdout)).toEqual([]);
    return { text: String(r.stdout), objects: docs.map((d) => d.toJS() as unknown) };
  };
  beforeAll(async () => ({ dir, cleanup } = await tempDir()));
  afterAll(() => cleanup());

  it('kubeadm (current): the ClusterRoleBindings kubeadm init creates, as kubectl makes them', async () => {
    const { text, objects } = await manifests(KUBEADM);
    expect(objects).toEqual([
      await kubectlBinding('kubeadm:cluster-admins', ['--clusterrole=cluster-admin', '--group=kubeadm:cluster-admins']),
      await kubectlBinding('kubeadm:apiserver-kubelet-client', ['--clusterrole=system:kubelet-api-admin', '--user=kube-apiserver-kubelet-client']),
    ]);
    expect(text).toMatch(/^# .*kubectl --kubeconfig super-admin\.conf apply -f -$/m);
  });

  it('kubeadm v1.27 and hardway: nothing to apply, one ConfigMap that grants nothing (kubectl apply refuses an empty set)', async () => {
    for (const [yaml, profile] of [[`kubeadmLayout: v1.27\n${KUBEADM}`, 'kubeadm'], [KUBEADM.replace('kubeadm', 'hardway'), 'hardway']] as const) {
      const { text, objects } = await manifests(yaml);
      expect(objects).toEqual([
        { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'kube-pki', namespace: 'kube-system' }, data: { profile, note: expect.stringContaining('no objects') } },
      ]);
      expect(text).toMatch(/^# Nothing to apply/m);
    }
  });

  it('bootstrap workers: the TLS-bootstrap bindings kubeadm init makes (kube-pki\'s names, the kube-pki token group) and the folder\'s valid tokens', async () => {
    const yaml = `profile: hardway\nkubeletBootstrap: true\napiServer: { endpoint: 192.168.5.30 }\nnodes:\n  - { name: cp-1, address: 192.168.5.11, role: controlplane }\n  - { name: w-1, address: 192.168.5.21, role: worker }\n`;
    const group = '--group=system:bootstrappers:kube-pki:default-node-token';
    const { text, objects } = await manifests(yaml);
    expect(objects).toEqual([
      await kubectlBinding('kube-pki:kubelet-bootstrap', ['--clusterrole=system:node-bootstrapper', group]),
      await kubectlBinding('kube-pki:node-autoapprove-bootstrap', ['--clusterrole=system:certificates.k8s.io:certificatesigningrequests:nodeclient', group]),
      await kubectlBinding('kube-pki:node-autoapprove-certificate-rotation', ['--clusterrole=system:certificates.k8s.io:certificatesigningrequests:selfnodeclient', '--group=system:nodes']),
    ]);
    expect(text).toMatch(/^# No valid bootstrap token in the folder: kube-pki token create/m);
  });

  it('bad input: exit 2 naming the field and value', async () => {
    const config = join(dir, 'bad.yaml');
    await writeFile(config, `kubeadmLayout: latest\n${KUBEADM}`);
    const r = await kubePki(['manifests', '--config', config]);
    expect(r.exitCode).toBe(2);
    expect(String(r.stderr)).toMatch(/kubeadmLayout: "latest": must be one of current, v1\.27/);
    expect(String(r.stdout)).toBe('');
  });
});
