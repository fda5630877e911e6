import { isIPv4, isIPv6 } from 'node:net';

/**
 * 4, 6 or 0, as net.isIP. Only a string with a colon can be IPv6: testing for one first spares
 * compiling Node's large IPv6 pattern when every address is IPv4 (a few ms on each start).
 */
export function ipVersion(value: string): 0 | 4 | 6 {
  if (value.includes(':')) return isIPv6(value) ? 6 : 0;
  return isIPv4(value) ? 4 : 0;
}

/** Parses an IPv4 or IPv6 address into its bytes; null if it is not one. */
export function ipToBytes(ip: string): Uint8Array | null {
  const version = ipVersion(ip);
  if (version === 4) return Uint8Array.from(ip.split('.').map(Number));
  if (version !== 6) return null;
  // Rewrite a dotted IPv4 tail (::ffff:1.2.3.4) as two hex words, then parse plain hex words.
  const text = ip.replace(/(\d+)\.(\d+)\.(\d+)\.(\d+)$/, (_m, a, b, c, d) =>
    `${((+a << 8) | +b).toString(16)}:${((+c << 8) | +d).toString(16)}`,
  );
  const [head = '', tail] = text.split('::');
  const parse = (s: string) => (s === '' ? [] : s.split(':').map((h) => parseInt(h, 16)));
  const headWords = parse(head);
  const tailWords = tail === undefined ? [] : parse(tail);
  const zeros = tail === undefined ? [] : new Array<number>(8 - headWords.length - tailWords.length).fill(0);
  const words = [...headWords, ...zeros, ...tailWords];
  if (words.length !== 8) return null;
  const bytes = new Uint8Array(16);
  words.forEach((w, i) => {
    bytes[i * 2] = (w >> 8) & 0xff;
    bytes[i * 2 + 1] = w & 0xff;
  });
  return bytes;
}

export function bytesToIp(bytes: Uint8Array): string {
  if (bytes.length === 4) return Array.from(bytes).join('.');
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push(((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0));
  // Compress the longest run of zero words (RFC 5952).
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = words.map((w) => w.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

/** Canonical text of an address (lower-case, compressed IPv6), so that SANs compare by value. */
export function canonicalIp(ip: string): string | null {
  const bytes = ipToBytes(ip);
  return bytes ? bytesToIp(bytes) : null;
}

export interface Cidr {
  network: Uint8Array;
  prefix: number;
}

/** Parses "10.96.0.0/24" or "fd00:10:96::/112"; returns a reason string when it is not a valid CIDR. */
export function parseCidr(text: string): Cidr | string {
  const m = /^([^/\s]+)\/(\d{1,3})$/.exec(text);
  if (!m?.[1] || !m[2]) return 'is not a CIDR (address/prefix, e.g. 10.96.0.0/24)';
  const network = ipToBytes(m[1]);
  if (!network) return 'does not start with an IPv4 or IPv6 address';
  const prefix = Number(m[2]);
  const bits = network.length * 8;
  if (prefix > bits) return `has prefix /${prefix}, more than ${bits} bits`;
  if (bits - prefix < 2) return `has prefix /${prefix}: too small to hold a service address`;
  for (let bit = prefix; bit < bits; bit++) {
    if ((network[bit >> 3]! >> (7 - (bit & 7))) & 1) return `has host bits set after /${prefix}`;
  }
  return { network, prefix };
}

/** The first usable address of a CIDR: the apiserver's service IP (10.96.0.0/24 -> 10.96.0.1). */
export function firstAddress(cidr: Cidr): string {
  const bytes = Uint8Array.from(cidr.network);
  for (let i = bytes.length - 1; i >= 0; i--) {
    bytes[i] = (bytes[i]! + 1) & 0xff;
    if (bytes[i] !== 0) break;
  }
  return bytesToIp(bytes);
}
