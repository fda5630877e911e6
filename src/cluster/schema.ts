// zod/mini: the same validation as zod's classic API in a tenth of the code, which `npm run certs`
// loads on every start. It comes without messages; English is what the classic API shows.
import * as z from 'zod/mini';
import en from 'zod/v4/locales/en.js';
import { hostProblem, isDnsName, isNodeName, isPlainPath, isUserName } from './names.js';
import { canonicalIp, parseCidr } from '../util/ip.js';
import { ENCRYPTION_PROVIDERS } from '../model/encryption.js';
import { pkcs11UriProblem } from '../util/pkcs11-uri.js';
import { CURVES, KUBEADM_LAYOUTS, PROFILES, RESTART_COMPONENTS, ROLES, RSA_SIZES, TOKEN_RSA_SIZES, type KeySpec, type Pkcs11Settings, type RestartSettings, type Role, type RootCaSettings, type SshSettings } from '../model/cluster.js';

z.config(en());

/** A string that `valid` accepts, else the issue `error`. */
const checked = (valid: (v: string) => boolean, error: string) => z.string().check(z.refine(valid, { error }));

/** A string for which `problem` finds nothing, else the issue it names. */
const checkedWith = (problem: (v: string) => string | null) =>
  z.string().check(
    z.superRefine((v, ctx) => {
      const message = problem(v);
      if (message) ctx.addIssue({ code: 'custom', message, input: v });
    }),
  );

const NODE_NAME_RULE = 'lower-case letters, digits, "-" and "." as in a DNS name, not all digits after the last ".", e.g. worker-1';
const nodeName = checked(isNodeName, `is not a valid node name (${NODE_NAME_RULE})`);
const ipAddress = checkedWith((v) => hostProblem(v, { dns: false }));
const ipOrDns = checkedWith((v) => hostProblem(v, { dns: true }));
const sanValue = checkedWith((v) => hostProblem(v, { dns: true, wildcard: true }));
const port = z.int({ error: 'must be a whole number' }).check(z.minimum(1, { error: 'must be 1 to 65535' }), z.maximum(65535, { error: 'must be 1 to 65535' }));
const days = z
  .int({ error: 'must be a whole number of days' })
  .check(z.minimum(1, { error: 'must be at least 1 day' }), z.maximum(36500, { error: 'must be at most 36500 days (100 years)' }));

/** How a node is reached over SSH (distribution); every field optional, defaults at the top level. */
export const sshSchema = z.strictObject({
  host: z.optional(ipOrDns),
  port: z.optional(port),
  user: z.optional(checked(isUserName, 'is not a valid user name')),
  identityFile: z.optional(checked(isPlainPath, 'is not a usable file path')),
  hostKey: z.optional(
    z.string().check(z.regex(/^SHA256:[A-Za-z0-9+/]{43}=?$/, { error: 'is not an OpenSSH fingerprint like SHA256:AbC...(43 characters)' })),
  ),
  remoteDir: z.optional(checked(isPlainPath, 'is not a usable folder path')),
  sudo: z.optional(z.boolean({ error: 'must be true or false' })),
});

/**
 * One word of a restart command: sent over SSH quoted word by word (ssh/quote.ts), so any text is safe
 * except control characters, which no remote shell takes reliably.
 */
const argvWord = z.string().check(
  z.minLength(1, { error: 'must not be empty' }),
  z.refine((v) => !/[\u0000-\u001f\u007f]/.test(v), { error: 'must not hold control characters (newlines, tabs…)' }),
);
const argv = z.array(argvWord).check(z.minLength(1, { error: 'must list the program and its arguments, e.g. [systemctl, restart, etcd]' }));
const perComponent = <T extends z.ZodMiniType>(value: T) => z.optional(z.partialRecord(z.enum(RESTART_COMPONENTS, { error: `must be one of ${RESTART_COMPONENTS.join(', ')}` }), value));

/** `restart:` at the top level (commands and health ports for every node). */
const skip = z.optional(z.array(z.enum(RESTART_COMPONENTS, { error: `must be one of ${RESTART_COMPONENTS.join(', ')}` })));
export const restartSchema = z.strictObject({
  commands: perComponent(argv),
  ports: perComponent(port),
  skip,
});

