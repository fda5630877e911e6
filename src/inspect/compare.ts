import type { X509Certificate, KeyObject } from 'node:crypto';
import type { CertInstance, SanSet } from '../plan/instances.js';
import { issuedBy, type CertFacts } from './x509.js';

/** CN and O differences from the catalog entry. */
export function subjectProblems(cert: Pick<CertInstance, 'subject'>, facts: Pick<CertFacts, 'cn' | 'o'>): string[] {
  const problems: string[] = [];
  if (facts.cn !== cert.subject.cn) problems.push(`CN is ${JSON.stringify(facts.cn)}, expected ${JSON.stringify(cert.subject.cn)}`);
  const o = [...facts.o].sort().join(', ');
  const wantO = [...cert.subject.o].sort().join(', ');
  if (o !== wantO) problems.push(`O is ${JSON.stringify(o)}, expected ${JSON.stringify(wantO)}`);
  return problems;
}

/**
 * A catalog CA that kube-pki did not make (a corporate intermediate or root placed in the output folder
 * with its key, kubeadm.md "External CA"): another subject, or issued by another CA. gen signs with it as
 * it is, and check does not hold its name or issuer against the catalog.
 */
export function isExternalCa(cert: CertInstance, facts: CertFacts): boolean {
  return !cert.caName && (facts.cert.subject !== facts.issuer || subjectProblems(cert, facts).length > 0);
}

/** SANs the description needs that a certificate lacks, and SANs it has that the description does not list. */
export function sanDiff(want: SanSet, have: SanSet): { missing: string[]; unexpected: string[] } {
  const lacking = (a: SanSet, b: SanSet) => [...a.dns.filter((d) => !b.dns.includes(d)), ...a.ip.filter((i) => !b.ip.includes(i))];
  return { missing: lacking(want, have), unexpected: lacking(have, want) };
}

/** What a certificate on disk gets wrong compared with its catalog entry; empty when it is right. */
export function certProblems(
  cert: CertInstance,
  facts: CertFacts,
  context: { key: KeyObject | null; caCert: X509Certificate | null; now: Date },
): string[] {
  // A CA may be external (a corporate intermediate, kubeadm.md): its name and issuer are its own.
  const problems: string[] = cert.caName ? subjectProblems(cert, facts) : [];
  const { missing, unexpected } = sanDiff(cert.sans, facts.sans);
  if (missing.length) problems.push(`SANs missing: ${missing.join(', ')}`);
  if (unexpected.length) problems.push(`SANs not in the description: ${unexpected.join(', ')}`);

  if (facts.ca !== cert.usages.ca) problems.push(cert.usages.ca ? 'not a CA certificate (basicConstraints CA:TRUE missing)' : 'is a CA certificate');
  const ekuMissing = cert.usages.extendedKeyUsage.filter((u) => !facts.eku.includes(u));
  if (ekuMissing.length) problems.push(`extendedKeyUsage lacks ${ekuMissing.join(', ')}`);

  if (facts.notAfter <= context.now) problems.push(`expired on ${facts.notAfter.toISOString()}`);
  else if (facts.notBefore > context.now) problems.push(`not valid before ${facts.notBefore.toISOString()}`);

  if (context.key && !facts.cert.checkPrivateKey(context.key)) problems.push(`does not match its key ${cert.keyPath}`);
  if (cert.caName) {
    if (!context.caCert) problems.push('its CA certificate is missing');
    else if (!issuedBy(facts.cert, context.caCert)) problems.push(`not signed by the current CA (${cert.caName})`);
  }
  return problems;
}
