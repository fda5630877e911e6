import type { X509Certificate, KeyObject } from 'node:crypto';
import type { KeySpec } from '../model/cluster.js';
import { usageRules } from './usage-rules.js';
import type { CertInstance, SanSet } from '../model/instances.js';
import { DAY_MS } from '../model/time.js';
import { certExtensions } from './der.js';
import { issuedBy, type CertFacts } from './x509.js';
import { INTERMEDIATE_PATHLEN } from '../catalog/root.js';
import { plural } from '../util/words.js';

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
  if (cert.caName) return false;
  // Under rootCA the CA is an intermediate of kube-pki's root: issued by another, yet its own.
  if (cert.root) return subjectProblems(cert, facts).length > 0;
  return facts.cert.subject !== facts.issuer || subjectProblems(cert, facts).length > 0;
}

/**
 * What keeps a CA from being a proper intermediate of the root (description `rootCA`): issued by the
 * root, pathlen:0, within the root's validity. `notUnderRoot`: it is not the root's at all (a
 * self-signed CA from before `rootCA`, or one of another root): only a CA replacement fixes that.
 */
export function intermediateProblems(facts: CertFacts, root: X509Certificate | null, rootPath: string): { problems: string[]; notUnderRoot: boolean } {
  if (!root) return { problems: [`not issued by the root CA: ${rootPath} is missing`], notUnderRoot: true };
  if (!issuedBy(facts.cert, root)) {
    const what = facts.cert.subject === facts.issuer ? 'self-signed' : `issued by ${facts.issuer.replace(/\n/g, ', ')}`;
    return { problems: [`${what}, not issued by the root CA ${rootPath}`], notUnderRoot: true };
  }
  const problems: string[] = [];
  let pathLen: number | undefined;
  try {
    pathLen = certExtensions(facts.cert).basicConstraints?.pathLen;
  } catch {
    /* unreadable extensions are reported by the usage rules */
  }
  if (pathLen !== INTERMEDIATE_PATHLEN) problems.push(`basicConstraints has ${pathLen === undefined ? 'no pathlen' : `pathlen:${pathLen}`}, an intermediate of the root needs pathlen:${INTERMEDIATE_PATHLEN}`);
  const rootEnd = new Date(root.validTo);
  if (facts.notAfter > rootEnd) problems.push(`valid until ${facts.notAfter.toISOString()}, after its root CA ${rootPath} (${rootEnd.toISOString()})`);
  return { problems, notUnderRoot: false };
}

/** SANs the description needs that a certificate lacks, and SANs it has that the description does not list. */
export function sanDiff(want: SanSet, have: SanSet): { missing: string[]; unexpected: string[] } {
  // DNS names compare case-insensitively (RFC 4343); IPs are canonical already.
  const lower = (names: string[]) => new Set(names.map((d) => d.toLowerCase()));
  const lacking = (a: SanSet, b: SanSet) => {
    const bDns = lower(b.dns);
    return [...a.dns.filter((d) => !bDns.has(d.toLowerCase())), ...a.ip.filter((i) => !b.ip.includes(i))];
  };
  return { missing: lacking(want, have), unexpected: lacking(have, want) };
}

const CURVE_NAMES: Record<string, string> = { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' };

/** "RSA 2048", "ECDSA P-256": the key a certificate carries, as the description spells it. */
export function keyText(key: KeyObject): string {
  const details = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'rsa') return `RSA ${details.modulusLength ?? '?'}`;
  if (key.asymmetricKeyType === 'ec') return `ECDSA ${CURVE_NAMES[details.namedCurve ?? ''] ?? details.namedCurve ?? '?'}`;
  return (key.asymmetricKeyType ?? 'unknown').toUpperCase();
}

export const keySpecText = (key: KeySpec): string => (key.algorithm === 'rsa' ? `RSA ${key.size}` : `ECDSA ${key.curve}`);

const setText = (values: readonly string[]) => (values.length ? [...values].sort().join(', ') : 'none');
const sameSet = (a: readonly string[], b: readonly string[]) => setText(a) === setText(b);

