import { readFile } from 'node:fs/promises';
import { parseDocument } from 'yaml';
import type * as z from 'zod/mini';
import { ValidationError, UserError, showValue, type FieldIssue } from '../errors.js';
import { canonicalIp, firstAddress, parseCidr, type Cidr } from '../util/ip.js';
import { DEFAULT_CLUSTER_YAML } from './default.js';
import type { Cluster } from '../model/cluster.js';
import { clusterSchema, type ClusterParsed } from './schema.js';

const PROFILE_VALIDITY = {
  hardway: { ca: 1000, leaf: 1000 },
  kubeadm: { ca: 3650, leaf: 365 },
} as const;

export const DEFAULT_SOURCE = '(built-in lab default)';

export async function loadClusterFile(path: string): Promise<Cluster> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new UserError(`cannot read cluster description ${path}: ${(err as NodeJS.ErrnoException).code ?? err}`);
  }
  return parseCluster(text, path);
}

export function defaultCluster(): Cluster {
  return parseCluster(DEFAULT_CLUSTER_YAML, DEFAULT_SOURCE);
}

/** Parses and validates a YAML description; throws ValidationError naming every bad field. */
export function parseCluster(text: string, source: string): Cluster {
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: true });
  if (doc.errors.length > 0) {
    throw new ValidationError(
      source,
      doc.errors.map((e) => ({ path: `line ${e.linePos?.[0]?.line ?? '?'}`, message: `YAML syntax: ${(e.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '')}` })),
    );
  }
  const raw: unknown = doc.toJS();
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    const got = raw === null ? 'an empty document' : Array.isArray(raw) ? 'a list' : `a ${typeof raw}`;
    throw new ValidationError(source, [{ path: '', message: `must be a YAML mapping with profile, apiServer, nodes… (got ${got}); is it the right file?` }]);
  }
  const result = clusterSchema.safeParse(raw, { reportInput: true });
  if (!result.success) throw new ValidationError(source, result.error.issues.map(toFieldIssue));
  return resolve(result.data, source);
}

/** A leaf must not outlive the CA that signs it: refused, naming both fields (defaults said as such). */
function validityIssues(c: ClusterParsed, validity: { ca: number; leaf: number }): FieldIssue[] {
  if (validity.leaf <= validity.ca) return [];
  const shown = (field: 'ca' | 'leaf') => `${validity[field]}${c.validityDays[field] === undefined ? ` (the ${c.profile} default)` : ''}`;
  return [
    {
      path: 'validityDays.leaf',
      message: `${shown('leaf')}: is longer than validityDays.ca (${shown('ca')}); a certificate must not outlive the CA that signs it: shorten validityDays.leaf or lengthen validityDays.ca`,
    },
  ];
}

function resolve(c: ClusterParsed, source: string): Cluster {
  const defaults = PROFILE_VALIDITY[c.profile];
  const validityDays = { ca: c.validityDays.ca ?? defaults.ca, leaf: c.validityDays.leaf ?? defaults.leaf };
  const issues = validityIssues(c, validityDays);
  if (issues.length) throw new ValidationError(source, issues);
  const caDays = validityDays.ca;
  // The root must outlive every CA it signs: an intermediate valid after its root is dead weight.
  if (c.rootCA && c.rootCA.validityDays <= caDays)
    throw new ValidationError(source, [
      {
        path: 'rootCA.validityDays',
        message: `${c.rootCA.validityDays}: must be longer than validityDays.ca (${caDays}${c.validityDays.ca === undefined ? `, the ${c.profile} default` : ''}), the CAs the root signs`,
      },
    ]);
  return {
    profile: c.profile,
    ...(c.profile === 'kubeadm' ? { kubeadmLayout: c.kubeadmLayout ?? 'current' } : {}),
    clusterDomain: c.clusterDomain,
    serviceCIDR: c.serviceCIDR,
    serviceIP: firstAddress(parseCidr(c.serviceCIDR) as Cidr),
    apiServer: {
      endpoint: canonicalIp(c.apiServer.endpoint) ?? c.apiServer.endpoint,
      port: c.apiServer.port,
      extraSANs: c.apiServer.extraSANs,
    },
    key: c.key,
    validityDays,
    ...(c.rootCA ? { rootCA: c.rootCA } : {}),
    ...encryptionOf(c),
    ...(c.externalCAs?.length ? { externalCAs: c.externalCAs } : {}),
    nodes: c.nodes.map(({ bootstrap, ...n }) => {
      const boots = n.role === 'worker' && (bootstrap ?? c.kubeletBootstrap ?? false);
      return { ...n, address: canonicalIp(n.address) ?? n.address, ...(boots ? { bootstrap: true } : {}) };
    }),
    ...(c.ssh ? { ssh: c.ssh } : {}),
    ...(c.kubeletBootstrap ? { kubeletBootstrap: true } : {}),
    ...(c.restart ? { restart: c.restart } : {}),
    source,
  };
}

/** `encryption:` with the profile's default filled in; none (false, provider none, kubeadm's default) leaves it out. */
function encryptionOf(c: ClusterParsed): Pick<Cluster, 'encryption'> {
  const chosen = c.encryption === undefined ? (c.profile === 'hardway' ? 'aescbc' : 'none') : c.encryption === false ? 'none' : c.encryption.provider;
  return chosen === 'none' ? {} : { encryption: { provider: chosen } };
}

export function formatPath(path: readonly PropertyKey[]): string {
  return path
    .map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`))
    .join('');
}

function toFieldIssue(issue: z.core.$ZodIssue): FieldIssue {
  const path = formatPath(issue.path);
  if (issue.code === 'unrecognized_keys') {
    return {
      path: issue.keys.map((k) => (path ? `${path}.${k}` : k)).join(', '),
      message: `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => showValue(k)).join(', ')}`,
    };
  }
  const value = 'input' in issue ? issue.input : undefined;
  const shown = value === undefined ? 'missing' : showValue(value);
  return { path, message: `${shown}: ${issue.message}` };
}
