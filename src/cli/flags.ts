import { existsSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, join, posix } from 'node:path';
import { catalogFor } from '../catalog/index.js';
import { componentFlags, nodeFolder, type ComponentFlag } from '../catalog/flags.js';
import { componentSettings, type ComponentSetting } from '../catalog/bootstrap.js';
import type { CertSpec } from '../model/catalog.js';
import { bundleOf, isSigningFlag } from '../model/rotation.js';
import { isRetiredBundle } from '../inspect/rotation.js';
import { instancesFor } from '../pki.js';
import type { Cluster } from '../model/cluster.js';
import { EXIT, UserError } from '../errors.js';
import { saFiles, saFlagPaths, saPaths, saRotation } from '../inspect/sa-rotation.js';

export interface FlagsOptions {
  dir?: string;
  /** The local PKI folder whose rotation phase decides the trust files, when --dir is not a local folder. */
  out?: string;
  json?: boolean;
}

/**
 * During a CA rotation's overlap (rotate-ca start … finish) the trust flags name the CA's bundle
 * (old + new) instead of its certificate; the signing flags keep the single matching pair. Read
 * from the folder itself: --dir when it is a local copy of a node's folder, else the PKI folder.
 */
function inOverlap(cluster: Cluster, options: FlagsOptions, dir: string): (spec: CertSpec) => boolean {
  const local = statSync(dir, { throwIfNoEntry: false })?.isDirectory();
  const instances = local ? null : instancesFor(cluster);
  // A bundle that holds only the CA itself (retired by finish or abort) is no overlap: flags name ca.crt again.
  const overlapping = (folder: string, crt: string) => {
    const read = (p: string) => (existsSync(join(folder, p)) ? readFileSync(join(folder, p)) : null);
    const bundle = read(bundleOf(crt));
    return !!bundle && !isRetiredBundle(bundle, read(crt));
  };
  return (spec) => {
    if (local) return overlapping(dir, `${spec.file(undefined)}.crt`);
    const ca = instances!.certs.find((c) => c.spec === spec)!;
    return overlapping(options.out ?? 'pki', ca.certPath);
  };
}

/** Trust flags of CAs in the overlap name the bundle. */
function withRotation(cluster: Cluster, all: Map<string, ComponentFlag[]>, options: FlagsOptions, dir: string): void {
  const overlap = inOverlap(cluster, options, dir);
  for (const spec of catalogFor(cluster).certs.filter((c) => c.kind === 'ca' && overlap(c))) {
    const crt = posix.join(dir, `${spec.file(undefined)}.crt`);
    for (const use of (spec.uses ?? []).filter((u) => u.part === 'crt' && !isSigningFlag(u.flag)))
      for (const f of all.get(use.component) ?? []) if (f.flag === use.flag && f.path === crt) f.path = posix.join(dir, bundleOf(`${spec.file(undefined)}.crt`));
  }
}

/**
 * During a service-account key rotation (rotate-sa, docs/key-rotation.md) the apiservers verify with
 * the current and the new public key (--service-account-key-file twice) from start until finish, and
 * the new key signs from promote on (--service-account-signing-key-file, the controller manager's
 * --service-account-private-key-file). The phase is in the PKI folder's record: read from --out.
 */
function withSaRotation(cluster: Cluster, all: Map<string, ComponentFlag[]>, options: FlagsOptions): void {
  const files = saFiles(instancesFor(cluster));
  if (!files) return;
  const out = options.out ?? 'pki';
  const read = (p: string) => (existsSync(join(out, p)) && statSync(join(out, p)).isFile() ? readFileSync(join(out, p)) : null);
  const state = saRotation(files, new Map(saPaths(files).map((p) => [p, read(p)]))).state;
  for (const [component, list] of all) all.set(component, list.flatMap((f) => saFlagPaths(state, f.flag, f.path).map((path) => ({ ...f, path }))));
}

/** `kube-pki flags [COMPONENT]`: each component's certificate flags with the files' paths on the node. */
export function flags(cluster: Cluster, component: string | undefined, options: FlagsOptions): string {
  const folder = options.dir === undefined ? nodeFolder(cluster) : { dir: options.dir, from: '--dir' };
  const dir = folder.dir;
  if (!isAbsolute(dir)) throw new UserError(`--dir: ${JSON.stringify(dir)}: must be an absolute path (components read their files from it)`, EXIT.badInput);
  const all = componentFlags(catalogFor(cluster), cluster, dir);
  withRotation(cluster, all, options, dir);
  withSaRotation(cluster, all, options);
  if (component !== undefined && !all.has(component))
    throw new UserError(`component ${JSON.stringify(component)} reads no file of the ${cluster.profile} PKI; one of: ${[...all.keys()].join(', ')}`, EXIT.badInput);
  const settings = componentSettings(cluster);
  const chosen = [...all].filter(([c]) => component === undefined || c === component);
  if (options.json) return `${JSON.stringify(Object.fromEntries(chosen.map(([c, list]) => [c, [...list, ...(settings.get(c) ?? [])]])), null, 2)}\n`;
  const settingLine = (s: ComponentSetting) =>
    s.flag ? `${s.flag}=${s.value}${s.node ? `   # on ${s.node}` : ''}` : `# KubeletConfiguration${s.node ? ` of ${s.node}` : ''}: ${s.configField}: ${s.value}`;
  const blocks = chosen.map(([c, list]) => [
    `# ${c}`,
    ...list.map((f) => `${f.flag}=${f.path}${f.node ? `   # on ${f.node}` : ''}`),
    ...(settings.get(c) ?? []).map(settingLine),
  ]);
  const header = [`# Flags of the ${cluster.profile} PKI (${cluster.source}), files under ${dir}`, `# (${folder.from}; --dir PATH names another folder)`];
  // A node of its own login or folder gets its files elsewhere: the one folder above is not its.
  const own = cluster.nodes.filter((n) => n.ssh?.remoteDir !== undefined || n.ssh?.user !== undefined).map((n) => n.name);
  if (!options.dir && own.length) header.push(`# ${own.join(', ')}: ssh.user or ssh.remoteDir of its own; kube-pki flags --dir PATH for its folder`);
  return `${[header, ...blocks].map((b) => b.join('\n')).join('\n\n')}\n`;
}
