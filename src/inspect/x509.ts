import { X509Certificate, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { canonicalIp } from '../util/ip.js';
import type { SanSet } from '../model/instances.js';

/** The facts of a certificate that kube-pki compares with its catalog. */
export interface CertFacts {
  cert: X509Certificate;
  cn: string;
  o: string[];
  issuer: string;
  sans: SanSet;
  notBefore: Date;
  notAfter: Date;
  serial: string;
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
    notBefore: new Date(cert.validFrom),
    notAfter: new Date(cert.validTo),
    serial: cert.serialNumber,
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

/** The DER SubjectPublicKeyInfo of a key: of a private key, its public half; of a certificate's key, itself. */
export function publicKeyDer(key: KeyObject | Buffer): Buffer {
  const pub = !Buffer.isBuffer(key) && key.type === 'public' ? key : createPublicKey(key);
  return pub.export({ type: 'spki', format: 'der' });
}

/** True if `pubPem` is the public half of `key`; false also when `pubPem` is not a public key at all. */
export function samePublicKey(key: KeyObject, pubPem: Buffer): boolean {
  try {
    return publicKeyDer(key).equals(publicKeyDer(pubPem));
  } catch {
    return false;
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
