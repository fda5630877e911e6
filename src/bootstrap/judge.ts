import type { Cluster } from '../model/cluster.js';
import { canonicalIp } from '../util/ip.js';
import type { CsrContent } from './csr-der.js';

// The serving-CSR approver's rule (docs/bootstrap.md), pure: a kubernetes.io/kubelet-serving request is
// approved only when a worker of the description asks for a certificate naming itself alone.

export const SERVING_SIGNER = 'kubernetes.io/kubelet-serving';

/** A CertificateSigningRequest as the apiserver returns it (the fields the rule reads). */
export interface CsrObject {
  metadata: { name: string };
  spec: { signerName: string; username?: string; groups?: string[]; usages?: string[]; request: string };
  status?: { conditions?: { type: string; status?: string }[]; certificate?: string };
}

export type Verdict = { action: 'approve'; node: string; reason: string } | { action: 'deny'; reason: string } | { action: 'skip'; reason: string };

const ALLOWED_USAGES = new Set(['digital signature', 'key encipherment', 'server auth']);

/** Decided already (Approved, Denied, Failed) or for another signer: left alone. */
export function untouched(csr: CsrObject): string | null {
  if (csr.spec.signerName !== SERVING_SIGNER) return `signer ${csr.spec.signerName}: not kube-pki's to judge`;
  const decided = (csr.status?.conditions ?? []).find((c) => ['Approved', 'Denied', 'Failed'].includes(c.type));
  return decided ? `already ${decided.type.toLowerCase()}` : null;
}

/** The verdict on a pending kubelet-serving CSR whose request parsed to `content`. */
export function judgeServingCsr(cluster: Cluster, csr: CsrObject, content: CsrContent): Verdict {
  const user = csr.spec.username ?? '';
  const name = /^system:node:(.+)$/.exec(user)?.[1];
  if (!name || !(csr.spec.groups ?? []).includes('system:nodes'))
    return { action: 'deny', reason: `requested by ${JSON.stringify(user)}, not a node (system:node:<name> in group system:nodes)` };
  const node = cluster.nodes.find((n) => n.name === name);
  if (!node || node.role !== 'worker') return { action: 'deny', reason: `${name} is not a worker of ${cluster.source}` };
  if (content.cn.join() !== user || content.o.join() !== 'system:nodes')
    return { action: 'deny', reason: `subject CN=${content.cn.join('+')}, O=${content.o.join('+')}: must be CN=${user}, O=system:nodes` };
  if (content.otherSans.length) return { action: 'deny', reason: `asks for ${content.otherSans.join(', ')} names: a kubelet serves under its name and address only` };
  if (!content.dns.length && !content.ip.length) return { action: 'deny', reason: 'names no DNS name or IP address' };
  const foreignDns = content.dns.filter((d) => d.toLowerCase() !== name);
  const address = canonicalIp(node.address);
  const foreignIp = content.ip.filter((ip) => canonicalIp(ip) !== address);
  if (foreignDns.length || foreignIp.length)
    return { action: 'deny', reason: `names ${[...foreignDns, ...foreignIp].join(', ')}, not ${name}'s name or address in ${cluster.source} (${name}, ${node.address})` };
  const usages = csr.spec.usages ?? [];
  const odd = usages.filter((u) => !ALLOWED_USAGES.has(u));
  if (odd.length || !usages.includes('server auth') || !usages.includes('digital signature'))
    return { action: 'deny', reason: `usages ${usages.join(', ') || '(none)'}: a serving certificate takes digital signature, server auth and (RSA) key encipherment only` };
  return { action: 'approve', node: name, reason: `${name} of ${cluster.source}, names ${[...content.dns, ...content.ip].join(', ')}` };
}
