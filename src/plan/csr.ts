import { EXIT, UserError } from '../errors.js';
import type { DiskState } from '../inspect/disk.js';
import type { Instances } from '../model/instances.js';
import { absent, idleItem, keyless, lostCaKeys, requestSteps } from './plan.js';
import { MODE } from '../model/files.js';
import type { Plan, PlanItem } from '../model/steps.js';

/** A signing request kube-pki wrote for someone else to sign (`kube-pki csr`). */
export interface CsrRequest {
  name: string;
  csrPath: string;
  /** Where the signed certificate goes: `gen` picks it up from there. */
  certPath: string;
  keyPath: string;
  /** The external CA's certificate file. */
  caCertPath: string;
}

/**
 * `kube-pki csr`, as `kubeadm certs generate-csr`: for every leaf of a CA whose key is not in the
 * output folder, a key (an existing one is kept) and a signing request next to it that asks for the
 * certificate's subject, SANs and usages. Leaves already signed and right are left alone.
 */
export function planCsrs(profile: string, instances: Instances, disk: DiskState): { plan: Plan; requests: CsrRequest[] } {
  // A CA key this folder held and that is gone is lost, as gen says: never signed for from elsewhere.
  const lost = lostCaKeys(instances.certs.filter((c) => !c.caName), disk);
  if (lost) throw lost;
  const external = instances.certs.filter((c) => !c.caName && keyless(disk.certs.get(c.name)));
  if (external.length === 0) {
    const cas = instances.certs.filter((c) => !c.caName).map((c) => c.certPath);
    throw new UserError(
      `no CA certificate without its key in the output folder, so there is nothing for someone else to sign: put the external CA's certificate ` +
        `(only the certificate) at ${cas.join(' or ')} first. With a CA key present, gen signs everything itself.`,
      EXIT.badInput,
    );
  }
  const caPaths = new Map(external.map((c) => [c.name, c.certPath]));
  const items: PlanItem[] = [];
  const requests: CsrRequest[] = [];
  for (const cert of instances.certs.filter((c) => c.caName && caPaths.has(c.caName))) {
    const state = disk.certs.get(cert.name) ?? absent();
    if (state.keyUnreadable) {
      items.push(idleItem(cert.name, 'cert', 'stale', [`${cert.keyPath} is not a readable private key (never overwritten: move it away to get a new one)`]));
      continue;
    }
    if (state.keyExists && state.certExists && state.problems.length === 0) {
      items.push(idleItem(cert.name, 'cert', 'keep', ['already signed']));
      continue;
    }
    const newKey = !state.keyExists;
    const request = requestSteps(cert, newKey);
    const reasons = newKey ? ['new key and signing request'] : state.certExists ? [...state.problems, 'new signing request for the kept key'] : ['signing request for the kept key'];
    items.push({
      name: cert.name,
      group: 'cert',
      action: newKey ? 'create' : 'reissue',
      reasons,
      needs: [],
      keySteps: request.keySteps,
      steps: [
        ...request.steps,
        ...(newKey ? [{ op: 'install', file: cert.keyPath, mode: MODE.secret } as const] : []),
        { op: 'install', file: request.csr.out, mode: MODE.public },
      ],
      outputs: [...(newKey ? [cert.keyPath] : []), request.csr.out],
    });
    requests.push({ name: cert.name, csrPath: request.csr.out, certPath: cert.certPath, keyPath: cert.keyPath, caCertPath: caPaths.get(cert.caName!)! });
  }
  return { plan: { profile, items }, requests };
}
