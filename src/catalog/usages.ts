import type { KeySpec } from '../cluster/load.js';
import type { CertKind } from './types.js';

/** X.509 extensions by kind, as openssl.cnf names them (cert-matrix.md, "Key usages by kind"). */
export interface Usages {
  ca: boolean;
  keyUsage: string[];
  extendedKeyUsage: string[];
}

export const EKU_OID = { serverAuth: '1.3.6.1.5.5.7.3.1', clientAuth: '1.3.6.1.5.5.7.3.2' } as const;

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
