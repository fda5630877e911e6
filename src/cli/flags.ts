import { isAbsolute } from 'node:path';
import { catalogFor } from '../catalog/index.js';
import { componentFlags, nodeFolder } from '../catalog/flags.js';
import type { Cluster } from '../model/cluster.js';
import { EXIT, UserError } from '../errors.js';

export interface FlagsOptions {
  dir?: string;
  json?: boolean;
}

/** `kube-pki flags [COMPONENT]`: each component's certificate flags with the files' paths on the node. */
export function flags(cluster: Cluster, component: string | undefined, options: FlagsOptions): string {
  const dir = options.dir ?? nodeFolder(cluster);
  if (!isAbsolute(dir)) throw new UserError(`--dir: ${JSON.stringify(dir)}: must be an absolute path (components read their files from it)`, EXIT.badInput);
  const all = componentFlags(catalogFor(cluster.profile), cluster, dir);
  if (component !== undefined && !all.has(component))
    throw new UserError(`component ${JSON.stringify(component)} reads no file of the ${cluster.profile} PKI; one of: ${[...all.keys()].join(', ')}`, EXIT.badInput);
  const chosen = [...all].filter(([c]) => component === undefined || c === component);
  if (options.json) return `${JSON.stringify(Object.fromEntries(chosen), null, 2)}\n`;
  const blocks = chosen.map(([c, list]) => [
    `# ${c}`,
    ...list.map((f) => `${f.flag}=${f.path}${f.node ? `   # on ${f.node}` : ''}`),
  ]);
  const header = [`# Flags of the ${cluster.profile} PKI (${cluster.source}), files under ${dir}`];
  // distribute's default for hardway is the login user's ~/pki (no sudo needed): say how to line them up.
  if (!options.dir && !isAbsolute(cluster.ssh?.remoteDir ?? '') && cluster.profile === 'hardway')
    header.push(`# kube-pki distribute puts the files in ~/pki unless told otherwise: set ssh: { remoteDir: ${dir}, sudo: true } to install them here`);
  return `${[header, ...blocks].map((b) => b.join('\n')).join('\n\n')}\n`;
}
