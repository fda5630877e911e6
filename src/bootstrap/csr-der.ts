import { canonicalIp } from '../util/ip.js';
import { children, oidText, readTlv, type Tlv } from '../inspect/der.js';

// What a PKCS#10 request asks for, read from its DER: subject and subjectAltName. Read structurally,
// not from `openssl req -text`, whose SAN line joins values with ", ": a DNS name holding ", IP
// Address:…" would read as two names there.

export interface CsrContent {
  cn: string[];
  o: string[];
  dns: string[];
  ip: string[];
  /** Any other SAN kind (email, URI, other names): never in a kubelet's serving certificate. */
  otherSans: string[];
}

const OID = { cn: '2.5.4.3', o: '2.5.4.10', extensionRequest: '1.2.840.113549.1.9.14', subjectAltName: '2.5.29.17' } as const;
const SAN_KIND: Record<number, string> = { 0x80: 'otherName', 0x81: 'email', 0x83: 'x400Address', 0xa4: 'directoryName', 0xa5: 'ediPartyName', 0x86: 'URI', 0x88: 'registeredID', 0xa0: 'otherName' };

function ipText(body: Buffer): string {
  if (body.length === 4) return [...body].join('.');
  if (body.length === 16) {
    const full = Array.from({ length: 8 }, (_, i) => body.readUInt16BE(i * 2).toString(16)).join(':');
    return canonicalIp(full) ?? full;
  }
  return `(${body.length} bytes)`;
}

function sans(ext: Buffer, into: CsrContent): void {
  for (const name of children(readTlv(ext, 0).tlv.body)) {
    if (name.tag === 0x82) into.dns.push(name.body.toString('latin1'));
    else if (name.tag === 0x87) into.ip.push(ipText(name.body));
    else into.otherSans.push(SAN_KIND[name.tag] ?? `tag 0x${name.tag.toString(16)}`);
  }
}

/** Parses a PEM certificate request; throws on anything that is not one. */
export function parseCsrPem(pem: string): CsrContent {
  const m = /-----BEGIN CERTIFICATE REQUEST-----([A-Za-z0-9+/=\s]+)-----END CERTIFICATE REQUEST-----/.exec(pem);
  if (!m) throw new Error('not a PEM certificate request');
  const der = Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64');
  const [info] = children(readTlv(der, 0).tlv.body);
  if (!info || info.tag !== 0x30) throw new Error('not a certificate request');
  const [, subject, , attributes] = children(info.body) as [Tlv, Tlv, Tlv, Tlv | undefined];
  const out: CsrContent = { cn: [], o: [], dns: [], ip: [], otherSans: [] };
  for (const rdn of children(subject.body))
    for (const atv of children(rdn.body)) {
      const [oid, value] = children(atv.body) as [Tlv, Tlv];
      const id = oidText(oid.body);
      if (id === OID.cn) out.cn.push(value.body.toString('utf8'));
      if (id === OID.o) out.o.push(value.body.toString('utf8'));
    }
  if (attributes?.tag === 0xa0)
    for (const attr of children(attributes.body)) {
      const [oid, values] = children(attr.body) as [Tlv, Tlv];
      if (oidText(oid.body) !== OID.extensionRequest) continue;
      for (const exts of children(values.body))
        for (const ext of children(exts.body)) {
          const parts = children(ext.body);
          if (oidText(parts[0]!.body) === OID.subjectAltName) sans(parts[parts.length - 1]!.body, out);
        }
    }
  return out;
}
