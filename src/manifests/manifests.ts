import { stringify } from 'yaml';
import { catalogFor } from '../catalog/index.js';
import type { BindingSpec } from '../model/catalog.js';
import type { Cluster } from '../model/cluster.js';

// `kube-pki manifests`: the Kubernetes objects the PKI's certificates rely on, as YAML for
// `kubectl apply -f -`. Only what the catalog lists (kubeadm current: the bindings kubeadm init
// creates); the objects are written as `kubectl create clusterrolebinding --dry-run=client` makes them.

const RBAC = 'rbac.authorization.k8s.io';

function clusterRoleBinding(b: BindingSpec): object {
  return {
    apiVersion: `${RBAC}/v1`,
    kind: 'ClusterRoleBinding',
    metadata: { name: b.name },
    roleRef: { apiGroup: RBAC, kind: 'ClusterRole', name: b.clusterRole },
    subjects: [{ apiGroup: RBAC, kind: b.subject.kind, name: b.subject.name }],
  };
}

const layoutText = (cluster: Cluster) => (cluster.kubeadmLayout ? `profile ${cluster.profile}, kubeadmLayout ${cluster.kubeadmLayout}` : `profile ${cluster.profile}`);

/** The YAML documents to apply; an empty List (with a comment saying so) when the catalog needs nothing. */
export function manifestsYaml(cluster: Cluster): string {
  const bindings = catalogFor(cluster).bindings ?? [];
  const head = `# kube-pki manifests (${layoutText(cluster)}, from ${cluster.source})\n`;
  if (!bindings.length)
    return (
      `${head}# Nothing to apply: these certificates need no objects beyond Kubernetes' built-in RBAC.\n` +
      '# (kubectl apply refuses an empty set with "no objects passed to apply": there is nothing to run.)\n' +
      stringify({ apiVersion: 'v1', kind: 'List', items: [] })
    );
  const docs = bindings.map((b) => `# ${b.why}\n${stringify(clusterRoleBinding(b))}`);
  return `${head}# Apply once, as a user outside these bindings: kubectl --kubeconfig super-admin.conf apply -f -\n${docs.join('---\n')}`;
}
