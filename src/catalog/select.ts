import { EXIT, UserError } from '../errors.js';
import type { CertInstance, Instances } from '../model/instances.js';

/**
 * The certificates a name given on the command line means: an instance name (worker-1), a catalog
 * id (kubelet: one per worker), a file (admin.crt, admin.key, admin) or a kubeconfig (its certificate).
 */
export function lookupCerts(instances: Instances, name: string): CertInstance[] {
  const bare = (path: string) => path.replace(/\.(crt|key)$/, '');
  const direct = instances.certs.filter((c) => c.name === name || c.certPath === name || c.keyPath === name || bare(c.certPath) === name);
  if (direct.length) return direct;
  const bySpec = instances.certs.filter((c) => c.spec.id === name);
  if (bySpec.length) return bySpec;
  const kc = instances.kubeconfigs.find((k) => k.name === name || k.path === name);
  return kc ? instances.certs.filter((c) => c.name === kc.certName) : [];
}

/**
 * Like lookupCerts, but an unknown name is bad input that names the value and the choices: those the
 * command takes (`offered`; renew: leaves only, never a CA it would then refuse; explain: the root CA too).
 */
export function requireCerts(instances: Instances, name: string, what: string, offered: readonly CertInstance[] = instances.certs): CertInstance[] {
  const found = lookupCerts(instances, name);
  if (found.length) return found;
  throw new UserError(`${what}: unknown certificate ${JSON.stringify(name)}; known: ${offered.map((c) => c.name).join(', ')}`, EXIT.badInput);
}
