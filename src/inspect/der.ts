import type { X509Certificate } from 'node:crypto';
import { EKU_NAMES } from '../model/usages.js';

/**
 * The X.509 extensions node:crypto does not expose (keyUsage bits, criticality, basicConstraints
 * as written), read from the certificate's DER with a minimal parser: no openssl process per file.
 */
export interface CertExtensions {
  /** 1 for a v1 certificate (no extensions at all), 3 for v3. */
  version: number;
  basicConstraints?: { critical: boolean; ca: boolean; pathLen?: number };
  keyUsage?: { critical: boolean; usages: string[] };
  /** Names (serverAuth, clientAuth, …) where known, else dotted OIDs. */
  extendedKeyUsage?: { critical: boolean; usages: string[] };
  subjectKeyIdentifier: boolean;
  /** The subject key identifier itself, as openssl.cnf takes it (AB:58:…), when there is one. */
  subjectKeyId?: string;
  authorityKeyIdentifier: boolean;
}

/** RFC 5280 4.2.1.3, bit 0 first. */
export const KEY_USAGE_BITS = [
  'digitalSignature',
  'nonRepudiation',
  'keyEncipherment',
  'dataEncipherment',
  'keyAgreement',
  'keyCertSign',
  'cRLSign',
  'encipherOnly',
  'decipherOnly',
] as const;

const OID = {
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  basicConstraints: '2.5.29.19',
  authorityKeyIdentifier: '2.5.29.35',
  extendedKeyUsage: '2.5.29.37',
} as const;

const TAG = { boolean: 0x01, integer: 0x02, bitString: 0x03, octetString: 0x04, oid: 0x06, sequence: 0x30, version: 0xa0, extensions: 0xa3 } as const;

export interface Tlv {
  tag: number;
  /** Content bytes (a view, not a copy). */
  body: Buffer;
}

class DerError extends Error {}

export function readTlv(buf: Buffer, offset: number): { tlv: Tlv; next: number } {
  if (offset + 2 > buf.length) throw new DerError('truncated');
  const tag = buf[offset]!;
  let length = buf[offset + 1]!;
  let start = offset + 2;
  if (length & 0x80) {
    const octets = length & 0x7f;
    if (octets === 0 || octets > 4 || start + octets > buf.length) throw new DerError('bad length');
    length = 0;
    for (let i = 0; i < octets; i++) length = length * 256 + buf[start + i]!;
    start += octets;
  }
  if (start + length > buf.length) throw new DerError('truncated');
  return { tlv: { tag, body: buf.subarray(start, start + length) }, next: start + length };
}

export function children(body: Buffer): Tlv[] {
  const out: Tlv[] = [];
  for (let offset = 0; offset < body.length; ) {
    const { tlv, next } = readTlv(body, offset);
    out.push(tlv);
    offset = next;
  }
  return out;
}

function expect(tlv: Tlv | undefined, tag: number, what: string): Tlv {
  if (!tlv || tlv.tag !== tag) throw new DerError(`${what}: expected tag 0x${tag.toString(16)}`);
  return tlv;
}

export function oidText(body: Buffer): string {
  const parts: number[] = [];
  let value = 0;
  for (const byte of body) {
    value = value * 128 + (byte & 0x7f);
    if (!(byte & 0x80)) {
      parts.push(value);
      value = 0;
    }
  }
  const first = parts.shift() ?? 0;
  const head = first < 80 ? [Math.floor(first / 40), first % 40] : [2, first - 80];
  return [...head, ...parts].join('.');
}

function intValue(body: Buffer): number {
  let n = 0;
  for (const byte of body) n = n * 256 + byte;
  return n;
}

function keyUsageBits(body: Buffer): string[] {
  const unused = body[0] ?? 0;
  const bits = (body.length - 1) * 8 - unused;
  return KEY_USAGE_BITS.filter((_, i) => i < bits && ((body[1 + (i >> 3)] ?? 0) >> (7 - (i & 7))) & 1);
}

/** Parses the extensions of a DER certificate; throws when the DER is not a certificate. */
export function parseExtensions(der: Buffer): CertExtensions {
  const cert = expect(readTlv(der, 0).tlv, TAG.sequence, 'Certificate');
  const tbs = children(expect(children(cert.body)[0], TAG.sequence, 'tbsCertificate').body);
  const result: CertExtensions = { version: 1, subjectKeyIdentifier: false, authorityKeyIdentifier: false };
  const version = tbs[0]?.tag === TAG.version ? children(tbs[0].body)[0] : undefined;
  if (version) result.version = intValue(expect(version, TAG.integer, 'version').body) + 1;
  const extensions = tbs.find((t) => t.tag === TAG.extensions);
  if (!extensions) return result;
  for (const ext of children(expect(children(extensions.body)[0], TAG.sequence, 'extensions').body)) {
    const [id, ...rest] = children(expect(ext, TAG.sequence, 'extension').body);
    const oid = oidText(expect(id, TAG.oid, 'extension id').body);
    const critical = rest[0]?.tag === TAG.boolean ? rest[0].body[0] !== 0 : false;
    const value = expect(rest[rest.length - 1], TAG.octetString, `extension ${oid}`).body;
    switch (oid) {
      case OID.keyUsage:
        result.keyUsage = { critical, usages: keyUsageBits(expect(readTlv(value, 0).tlv, TAG.bitString, 'keyUsage').body) };
        break;
      case OID.basicConstraints: {
        const fields = children(expect(readTlv(value, 0).tlv, TAG.sequence, 'basicConstraints').body);
        const ca = fields[0]?.tag === TAG.boolean ? fields[0].body[0] !== 0 : false;
        const pathLen = fields.find((f) => f.tag === TAG.integer);
        result.basicConstraints = { critical, ca, ...(pathLen ? { pathLen: intValue(pathLen.body) } : {}) };
        break;
      }
      case OID.extendedKeyUsage: {
        const oids = children(expect(readTlv(value, 0).tlv, TAG.sequence, 'extendedKeyUsage').body);
        result.extendedKeyUsage = { critical, usages: oids.map((o) => EKU_NAMES[oidText(o.body)] ?? oidText(o.body)) };
        break;
      }
      case OID.subjectKeyIdentifier: {
        result.subjectKeyIdentifier = true;
        const id = expect(readTlv(value, 0).tlv, TAG.octetString, 'subjectKeyIdentifier').body;
        result.subjectKeyId = [...id].map((b) => b.toString(16).padStart(2, '0').toUpperCase()).join(':');
        break;
      }
      case OID.authorityKeyIdentifier:
        result.authorityKeyIdentifier = true;
        break;
    }
  }
  return result;
}

export function certExtensions(cert: X509Certificate): CertExtensions {
  return parseExtensions(cert.raw);
}

/**
 * The subject name of a DER certificate exactly as encoded (its whole TLV: order, string types), to
 * compare two certificates' subjects byte for byte (renew-ca keeps the CA's).
 */
export function subjectDer(der: Buffer): Buffer {
  const cert = expect(readTlv(der, 0).tlv, TAG.sequence, 'Certificate');
  const tbsBody = expect(children(cert.body)[0], TAG.sequence, 'tbsCertificate').body;
  // version?, serialNumber, signature, issuer, validity, subject
  let offset = 0;
  let index = 0;
  for (;;) {
    const { tlv, next } = readTlv(tbsBody, offset);
    if (index === 0 && tlv.tag !== TAG.version) index++;
    if (index === 5) return tbsBody.subarray(offset, next);
    offset = next;
    index++;
  }
}
