import { ipVersion } from '../util/ip.js';

// Values that reach an openssl.cnf or a -subj argument are restricted to these shapes, so that
// none can add a line, a section, a directive or an RDN.

const LABEL = '[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?';
const NODE_NAME = new RegExp(`^${LABEL}(\\.${LABEL})*$`);
const HOSTNAME = new RegExp(`^${LABEL.replace(/a-z/g, 'a-zA-Z')}(\\.${LABEL.replace(/a-z/g, 'a-zA-Z')})*$`);

/** A Kubernetes node name: a DNS-1123 subdomain (lower case letters, digits, '-' and '.'). */
export function isNodeName(value: string): boolean {
  return value.length <= 253 && NODE_NAME.test(value);
}

/** A DNS name; `wildcard` allows one leading "*." as in kubeadm's certSANs. */
export function isDnsName(value: string, wildcard = false): boolean {
  const name = wildcard && value.startsWith('*.') ? value.slice(2) : value;
  return name.length <= 253 && HOSTNAME.test(name);
}

export function isIpAddress(value: string): boolean {
  return ipVersion(value) !== 0;
}

/** A login name as OpenSSH and useradd accept it. */
export function isUserName(value: string): boolean {
  return /^[a-z_][a-z0-9_.-]{0,31}$/i.test(value);
}

/** A file path with no control characters (it ends up in argv and in messages). */
export function isPlainPath(value: string): boolean {
  return value.length > 0 && value.length <= 4096 && !/[\u0000-\u001f\u007f]/.test(value);
}