/** `nodes[].restart:`: the same per node (it wins), and the address its health checks connect to. */
const nodeRestartSchema = z.strictObject({
  commands: perComponent(argv),
  ports: perComponent(port),
  skip,
  address: z.optional(ipOrDns),
});

const nodeSchema = z.strictObject({
  name: nodeName,
  address: ipAddress,
  role: z.enum(ROLES, { error: `must be one of ${ROLES.join(', ')}` }),
  ssh: z.optional(sshSchema),
  bootstrap: z.optional(z.boolean({ error: 'must be true or false' })),
  kubeletDir: z.optional(checked((v) => isPlainPath(v) && v.startsWith('/') && !v.split('/').includes('..'), 'is not an absolute folder path without ..')),
  restart: z.optional(nodeRestartSchema),
});

/** A CN for -subj and openssl.cnf: letters, digits, spaces and . _ : - only (nothing openssl treats specially). */
const commonName = z
  .string()
  .check(z.regex(/^[A-Za-z0-9][A-Za-z0-9 ._:-]{0,63}$/, { error: 'must be 1 to 64 letters, digits, spaces or . _ : - (starting with a letter or digit)' }));

/** The root key in a PKCS#11 token (docs/pkcs11.md): the kinds tokens make, ECDSA P-256 unless told. */
export const pkcs11Schema = z.strictObject({
  module: z.optional(
    checkedWith((v) => (!isPlainPath(v) ? 'is not a usable file path' : v.startsWith('/') ? null : 'must be an absolute path to the token\'s PKCS#11 module (a .so file)')),
  ),
  uri: checkedWith(pkcs11UriProblem),
  key: z._default(
    z.discriminatedUnion(
      'algorithm',
      [
        z.strictObject({
          algorithm: z.literal('rsa'),
          size: z.union(TOKEN_RSA_SIZES.map((n) => z.literal(n)), { error: `must be one of ${TOKEN_RSA_SIZES.join(', ')} for a root key in a token` }),
        }),
        z.strictObject({
          algorithm: z.literal('ecdsa'),
          curve: z._default(z.enum(CURVES, { error: `must be one of ${CURVES.join(', ')}` }), 'P-256'),
        }),
      ],
      { error: 'algorithm must be rsa or ecdsa' },
    ),
    { algorithm: 'ecdsa', curve: 'P-256' },
  ),
});

/** The single root CA over the cluster's CAs (README "A root CA"); absent: the CAs are self-signed, as before. */
export const rootCaSchema = z.strictObject({
  commonName: z._default(commonName, 'kubernetes-root-ca'),
  validityDays: z._default(days, 7300),
  encrypt: z._default(z.boolean({ error: 'must be true or false' }), true),
  pkcs11: z.optional(pkcs11Schema),
});

/**
 * Secrets encrypted at rest (docs/encryption.md): `{ provider: aescbc | aesgcm | secretbox }`, or
 * `false` (also `{ provider: none }`) for none. Left out: the profile's default (hardway aescbc, as both
 * hard-way guides do; kubeadm none, as kubeadm makes none).
 */
const ENCRYPTION_CHOICES = [...ENCRYPTION_PROVIDERS, 'none'] as const;
export const encryptionSchema = z.union(
  [
    z.literal(false),
    z.strictObject({ provider: z.enum(ENCRYPTION_CHOICES, { error: `must be one of ${ENCRYPTION_CHOICES.join(', ')}` }) }),
  ],
  { error: `must be false or { provider: ${ENCRYPTION_CHOICES.join(' | ')} }` },
);

const keySchema = z.discriminatedUnion(
  'algorithm',
  [
    z.strictObject({
      algorithm: z.literal('rsa'),
      size: z._default(z.union(RSA_SIZES.map((n) => z.literal(n)), { error: `must be one of ${RSA_SIZES.join(', ')}` }), 2048),
    }),
    z.strictObject({
      algorithm: z.literal('ecdsa'),
      curve: z._default(z.enum(CURVES, { error: `must be one of ${CURVES.join(', ')}` }), 'P-256'),
    }),
  ],
  { error: 'algorithm must be rsa or ecdsa' },
);

