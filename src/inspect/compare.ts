import type { X509Certificate, KeyObject } from 'node:crypto';
import type { CertInstance } from '../plan/instances.js';
import { issuedBy, type CertFacts } from './x509.js';

/** What a certificate on disk gets wrong compared with its catalog entry; empty when it is right. */
export function certProblems(
  cert: CertInstance,
  facts: CertFacts,
  context: { key: KeyObject | null; caCert: X509Certificate | null; now: Date },
): string[] {
  const problems: string[] = [];
  if (facts.cn !== cert.subject.cn) problems.push(`CN is ${JSON.stringify(facts.cn)}, expected ${JSON.stringify(cert.subject.cn)}`);
  const o = [...facts.o].sort().join(', ');
  const wantO = [...cert.subject.o].sort().join(', ');
  if (o !== wantO) problems.push(`O is ${JSON.stringify(o)}, expected ${JSON.stringify(wantO)}`);

  const missing = [...cert.sans.dns.filter((d) => !facts.sans.dns.includes(d)), ...cert.sans.ip.filter((i) => !facts.sans.ip.includes(i))];
  const extra = [...facts.sans.dns.filter((d) => !cert.sans.dns.includes(d)), ...facts.sans.ip.filter((i) => !cert.sans.ip.includes(i))];
  if (missing.length) problems.push(`SANs missing: ${missing.join(', ')}`);
  if (extra.length) problems.push(`SANs not in the description: ${extra.join(', ')}`);

  if (facts.ca !== cert.usages.ca) problems.push(cert.usages.ca ? 'not a CA certificate (basicConstraints CA:TRUE missing)' : 'is a CA certificate');
  const ekuMissing = cert.usages.extendedKeyUsage.filter((u) => !facts.eku.includes(u));
  if (ekuMissing.length) problems.push(`extendedKeyUsage lacks ${ekuMissing.join(', ')}`);

  if (facts.notAfter <= context.now) problems.push(`expired on ${facts.notAfter.toISOString()}`);
  else if (facts.notBefore > context.now) problems.push(`not valid before ${facts.notBefore.toISOString()}`);

  if (context.key && !facts.cert.checkPrivateKey(context.key)) problems.push(`does not match its key ${cert.keyPath}`);
  if (cert.caName) {
    if (!context.caCert) problems.push('its CA certificate is missing');
    else if (!issuedBy(facts.cert, context.caCert)) problems.push(`not signed by the current CA (${cert.caName})`);
  } else if (!issuedBy(facts.cert, facts.cert)) problems.push('not self-signed');
  return problems;
}
