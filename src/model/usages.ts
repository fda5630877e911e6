/** X.509 extensions by kind, as openssl.cnf names them (cert-matrix.md, "Key usages by kind"). */
export interface Usages {
  ca: boolean;
  keyUsage: string[];
  extendedKeyUsage: string[];
}

/** extendedKeyUsage OIDs by the names openssl.cnf and the catalog use (RFC 5280 4.2.1.12). */
export const EKU_NAMES: Readonly<Record<string, string>> = {
  '1.3.6.1.5.5.7.3.1': 'serverAuth',
  '1.3.6.1.5.5.7.3.2': 'clientAuth',
  '1.3.6.1.5.5.7.3.3': 'codeSigning',
  '1.3.6.1.5.5.7.3.4': 'emailProtection',
  '1.3.6.1.5.5.7.3.8': 'timeStamping',
  '1.3.6.1.5.5.7.3.9': 'OCSPSigning',
  '2.5.29.37.0': 'anyExtendedKeyUsage',
};
