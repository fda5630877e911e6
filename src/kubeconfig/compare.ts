import { parse } from 'yaml';
import type { KubeconfigSource } from '../model/steps.js';

type Yaml = Record<string, unknown>;
const isMap = (v: unknown): v is Yaml => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The entry of a kubeconfig list (clusters, users, contexts) with that name, and its inner mapping. */
function entry(doc: Yaml, list: string, name: string, field: string): Yaml | null {
  const items = Array.isArray(doc[list]) ? (doc[list] as unknown[]) : [];
  const found = items.find((e) => isMap(e) && e.name === name);
  return isMap(found) && isMap(found[field]) ? found[field] : null;
}

const sameData = (data: unknown, pem: Buffer) => typeof data === 'string' && Buffer.from(data, 'base64').equals(pem);

export type KubeconfigDifference = { part: 'names' | 'server' | 'ca' | 'cert' | 'key'; message: string };

type Names = Pick<KubeconfigSource, 'contextName' | 'clusterName' | 'userName'>;

function parsed(text: string): Yaml | string {
  try {
    const doc: unknown = parse(text);
    return isMap(doc) ? doc : 'is not a kubeconfig';
  } catch {
    return 'is not readable YAML';
  }
}

function nameDifferences(doc: Yaml, names: Names): KubeconfigDifference[] {
  const out: KubeconfigDifference[] = [];
  const current = doc['current-context'];
  if (current !== names.contextName) out.push({ part: 'names', message: `current-context is ${JSON.stringify(current ?? null)}, expected ${JSON.stringify(names.contextName)}` });
  const context = entry(doc, 'contexts', names.contextName, 'context');
  if (!context) out.push({ part: 'names', message: `has no context ${JSON.stringify(names.contextName)}` });
  else if (context.cluster !== names.clusterName || context.user !== names.userName)
    out.push({
      part: 'names',
      message: `context ${names.contextName} joins cluster ${JSON.stringify(context.cluster ?? null)} and user ${JSON.stringify(context.user ?? null)}, expected ${JSON.stringify(names.clusterName)} and ${JSON.stringify(names.userName)}`,
    });
  if (!entry(doc, 'clusters', names.clusterName, 'cluster')) out.push({ part: 'names', message: `has no cluster ${JSON.stringify(names.clusterName)}` });
  if (!entry(doc, 'users', names.userName, 'user')) out.push({ part: 'names', message: `has no user ${JSON.stringify(names.userName)}` });
  return out;
}

/** Only the names (current context, its cluster and user): what `check` adds to its own comparison. */
export function kubeconfigNameDifferences(text: string, names: Names): string[] {
  const doc = parsed(text);
  return (typeof doc === 'string' ? [{ part: 'names', message: doc }] : nameDifferences(doc, names)).map((d) => d.message);
}

/**
 * What makes a kubeconfig differ from the one kube-pki would write: its names (current context,
 * cluster, user), its server, and the CA, client certificate and key it embeds. Anything else a user
 * or kubectl adds (a comment, a namespace, another context, preferences) is theirs and does not count.
 */
export function kubeconfigDifferences(text: string, source: KubeconfigSource, pem: { ca: Buffer; cert: Buffer; key: Buffer }): KubeconfigDifference[] {
  const doc = parsed(text);
  if (typeof doc === 'string') return [{ part: 'names', message: doc }];
  const out = nameDifferences(doc, source);
  const cluster = entry(doc, 'clusters', source.clusterName, 'cluster');
  const user = entry(doc, 'users', source.userName, 'user');
  if (cluster) {
    if (cluster.server !== source.server) out.push({ part: 'server', message: `server is ${JSON.stringify(cluster.server ?? null)}, expected ${source.server}` });
    if (!sameData(cluster['certificate-authority-data'], pem.ca)) out.push({ part: 'ca', message: `its embedded CA is not ${source.caFile}` });
  }
  if (user) {
    if (!sameData(user['client-certificate-data'], pem.cert)) out.push({ part: 'cert', message: `its embedded client certificate is not ${source.certFile}` });
    if (!sameData(user['client-key-data'], pem.key)) out.push({ part: 'key', message: `its embedded client key is not ${source.keyFile}` });
  }
  return out;
}