/** Extensions as the catalog asks for them: the rules `check` applies, and exactly the listed usages. */
function usageProblems(cert: CertInstance, facts: CertFacts, externalCa: boolean): string[] {
  let ext;
  try {
    ext = certExtensions(facts.cert);
  } catch {
    return ['its extensions are not readable DER'];
  }
  // As the description asks (a key of another type is its own problem, below).
  const isRsa = externalCa ? facts.cert.publicKey.asymmetricKeyType === 'rsa' : cert.key.algorithm === 'rsa';
  const problems = usageRules(ext, cert.spec.kind, isRsa, externalCa)
    .filter((p) => p.severity === 'error')
    .map((p) => p.message);
  // A corporate CA is used as it is: only what signing needs (above).
  if (externalCa) return problems;
  const ku = ext.keyUsage?.usages ?? [];
  const extraKu = ku.filter((u) => !cert.usages.keyUsage.includes(u));
  const lackingKu = cert.usages.keyUsage.filter((u) => !ku.includes(u));
  if (ext.keyUsage && (extraKu.length || lackingKu.length) && !problems.some((p) => p.startsWith('keyUsage')))
    problems.push(`keyUsage is ${setText(ku)}, the description asks for ${setText(cert.usages.keyUsage)}`);
  const eku = ext.extendedKeyUsage?.usages ?? [];
  if (!sameSet(eku, cert.usages.extendedKeyUsage) && !problems.some((p) => /extendedKeyUsage/.test(p)))
    problems.push(`extendedKeyUsage is ${setText(eku)}, the description asks for ${setText(cert.usages.extendedKeyUsage)}`);
  return problems;
}

export interface CertContext {
  key: KeyObject | null;
  caCert: X509Certificate | null;
  now: Date;
  /** Its CA has no key here (kube-pki csr): the signer chose the validity period, not the description. */
  signedElsewhere?: boolean;
  /** A CA certificate without its key: nothing here can re-make it, its key type is its own. */
  keyless?: boolean;
}

/** What a certificate on disk gets wrong compared with its catalog entry; empty when it is right. */
export function certProblems(cert: CertInstance, facts: CertFacts, context: CertContext): string[] {
  // A CA may be external (a corporate intermediate, kubeadm.md): its name and issuer are its own.
  const problems: string[] = cert.caName ? subjectProblems(cert, facts) : [];
  const externalCa = isExternalCa(cert, facts);
  const { missing, unexpected } = sanDiff(cert.sans, facts.sans);
  if (missing.length) problems.push(`SANs missing: ${missing.join(', ')}`);
  if (unexpected.length) problems.push(`SANs not in the description: ${unexpected.join(', ')}`);

  problems.push(...usageProblems(cert, facts, externalCa));

  if (facts.notAfter <= context.now) problems.push(`expired on ${facts.notAfter.toISOString()}`);
  else if (facts.notBefore > context.now) problems.push(`not valid before ${facts.notBefore.toISOString()}`);
  if (!externalCa && !context.signedElsewhere) {
    const days = (facts.notAfter.getTime() - facts.notBefore.getTime()) / DAY_MS;
    // A leaf capped to the remaining life of its CA (gen does that, with a warning) is as planned.
    const caLeft = cert.caName && context.caCert ? (new Date(context.caCert.validTo).getTime() - facts.notBefore.getTime()) / DAY_MS : Infinity;
    if (Math.abs(days - cert.days) > 1 && !(caLeft < cert.days && Math.abs(days - caLeft) <= 1))
      problems.push(`valid for ${plural(Math.round(days), 'day')}, the description says ${cert.days} (${cert.daysField})`);
  }

  if (!externalCa && !context.keyless) {
    const have = keyText(facts.cert.publicKey);
    const want = keySpecText(cert.key);
    if (have !== want)
      problems.push(
        `key is ${have}, the description says ${want}` +
          (cert.caName ? ': gen --force keeps keys and refuses it; kube-pki renew --all --new-key gives new keys of that type' : ''),
      );
  }

  if (context.key && !facts.cert.checkPrivateKey(context.key)) problems.push(`does not match its key ${cert.keyPath}`);
  if (cert.caName) {
    if (!context.caCert) problems.push('its CA certificate is missing');
    else if (!issuedBy(facts.cert, context.caCert)) problems.push(`not signed by the current CA (${cert.caName})`);
  }
  return problems;
}
