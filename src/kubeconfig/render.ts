import { stringify } from 'yaml';
import type { KubeconfigSource } from '../model/steps.js';

export interface EmbeddedData {
  ca: string;
  cert: string;
  key: string;
}

/**
 * The kubeconfig YAML, with the CA, the client certificate and its key embedded as base64 (what
 * `kubectl config set-cluster --embed-certs` and `set-credentials --embed-certs` write).
 * `data` holds the base64 text, or placeholders when `script` renders a shell heredoc.
 */
export function renderKubeconfig(source: KubeconfigSource, data: EmbeddedData): string {
  return stringify(
    {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: source.clusterName, cluster: { 'certificate-authority-data': data.ca, server: source.server } }],
      contexts: [{ name: source.contextName, context: { cluster: source.clusterName, user: source.userName } }],
      'current-context': source.contextName,
      preferences: {},
      users: [{ name: source.userName, user: { 'client-certificate-data': data.cert, 'client-key-data': data.key } }],
    },
    { lineWidth: 0 },
  );
}

export function kubeconfigFromPem(source: KubeconfigSource, pem: { ca: Buffer; cert: Buffer; key: Buffer }): string {
  const b64 = (b: Buffer) => b.toString('base64');
  return renderKubeconfig(source, { ca: b64(pem.ca), cert: b64(pem.cert), key: b64(pem.key) });
}