export const clusterSchema = z
  .strictObject({
    profile: z._default(z.enum(PROFILES, { error: `must be one of ${PROFILES.join(', ')}` }), 'hardway'),
    kubeadmLayout: z.optional(z.enum(KUBEADM_LAYOUTS, { error: `must be one of ${KUBEADM_LAYOUTS.join(', ')}` })),
    clusterDomain: z._default(checked((v) => isDnsName(v), 'is not a DNS domain like cluster.local'), 'cluster.local'),
    serviceCIDR: z._default(
      z.string().check(
        z.superRefine((v, ctx) => {
          const parsed = parseCidr(v);
          if (typeof parsed === 'string') ctx.addIssue({ code: 'custom', message: parsed, input: v });
        }),
      ),
      '10.96.0.0/24',
    ),
    apiServer: z.strictObject({
      endpoint: ipOrDns,
      port: z._default(port, 6443),
      extraSANs: z._default(z.array(sanValue), []),
    }),
    key: z._default(keySchema, { algorithm: 'rsa', size: 2048 }),
    validityDays: z._default(z.strictObject({ ca: z.optional(days), leaf: z.optional(days) }), {}),
    rootCA: z.optional(rootCaSchema),
    encryption: z.optional(encryptionSchema),
    // Checked against the profile's catalog in plan/instances.ts (cluster/ knows no catalog).
    externalCAs: z.optional(z.array(checked((v) => isNodeName(v), 'is not a CA name like ca or etcd-ca'))),
    ssh: z.optional(sshSchema),
    kubeletBootstrap: z.optional(z.boolean({ error: 'must be true or false' })),
    restart: z.optional(restartSchema),
    nodes: z.array(nodeSchema).check(z.minLength(1, { error: 'must list at least one node' })),
  })
  .check(
    z.superRefine((c, ctx) => {
      const seenNames = new Map<string, number>();
      const seenAddresses = new Map<string, number>();
      c.nodes.forEach((n, i) => {
        const nameAt = seenNames.get(n.name);
        if (nameAt !== undefined)
          ctx.addIssue({ code: 'custom', path: ['nodes', i, 'name'], input: n.name, message: `repeats the name of nodes[${nameAt}]` });
        else seenNames.set(n.name, i);
        // By value: fd00::21 and FD00:0::21 are one address.
        const address = canonicalIp(n.address) ?? n.address;
        const addressAt = seenAddresses.get(address);
        if (addressAt !== undefined)
          ctx.addIssue({ code: 'custom', path: ['nodes', i, 'address'], input: n.address, message: `repeats the address of nodes[${addressAt}]` });
        else seenAddresses.set(address, i);
        // Only a kubelet bootstraps: control planes hold the CA key, load balancers run no kubelet of ours.
        if (n.kubeletDir !== undefined && n.role !== 'worker')
          ctx.addIssue({ code: 'custom', path: ['nodes', i, 'kubeletDir'], input: n.kubeletDir, message: `is for workers only (${n.name} is ${n.role}): remove it` });
        if (n.bootstrap === true && n.role !== 'worker')
          ctx.addIssue({ code: 'custom', path: ['nodes', i, 'bootstrap'], input: n.bootstrap, message: `is for workers only (${n.name} is ${n.role}): remove it` });
      });
      if (c.kubeadmLayout !== undefined && c.profile !== 'kubeadm')
        ctx.addIssue({ code: 'custom', path: ['kubeadmLayout'], input: c.kubeadmLayout, message: `is for profile kubeadm only (profile is ${c.profile}): remove it` });
      if (!c.nodes.some((n) => n.role === 'controlplane'))
        ctx.addIssue({ code: 'custom', path: ['nodes'], input: c.nodes.map((n) => n.name), message: 'needs at least one node with role controlplane' });
    }),
  );

export type ClusterParsed = z.output<typeof clusterSchema>;

// The schema's output is the model's shape exactly: a change on one side fails here.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Holds<T extends true> = T;
export type SchemaMatchesModel = [
  Holds<Same<ClusterParsed['key'], KeySpec>>,
  Holds<Same<ClusterParsed['nodes'][number]['role'], Role>>,
  Holds<Same<z.output<typeof sshSchema>, SshSettings>>,
  Holds<Same<z.output<typeof rootCaSchema>, RootCaSettings>>,
  Holds<Same<z.output<typeof pkcs11Schema>, Pkcs11Settings>>,
  Holds<Same<z.output<typeof nodeRestartSchema>, RestartSettings>>,
];
