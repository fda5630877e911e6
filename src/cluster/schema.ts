import { z } from 'zod';
import { isDnsName, isIpAddress, isNodeName, isPlainPath, isUserName } from './names.js';
import { parseCidr } from '../util/ip.js';

export const ROLES = ['controlplane', 'worker', 'loadbalancer'] as const;
export const PROFILES = ['hardway', 'kubeadm'] as const;
export const RSA_SIZES = [2048, 3072, 4096] as const;
export const CURVES = ['P-256', 'P-384'] as const;

const nodeName = z.string().refine(isNodeName, {
  error: 'is not a valid node name (lower-case letters, digits, "-" and "." as in a DNS name, e.g. worker-1)',
});
const ipAddress = z.string().refine(isIpAddress, { error: 'is not an IPv4 or IPv6 address' });
const ipOrDns = z
  .string()
  .refine((v) => isIpAddress(v) || isDnsName(v), { error: 'is neither an IP address nor a DNS name' });
const sanValue = z
  .string()
  .refine((v) => isIpAddress(v) || isDnsName(v, true), { error: 'is neither an IP address nor a DNS name' });
const port = z.int({ error: 'must be a whole number' }).min(1, { error: 'must be 1 to 65535' }).max(65535, {
  error: 'must be 1 to 65535',
});
const days = z
  .int({ error: 'must be a whole number of days' })
  .min(1, { error: 'must be at least 1 day' })
  .max(36500, { error: 'must be at most 36500 days (100 years)' });

/** How a node is reached over SSH (distribution); every field optional, defaults at the top level. */
export const sshSchema = z.strictObject({
  host: ipOrDns.optional(),
  port: port.optional(),
  user: z.string().refine(isUserName, { error: 'is not a valid user name' }).optional(),
  identityFile: z.string().refine(isPlainPath, { error: 'is not a usable file path' }).optional(),
  hostKey: z
    .string()
    .regex(/^SHA256:[A-Za-z0-9+/]{43}=?$/, { error: 'is not an OpenSSH fingerprint like SHA256:AbC...(43 characters)' })
    .optional(),
  remoteDir: z.string().refine(isPlainPath, { error: 'is not a usable folder path' }).optional(),
  sudo: z.boolean({ error: 'must be true or false' }).optional(),
});

const nodeSchema = z.strictObject({
  name: nodeName,
  address: ipAddress,
  role: z.enum(ROLES, { error: `must be one of ${ROLES.join(', ')}` }),
  ssh: sshSchema.optional(),
});

const keySchema = z.discriminatedUnion(
  'algorithm',
  [
    z.strictObject({
      algorithm: z.literal('rsa'),
      size: z
        .union(RSA_SIZES.map((n) => z.literal(n)), { error: `must be one of ${RSA_SIZES.join(', ')}` })
        .default(2048),
    }),
    z.strictObject({
      algorithm: z.literal('ecdsa'),
      curve: z.enum(CURVES, { error: `must be one of ${CURVES.join(', ')}` }).default('P-256'),
    }),
  ],
  { error: 'algorithm must be rsa or ecdsa' },
);

export const clusterSchema = z
  .strictObject({
    profile: z.enum(PROFILES, { error: `must be one of ${PROFILES.join(', ')}` }).default('hardway'),
    clusterDomain: z
      .string()
      .refine((v) => isDnsName(v), { error: 'is not a DNS domain like cluster.local' })
      .default('cluster.local'),
    serviceCIDR: z
      .string()
      .superRefine((v, ctx) => {
        const parsed = parseCidr(v);
        if (typeof parsed === 'string') ctx.addIssue({ code: 'custom', message: parsed, input: v });
      })
      .default('10.96.0.0/24'),
    apiServer: z
      .strictObject({
        endpoint: ipOrDns,
        port: port.default(6443),
        extraSANs: z.array(sanValue).default([]),
      }),
    key: keySchema.default({ algorithm: 'rsa', size: 2048 }),
    validityDays: z
      .strictObject({ ca: days.optional(), leaf: days.optional() })
      .default({}),
    ssh: sshSchema.optional(),
    nodes: z.array(nodeSchema).min(1, { error: 'must list at least one node' }),
  })
  .superRefine((c, ctx) => {
    const seenNames = new Map<string, number>();
    const seenAddresses = new Map<string, number>();
    c.nodes.forEach((n, i) => {
      const nameAt = seenNames.get(n.name);
      if (nameAt !== undefined)
        ctx.addIssue({ code: 'custom', path: ['nodes', i, 'name'], input: n.name, message: `repeats the name of nodes[${nameAt}]` });
      else seenNames.set(n.name, i);
      const addressAt = seenAddresses.get(n.address);
      if (addressAt !== undefined)
        ctx.addIssue({ code: 'custom', path: ['nodes', i, 'address'], input: n.address, message: `repeats the address of nodes[${addressAt}]` });
      else seenAddresses.set(n.address, i);
    });
    if (!c.nodes.some((n) => n.role === 'controlplane'))
      ctx.addIssue({ code: 'custom', path: ['nodes'], input: c.nodes.map((n) => n.name), message: 'needs at least one node with role controlplane' });
  });

export type ClusterInput = z.input<typeof clusterSchema>;
export type ClusterParsed = z.output<typeof clusterSchema>;
export type SshSettings = z.output<typeof sshSchema>;
