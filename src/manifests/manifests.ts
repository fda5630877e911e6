import { stringify } from 'yaml';
import { catalogFor } from '../catalog/index.js';
import { BOOTSTRAP_BINDINGS, usesBootstrap } from '../catalog/bootstrap.js';
import type { BindingSpec } from '../model/catalog.js';
import type { Cluster } from '../model/cluster.js';
import { tokenSecret, type BootstrapToken } from '../bootstrap/tokens.js';

// `kube-pki manifests`: the Kubernetes objects the PKI's certificates rely on, as YAML for
// `kubectl apply -f -`. Only what the catalog lists (kubeadm current: the bindings kubeadm init
// creates) and, with bootstrap workers, the TLS-bootstrap bindings and the folder's valid tokens;
// the bindings are written as `kubectl create clusterrolebinding --dry-run=client` makes them.

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

/**
 * The YAML documents to apply. When nothing is needed, one ConfigMap that says so: kubectl apply refuses
 * an empty set ("no objects passed to apply"), and a pipeline `kube-pki manifests | kubectl apply -f -`
 * must work for every description.
 */
export function manifestsYaml(cluster: Cluster, tokens: readonly BootstrapToken[] = [], now = new Date()): string {
  const bootstrap = usesBootstrap(cluster);
  const bindings = [...(catalogFor(cluster).bindings ?? []), ...(bootstrap ? BOOTSTRAP_BINDINGS : [])];
  const head = `# kube-pki manifests (${layoutText(cluster)}, from ${cluster.source})\n`;
  const docs = bindings.map((b) => `# ${b.why}\n${stringify(clusterRoleBinding(b))}`);
  const notes: string[] = [];
  if (bootstrap) {
    const valid = tokens.filter((t) => t.expiration > now);
    docs.push(...valid.map((t) => `# Bootstrap token ${t.id} (kube-pki token list), valid until ${t.expiration.toISOString()}\n${stringify(tokenSecret(t))}`));
    if (!valid.length) notes.push('# No valid bootstrap token in the folder: kube-pki token create, then print these again.');
    if (tokens.length > valid.length) notes.push(`# ${tokens.length - valid.length} expired token(s) left out (kube-pki token delete ID).`);
  }
  if (!docs.length)
    return (
      `${head}# Nothing to apply: these certificates need no objects beyond Kubernetes' built-in RBAC.\n` +
      '# kubectl apply refuses an empty set, so this ConfigMap, which grants nothing, stands in for it.\n' +
      stringify({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'kube-pki', namespace: 'kube-system' },
        data: { profile: cluster.profile, note: 'kube-pki manifests: the certificates need no objects beyond the built-in RBAC' },
      })
    );
  const who = cluster.profile === 'kubeadm' ? 'kubectl --kubeconfig super-admin.conf apply -f -' : 'kubectl --kubeconfig admin.kubeconfig apply -f -';
  return `${head}# Apply once, as a user outside these bindings: ${who}\n${notes.join('\n')}${notes.length ? '\n' : ''}${docs.join('---\n')}`;
}
