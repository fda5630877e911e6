import type { Instances, KubeconfigInstance } from '../model/instances.js';
import type { KubeconfigSource } from '../model/steps.js';

export function kubeconfigSource(instances: Instances, kc: KubeconfigInstance): KubeconfigSource {
  const cert = instances.certs.find((c) => c.name === kc.certName)!;
  const ca = instances.certs.find((c) => c.name === kc.caName)!;
  return {
    clusterName: kc.clusterName,
    contextName: kc.contextName,
    userName: kc.userName,
    server: kc.server,
    caFile: ca.certPath,
    certFile: cert.certPath,
    keyFile: cert.keyPath,
  };
}
