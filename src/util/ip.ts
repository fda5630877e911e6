import ipaddr from 'ipaddr.js';

// Addresses are parsed by ipaddr.js. It also accepts the old inet_aton shapes ("192.168.5" is
// 192.168.0.5, "0xc0.168.5.1"): an IPv4 address here must be the usual four decimal parts.

/** 4, 6 or 0: an IPv4 address of four decimal parts, an IPv6 address (zone id included), or neither. */
export function ipVersion(value: string): 0 | 4 | 6 {
  if (value.includes(':')) return ipaddr.IPv6.isValid(value) ? 6 : 0;
  return ipaddr.IPv4.isValidFourPartDecimal(value) ? 4 : 0;
}

function parsed(value: string): ipaddr.IPv4 | ipaddr.IPv6 | null {
  const version = ipVersion(value);
  if (version === 4) return ipaddr.IPv4.parse(value);
  return version === 6 ? ipaddr.IPv6.parse(value) : null;
}

/** An IPv4-mapped IPv6 address (::ffff:192.168.5.11) is the IPv4 address it maps, as Go's net.IP.Equal says. */
function unmapped(address: ipaddr.IPv4 | ipaddr.IPv6): ipaddr.IPv4 | ipaddr.IPv6 {
  return address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress() ? (address as ipaddr.IPv6).toIPv4Address() : address;
}

/** Parses an IPv4 or IPv6 address into its bytes (a zone id is dropped); null if it is not one. */
export function ipToBytes(ip: string): Uint8Array | null {
  const address = parsed(ip);
  return address ? Uint8Array.from(address.toByteArray()) : null;
}

/** The text of 4 or 16 address bytes; IPv6 compressed as RFC 5952 says. */
export function bytesToIp(bytes: Uint8Array): string {
  return ipaddr.fromByteArray([...bytes]).toString();
}

/**
 * Canonical text of an address (lower-case, compressed IPv6; an IPv4-mapped one as IPv4), so that SANs
 * and node addresses compare by value.
 */
export function canonicalIp(ip: string): string | null {
  const address = parsed(ip);
  return address ? bytesToIp(Uint8Array.from(unmapped(address).toByteArray())) : null;
}

/** Digits and dots only ("192.168.5.300", "192.168.5", "10"): meant as an IPv4 address, never a host name. */
export const looksLikeIpv4 = (value: string): boolean => /^[0-9]+(\.[0-9]+)*\.?$/.test(value);

/**
 * Why an address cannot be written into a certificate or used to reach a node; null when it can.
 * A value that is no address at all is the caller's to judge (it may be a DNS name).
 */
export function addressProblem(value: string): string | null {
  if (looksLikeIpv4(value) && ipVersion(value) !== 4) {
    const parts = value.split('.').filter(Boolean);
    return parts.length !== 4
      ? `looks like an IPv4 address but has ${parts.length} part${parts.length === 1 ? '' : 's'}, not four (e.g. 192.168.5.10)`
      : 'looks like an IPv4 address but is not one (four numbers of 0 to 255, no leading zeros)';
  }
  const address = parsed(value);
  if (!address) return null;
  if (address.kind() === 'ipv6' && (address as ipaddr.IPv6).zoneId !== undefined) {
    const plain = value.slice(0, value.indexOf('%'));
    return `has a zone id (${value.slice(value.indexOf('%'))}), which a certificate cannot carry: write ${plain} without it`;
  }
  const range = unmapped(address).range();
  if (range === 'unspecified') return `is the unspecified address (${value}), which means "any address", not one that can be reached: give the real address`;
  if (range === 'broadcast') return `is the broadcast address (${value}), which reaches every host of a network, not one node: give the node's own address`;
  if (range === 'multicast') return `is a multicast address (${value}), which names a group of receivers, not one node: give the node's own address`;
  return null;
}

export interface Cidr {
  network: Uint8Array;
  prefix: number;
}

/** Parses "10.96.0.0/24" or "fd00:10:96::/112"; returns a reason string when it is not a valid CIDR. */
export function parseCidr(text: string): Cidr | string {
  const m = /^([^/\s%]+)\/(\d{1,3})$/.exec(text);
  if (!m?.[1] || !m[2]) return 'is not a CIDR (address/prefix, e.g. 10.96.0.0/24)';
  const network = ipToBytes(m[1]);
  if (!network) return 'does not start with an IPv4 or IPv6 address';
  const prefix = Number(m[2]);
  const bits = network.length * 8;
  if (prefix > bits) return `has prefix /${prefix}, more than ${bits} bits`;
  // kube-apiserver refuses a larger service range (--service-cluster-ip-range: at most 2^20 addresses).
  const widest = bits - 20;
  if (prefix < widest) return `has prefix /${prefix}: a service range holds at most 2^20 addresses (/${widest} or longer, e.g. 10.96.0.0/12)`;
  const range = ipaddr.fromByteArray([...network]).range();
  if (range === 'multicast' || range === 'broadcast' || range === 'unspecified')
    return `starts with a ${range === 'unspecified' ? 'reserved ("this network")' : range} address: service addresses are ordinary unicast addresses (e.g. 10.96.0.0/12)`;
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
