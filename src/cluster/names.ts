import { addressProblem, ipVersion, looksLikeIpv4 } from '../util/ip.js';

// Values that reach an openssl.cnf or a -subj argument are restricted to these shapes, so that
// none can add a line, a section, a directive or an RDN.

const LABEL = '[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?';
const NODE_NAME = new RegExp(`^${LABEL}(\\.${LABEL})*$`);
const HOSTNAME = new RegExp(`^${LABEL.replace(/a-z/g, 'a-zA-Z')}(\\.${LABEL.replace(/a-z/g, 'a-zA-Z')})*$`);

/** RFC 1123 host names: a name whose last label is all digits would read as an IPv4 address. */
const numericTld = (name: string): boolean => /(^|\.)[0-9]+$/.test(name);

/** A Kubernetes node name: a DNS-1123 subdomain (lower case letters, digits, '-' and '.'), not all-digit at the end. */
export function isNodeName(value: string): boolean {
  return value.length <= 253 && NODE_NAME.test(value) && !numericTld(value);
}

/** A DNS name; `wildcard` allows one leading "*." as in kubeadm's certSANs. */
export function isDnsName(value: string, wildcard = false): boolean {
  const name = wildcard && value.startsWith('*.') ? value.slice(2) : value;
  return name.length <= 253 && HOSTNAME.test(name) && !numericTld(name);
}

/** An address a certificate can carry and a client can reach: no zone id, not 0.0.0.0 or ::. */
export function isIpAddress(value: string): boolean {
  return ipVersion(value) !== 0 && addressProblem(value) === null;
}

/**
 * What is wrong with a value that must be an IP address or a DNS name; null when it is fine.
 * A value that looks like an address is judged as one, never taken for a DNS name.
 */
export function hostProblem(value: string, what: { dns: boolean; wildcard?: boolean }): string | null {
  const problem = addressProblem(value);
  if (problem) return problem;
  if (ipVersion(value) !== 0) return null;
  if (value.includes(':')) return 'is not a valid IPv6 address';
  if (!what.dns) return looksLikeIpv4(value) ? 'is not an IPv4 address' : 'is not an IPv4 or IPv6 address';
  if (isDnsName(value, what.wildcard)) return null;
  const last = value.split('.').pop() ?? '';
  if (/^[0-9]+$/.test(last) && HOSTNAME.test(value)) return `is not a DNS name: its last label ${JSON.stringify(last)} is all digits (RFC 1123), and it is not an IP address either`;
  return 'is neither an IP address nor a DNS name';
}

/** A login name as OpenSSH and useradd accept it. */
export function isUserName(value: string): boolean {
  return /^[a-z_][a-z0-9_.-]{0,31}$/i.test(value);
}

/** A file path with no control characters (it ends up in argv and in messages). */
export function isPlainPath(value: string): boolean {
  return value.length > 0 && value.length <= 4096 && !/[\u0000-\u001f\u007f]/.test(value);
}
