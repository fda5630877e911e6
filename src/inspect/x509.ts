import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { canonicalIp } from '../util/ip.js';
import type { SanSet } from '../model/instances.js';

/** The facts of a certificate that kube-pki compares with its catalog. */
export interface CertFacts {
  cert: X509Certificate;
  cn: string;
  o: string[];
  issuer: string;
  sans: SanSet;
  ca: boolean;
  notBefore: Date;
  notAfter: Date;
  serial: string;
  fingerprint256: string;
}

function attributes(dn: string, key: string): string[] {
  return dn
    .split('\n')
    .map((line) => line.split('='))
    .filter(([k]) => k === key)
    .map(([, ...v]) => v.join('='));
}

export function parseSans(text: string | undefined): SanSet {
  const sans: SanSet = { dns: [], ip: [] };
  for (const part of (text ?? '').split(', ')) {
    if (part.startsWith('DNS:')) sans.dns.push(part.slice(4));
    else if (part.startsWith('IP Address:')) sans.ip.push(canonicalIp(part.slice(11)) ?? part.slice(11));
  }
  return sans;
}

export function certFacts(pem: Buffer | string): CertFacts {
  const cert = new X509Certificate(pem);
  return {
    cert,
    cn: attributes(cert.subject, 'CN')[0] ?? '',
    o: attributes(cert.subject, 'O'),
    issuer: cert.issuer,
    sans: parseSans(cert.subjectAltName),
    ca: cert.ca,
    notBefore: new Date(cert.validFrom),
    notAfter: new Date(cert.validTo),
    serial: cert.serialNumber,
    fingerprint256: cert.fingerprint256,
  };
}

/** Parses a private key; null if the file is not a private key. */
export function privateKey(pem: Buffer | string): KeyObject | null {
  try {
    return createPrivateKey(pem);
  } catch {
    return null;
  }
}

/** An encrypted private key (PKCS#8 or legacy PEM): readable only with its passphrase. */
export function isEncryptedKey(pem: Buffer | string): boolean {
  const text = pem.toString();
  return text.includes('-----BEGIN ENCRYPTED PRIVATE KEY-----') || /Proc-Type: 4,ENCRYPTED/.test(text);
}

/** True if `issuer` issued `subject`: names match and the signature verifies with the issuer's key. */
export function issuedBy(subject: X509Certificate, issuer: X509Certificate): boolean {
  return subject.checkIssued(issuer) && subject.verify(issuer.publicKey);
}
