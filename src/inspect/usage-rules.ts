import type { CertKind } from '../model/catalog.js';
import { problem, type Problem } from '../model/problem.js';
import { usagesFor } from '../catalog/usages.js';
import type { CertExtensions } from './der.js';

const KIND_TEXT: Record<CertKind, string> = { ca: 'CA', server: 'server', client: 'client', 'server-client': 'server and client' };

const v1 = (ext: CertExtensions) => (ext.version === 1 ? ' (X.509 v1: no extensions at all)' : '');

/**
 * basicConstraints, keyUsage and extendedKeyUsage as cert-matrix.md requires for the kind. An external
 * CA (not made by kube-pki) only needs what signing needs: CA:TRUE and keyCertSign.
 */
export function usageRules(ext: CertExtensions, kind: CertKind | null, isRsa: boolean, externalCa = false): Problem[] {
  const out: Problem[] = [];
  const bc = ext.basicConstraints;
  const ku = ext.keyUsage;
  const rsaless = (usages: string[]) => usages.filter((u) => isRsa || u !== 'keyEncipherment');
  // Any certificate that claims to be a CA is judged as one; a leaf of unknown kind only for that.
  const wanted = kind ?? (bc?.ca ? 'ca' : null);
  if (wanted === 'ca') {
    if (!bc) out.push(problem('error', 'ca-basic-constraints', `no basicConstraints extension${v1(ext)}: a CA needs critical CA:TRUE`));
    else if (!bc.ca) out.push(problem('error', 'ca-basic-constraints', 'basicConstraints is CA:FALSE: it may not sign certificates'));
    else if (!bc.critical) out.push(problem('error', 'ca-basic-constraints', 'basicConstraints CA:TRUE is not marked critical (RFC 5280 requires it on a CA)'));
  } else if (bc?.ca && wanted) {
    out.push(problem('error', 'leaf-is-ca', `basicConstraints is CA:TRUE on a ${KIND_TEXT[wanted]} certificate: it could sign certificates`));
  }
  if (!wanted) return out;

  const usages = usagesFor(wanted, { algorithm: 'rsa', size: 2048 });
  const needKu = externalCa ? ['keyCertSign'] : rsaless(usages.keyUsage);
  const what = wanted === 'ca' ? 'a CA' : `a ${KIND_TEXT[wanted]} certificate`;
  if (!ku) out.push(problem('error', wanted === 'ca' ? 'ca-key-usage' : 'key-usage', `no keyUsage extension${v1(ext)}: ${what} needs ${needKu.join(', ')}`));
  else {
    const lacking = needKu.filter((u) => !ku.usages.includes(u));
    if (lacking.length) out.push(problem('error', wanted === 'ca' ? 'ca-key-usage' : 'key-usage', `keyUsage lacks ${lacking.join(', ')} (has ${ku.usages.join(', ') || 'none'}); ${what} needs ${needKu.join(', ')}`));
    if (!ku.critical) out.push(problem('note', 'key-usage-not-critical', 'keyUsage is not marked critical (cert-matrix.md asks for critical)'));
  }
  const needEku = usages.extendedKeyUsage;
  if (needEku.length) {
    const eku = ext.extendedKeyUsage;
    if (!eku) out.push(problem('error', 'eku-missing', `no extendedKeyUsage extension${v1(ext)}: ${what} needs ${needEku.join(', ')}`));
    else {
      const lacking = needEku.filter((u) => !eku.usages.includes(u) && !eku.usages.includes('anyExtendedKeyUsage'));
      if (lacking.length)
        out.push(problem('error', 'eku-wrong', `extendedKeyUsage is ${eku.usages.join(', ') || 'empty'}, but ${what} needs ${needEku.join(', ')} (lacks ${lacking.join(', ')})`));
    }
  }
  return out;
}
