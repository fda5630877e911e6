// PKCS#11 URIs (RFC 7512) naming the root CA key in a token: `pkcs11:token=…;object=…`. Validated
// before they reach a command line; the PIN never travels in one (no `?pin-value`, `?pin-source`).

/** The path attributes of RFC 7512 §2.3; a query part (PIN, module) is refused. */
const ATTRIBUTES = new Set([
  'token', 'manufacturer', 'serial', 'model', 'library-manufacturer', 'library-description', 'library-version',
  'slot-manufacturer', 'slot-description', 'slot-id', 'object', 'id', 'type',
]);

/** RFC 7512 pchar without ";" (the separator) and "/" (reserved there): unreserved, sub-delims but ";", ":", "@", "%XX". */
const VALUE = /^(?:[A-Za-z0-9\-._~!$&'()*+,=:@]|%[0-9A-Fa-f]{2})*$/;

/** The attributes of a URI that passed `pkcs11UriProblem`, values percent-decoded (as bytes for `id`). */
export interface Pkcs11Uri {
  attrs: Map<string, string>;
  /** The object's label (CKA_LABEL), decoded. */
  object?: string;
  /** The object's CKA_ID as hex, decoded from %XX. */
  idHex?: string;
}

/** What is wrong with a URI for the root key, or null. */
export function pkcs11UriProblem(uri: string): string | null {
  if (!uri.startsWith('pkcs11:')) return 'must be a PKCS#11 URI starting with "pkcs11:", e.g. "pkcs11:token=kube-root;object=root-ca"';
  if (uri.length > 1024) return 'is longer than 1024 characters';
  if (uri.includes('?'))
    return /pin-(value|source)/.test(uri)
      ? 'must not carry the PIN (pin-value, pin-source): give the PIN file with --ca-pin-file FILE or KUBE_PKI_CA_PIN_FILE'
      : 'must have no query part ("?…"): name the module in rootCA.pkcs11.module';
  const parts = uri.slice('pkcs11:'.length).split(';').filter((p) => p !== '');
  const seen = new Set<string>();
  for (const part of parts) {
    const eq = part.indexOf('=');
    const name = eq < 0 ? part : part.slice(0, eq);
    if (eq < 0 || !ATTRIBUTES.has(name)) return `has an unknown attribute ${JSON.stringify(name)} (RFC 7512: ${[...ATTRIBUTES].join(', ')})`;
    if (seen.has(name)) return `names ${name} twice`;
    seen.add(name);
    const value = part.slice(eq + 1);
    if (!VALUE.test(value)) return `${name}=${JSON.stringify(value)}: characters outside RFC 7512 must be percent-encoded (%20 for a space)`;
    if (name === 'type' && value !== 'private') return 'type must be "private" (the root CA\'s private key), or left out';
  }
  if (!seen.has('object') && !seen.has('id')) return 'must name the key with object=LABEL (or id=%01…)';
  if (!['token', 'serial', 'model', 'slot-id', 'slot-description'].some((a) => seen.has(a))) return 'must name the token, e.g. token=LABEL (or serial=…)';
  return null;
}

/** A URI that passed `pkcs11UriProblem`, taken apart. */
export function parsePkcs11Uri(uri: string): Pkcs11Uri {
  const attrs = new Map<string, string>();
  for (const part of uri.slice('pkcs11:'.length).split(';').filter((p) => p !== '')) {
    const eq = part.indexOf('=');
    attrs.set(part.slice(0, eq), part.slice(eq + 1));
  }
  const bytes = (v: string) => Buffer.from(v.replace(/%([0-9A-Fa-f]{2})|(.)/gs, (_m, hex: string | undefined, ch: string | undefined) => (hex ? String.fromCharCode(parseInt(hex, 16)) : ch!)), 'latin1');
  const object = attrs.get('object');
  const id = attrs.get('id');
  return {
    attrs,
    ...(object !== undefined ? { object: bytes(object).toString('utf8') } : {}),
    ...(id !== undefined ? { idHex: bytes(id).toString('hex') } : {}),
  };
}

/** The token's part of the URI (what a tool that makes a key in it wants): no object, id or type. */
export function tokenUri(uri: Pkcs11Uri): string {
  return `pkcs11:${[...uri.attrs].filter(([k]) => !['object', 'id', 'type'].includes(k)).map(([k, v]) => `${k}=${v}`).join(';')}`;
}
