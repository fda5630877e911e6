import { execa } from 'execa';
import { EXIT, UserError } from '../errors.js';
import type { Cluster } from '../model/cluster.js';
import { parseCsrPem } from './csr-der.js';
import { judgeServingCsr, untouched, type CsrObject } from './judge.js';

// `kube-pki approve-csrs [--watch]`: judges pending kubelet-serving CSRs against the description and
// records the verdict through kubectl (the admin kubeconfig), with the reason in the CSR's condition.

export interface Decision {
  csr: string;
  action: 'approved' | 'denied';
  requester: string;
  reason: string;
}

const CSR_API = '/apis/certificates.k8s.io/v1/certificatesigningrequests';

async function kubectl(kubeconfig: string, args: string[], input?: string): Promise<string> {
  const r = await execa('kubectl', ['--kubeconfig', kubeconfig, ...args], { reject: false, ...(input !== undefined ? { input } : { stdin: 'ignore' }), timeout: 60_000 });
  if (r.exitCode !== 0) throw new UserError(`kubectl ${args.slice(0, 3).join(' ')}: ${String(r.stderr).trim() || `exit ${r.exitCode}`}`, EXIT.failed);
  return String(r.stdout);
}

/** Writes the condition through the approval subresource (what `kubectl certificate approve|deny` does, with our reason). */
async function decide(kubeconfig: string, csr: CsrObject, approve: boolean, message: string): Promise<void> {
  const condition = {
    type: approve ? 'Approved' : 'Denied',
    status: 'True',
    reason: approve ? 'KubePkiApproved' : 'KubePkiDenied',
    message,
    lastUpdateTime: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
  };
  const updated = { ...csr, status: { ...csr.status, conditions: [...(csr.status?.conditions ?? []), condition] } };
  await kubectl(kubeconfig, ['replace', '--raw', `${CSR_API}/${csr.metadata.name}/approval`, '-f', '-'], JSON.stringify(updated));
}

/** One pass over the cluster's CSRs: every pending kubelet-serving request approved or denied; the rest untouched. */
export async function approvePass(cluster: Cluster, kubeconfig: string): Promise<Decision[]> {
  const list = JSON.parse(await kubectl(kubeconfig, ['get', 'csr', '-o', 'json'])) as { items: CsrObject[] };
  const decisions: Decision[] = [];
  for (const csr of list.items) {
    if (untouched(csr)) continue;
    let verdict;
    try {
      verdict = judgeServingCsr(cluster, csr, parseCsrPem(Buffer.from(csr.spec.request, 'base64').toString('latin1')));
    } catch (err) {
      verdict = { action: 'deny' as const, reason: `the request cannot be read: ${(err as Error).message}` };
    }
    if (verdict.action === 'skip') continue;
    const approve = verdict.action === 'approve';
    await decide(kubeconfig, csr, approve, `kube-pki approve-csrs: ${verdict.reason}`);
    decisions.push({ csr: csr.metadata.name, action: approve ? 'approved' : 'denied', requester: csr.spec.username ?? '', reason: verdict.reason });
  }
  return decisions;
}

export const formatDecision = (d: Decision) => `${d.action} ${d.csr} (${d.requester}): ${d.reason}`;
