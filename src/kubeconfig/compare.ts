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

/**
 * What makes a kubeconfig differ from the one kube-pki would write: its names (current context,
 * cluster, user), its server, and the CA, client certificate and key it embeds. Anything else a user
 * or kubectl adds (a comment, a namespace, another context, preferences) is theirs and does not count.
 */
export function kubeconfigDifferences(text: string, source: KubeconfigSource, pem: { ca: Buffer; cert: Buffer; key: Buffer }): KubeconfigDifference[] {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch {
    return [{ part: 'names', message: 'is not readable YAML' }];
  }
  if (!isMap(doc)) return [{ part: 'names', message: 'is not a kubeconfig' }];
  const out: KubeconfigDifference[] = [];
  const current = doc['current-context'];
  if (current !== source.contextName) out.push({ part: 'names', message: `current-context is ${JSON.stringify(current ?? null)}, expected ${JSON.stringify(source.contextName)}` });
  const context = entry(doc, 'contexts', source.contextName, 'context');
  if (!context) out.push({ part: 'names', message: `has no context ${JSON.stringify(source.contextName)}` });
  else if (context.cluster !== source.clusterName || context.user !== source.userName)
    out.push({
      part: 'names',
      message: `context ${source.contextName} joins cluster ${JSON.stringify(context.cluster ?? null)} and user ${JSON.stringify(context.user ?? null)}, expected ${JSON.stringify(source.clusterName)} and ${JSON.stringify(source.userName)}`,
    });
  const cluster = entry(doc, 'clusters', source.clusterName, 'cluster');
  const user = entry(doc, 'users', source.userName, 'user');
  if (!cluster) out.push({ part: 'names', message: `has no cluster ${JSON.stringify(source.clusterName)}` });
  else {
    if (cluster.server !== source.server) out.push({ part: 'server', message: `server is ${JSON.stringify(cluster.server ?? null)}, expected ${source.server}` });
    if (!sameData(cluster['certificate-authority-data'], pem.ca)) out.push({ part: 'ca', message: `its embedded CA is not ${source.caFile}` });
  }
  if (!user) out.push({ part: 'names', message: `has no user ${JSON.stringify(source.userName)}` });
  else {
    if (!sameData(user['client-certificate-data'], pem.cert)) out.push({ part: 'cert', message: `its embedded client certificate is not ${source.certFile}` });
    if (!sameData(user['client-key-data'], pem.key)) out.push({ part: 'key', message: `its embedded client key is not ${source.keyFile}` });
  }
  return out;
}
