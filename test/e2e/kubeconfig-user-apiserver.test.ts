import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectl } from '../helpers/apiserver.js';
import { kubePki, tempDir } from '../helpers/cli.js';
import { canI, whoami } from '../helpers/identity.js';
import { startKubeadmPlane, type KubeadmPlane } from '../helpers/kubeadm-plane.js';
import { waitFor } from '../helpers/processes.js';

// Issue 23: a user kubeconfig from `kube-pki kubeconfig user` against the real kube-apiserver (built
// from Kubernetes' own code, docs/e2e.md): it authenticates as NAME with its groups, and RBAC applies to them.

describe('kubeconfig user: the real kube-apiserver takes the user and its groups', () => {
  let plane: KubeadmPlane;
  let cleanup: () => Promise<void>;
  let dir: string;
  // Straight to the node's apiserver (a SAN of its certificate): the load balancer is not what this proves.
  let direct: string[];

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('kube-pki-cp-user-'));
    plane = await startKubeadmPlane({ net: 123, masters: 1, workers: [], dir });
    const cp1 = plane.cp.node('cp-1');
    direct = ['--server', `https://${cp1.ip}:6443`];
    await plane.cp.start('etcd', cp1);
    await plane.cp.waitHealthy('etcd', cp1);
    await plane.cp.start('kube-apiserver', cp1);
    await plane.cp.waitHealthy('kube-apiserver', cp1, 120_000);
  }, 300_000);
  afterAll(async () => {
    await plane?.stop();
    await cleanup?.();
  });

  it('authenticates as NAME with each --group; a RoleBinding to a group grants its members, nothing more', async () => {
    const file = join(dir, 'jane.conf');
    const issued = await kubePki(['kubeconfig', 'user', 'jane', '--group', 'dev', '--group', 'qa', '--kubeconfig-file', file, '--config', plane.config, '--out', plane.out]);
    expect(issued.exitCode, issued.stderr).toBe(0);
    expect(await whoami(file, direct)).toEqual({ username: 'jane', groups: ['dev', 'qa', 'system:authenticated'] });
    expect(await canI(file, ['list', 'pods', '-n', 'default'], direct)).toBe(false);

    const superAdmin = join(plane.out, 'cp-1', 'super-admin.conf');
    const binding = join(dir, 'dev-view.yaml');
    await writeFile(
      binding,
      // A Role of its own: the aggregated ClusterRole view gets its rules from the controller manager, not started here.
      'apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: { name: pod-reader, namespace: default }\n' +
        'rules: [{ apiGroups: [""], resources: [pods], verbs: [get, list, watch] }]\n---\n' +
        'apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: { name: dev-view, namespace: default }\n' +
        'roleRef: { apiGroup: rbac.authorization.k8s.io, kind: Role, name: pod-reader }\n' +
        'subjects: [{ apiGroup: rbac.authorization.k8s.io, kind: Group, name: dev }]\n',
    );
    const applied = await kubectl(superAdmin, [...direct, 'apply', '-f', binding]);
    expect(applied.exitCode, applied.stderr).toBe(0);
    await waitFor(() => canI(file, ['list', 'pods', '-n', 'default'], direct), 'the group dev to list pods', 30_000);
    expect(await canI(file, ['list', 'pods', '-n', 'kube-system'], direct)).toBe(false);
    expect(await canI(file, ['create', 'pods', '-n', 'default'], direct)).toBe(false);
    // Another user, not in the group: the binding is about the group, not about every certificate of this CA.
    const other = join(dir, 'sam.conf');
    const sam = await kubePki(['kubeconfig', 'user', 'sam', '--kubeconfig-file', other, '--config', plane.config, '--out', plane.out]);
    expect(sam.exitCode, sam.stderr).toBe(0);
    expect(await whoami(other, direct)).toEqual({ username: 'sam', groups: ['system:authenticated'] });
    expect(await canI(other, ['list', 'pods', '-n', 'default'], direct)).toBe(false);
  });
});
