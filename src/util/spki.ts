// A public key's kind read from its SubjectPublicKeyInfo (DER) with a minimal parser, without
// node:crypto's key details: those abort the process on an EC key whose point is not on its curve
// (what a PKCS#11 engine builds when a token's private key is matched to another key's public half).

/** One TLV: its tag, where its content starts and ends. */
interface Tlv {
  tag: number;
  start: number;
  end: number;
}

function tlv(der: Buffer, at: number): Tlv | null {
  if (at + 2 > der.length) return null;
  const tag = der[at]!;
  let len = der[at + 1]!;
  let start = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || start + n > der.length) return null;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + der[start + i]!;
    start += n;
  }
  return start + len <= der.length ? { tag, start, end: start + len } : null;
}

const OIDS = {
  rsa: '2a864886f70d010101',
  ec: '2a8648ce3d0201',
  'P-256': '2a8648ce3d030107',
  'P-384': '2b81040022',
} as const;

/** The bytes of an uncompressed point of each curve (0x04, X, Y). */
const POINT_BYTES = { 'P-256': 65, 'P-384': 97 } as const;

export type SpkiKind = { algorithm: 'rsa'; bits: number } | { algorithm: 'ec'; curve: string; pointFits: boolean } | { algorithm: 'other' };

/** What kind of key an SPKI holds; null when it cannot be read at all. */
export function spkiKind(der: Buffer): SpkiKind | null {
  const outer = tlv(der, 0);
  if (!outer || outer.tag !== 0x30) return null;
  const alg = tlv(der, outer.start);
  if (!alg || alg.tag !== 0x30) return null;
  const oid = tlv(der, alg.start);
  if (!oid || oid.tag !== 0x06) return null;
  const params = tlv(der, oid.end);
  const key = tlv(der, alg.end);
  if (!key || key.tag !== 0x03) return null;
  const algOid = der.subarray(oid.start, oid.end).toString('hex');
  const bits = der.subarray(key.start + 1, key.end); // after the unused-bits byte
  if (algOid === OIDS.rsa) {
    const seq = tlv(bits, 0);
    const n = seq && tlv(bits, seq.start);
    if (!n || n.tag !== 0x02) return null;
    let first = n.start;
    while (first < n.end && bits[first] === 0) first++;
    const lead = bits[first] ?? 0;
    return { algorithm: 'rsa', bits: (n.end - first - 1) * 8 + (lead ? Math.floor(Math.log2(lead)) + 1 : 0) };
  }
  if (algOid === OIDS.ec) {
    const curveOid = params && params.tag === 0x06 ? der.subarray(params.start, params.end).toString('hex') : '';
    const curve = curveOid === OIDS['P-256'] ? 'P-256' : curveOid === OIDS['P-384'] ? 'P-384' : curveOid || 'explicit parameters';
    const size = curve === 'P-256' || curve === 'P-384' ? POINT_BYTES[curve] : undefined;
    return { algorithm: 'ec', curve, pointFits: size !== undefined && bits.length === size && bits[0] === 0x04 };
  }
  return { algorithm: 'other' };
}
