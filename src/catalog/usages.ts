import type { CertKind } from '../model/catalog.js';
import type { KeySpec } from '../model/cluster.js';
import type { Usages } from '../model/usages.js';

export function usagesFor(kind: CertKind, key: KeySpec): Usages {
  if (kind === 'ca') return { ca: true, keyUsage: ['digitalSignature', 'keyCertSign', 'cRLSign'], extendedKeyUsage: [] };
  // keyEncipherment only means something for RSA key transport; ECDSA keys cannot do it.
  const keyUsage = key.algorithm === 'rsa' ? ['digitalSignature', 'keyEncipherment'] : ['digitalSignature'];
  const extendedKeyUsage = {
    server: ['serverAuth'],
    client: ['clientAuth'],
    'server-client': ['serverAuth', 'clientAuth'],
  }[kind];
  return { ca: false, keyUsage, extendedKeyUsage };
}
