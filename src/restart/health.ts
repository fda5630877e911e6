import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { request } from 'node:https';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { catalogFor } from '../catalog/index.js';
import { componentFlags } from '../catalog/flags.js';
import type { Cluster, ClusterNode, RestartComponent } from '../model/cluster.js';
import { RESTART_COMPONENTS } from '../model/cluster.js';
import { bundleOf } from '../model/rotation.js';

/**
 * How kube-pki asks a component whether it is healthy after its restart. Checked from the admin
 * machine, straight to the node's address (nodes[].restart.address to override), over TLS with the
 * files of the PKI folder: the node's own view of itself (curl on the node) would need curl and the
 * keys there, and a check from here also proves the component is reachable with its new certificate.
 */
export interface HealthCheck {
  component: string;
  url: string;
  /** PEM files (local paths); no ca: the server's certificate is not ours and not verified. */
  ca?: string;
  cert?: string;
  key?: string;
  /** The body a healthy component answers with (after a 200). */
  body?: RegExp;
}

/** The ports components listen on by default (kube-apiserver: its secure port, not the load balancer's). */
export const DEFAULT_PORTS: Record<RestartComponent, number> = {
  etcd: 2379,
  'kube-apiserver': 6443,
  'kube-controller-manager': 10257,
  'kube-scheduler': 10259,
  kubelet: 10250,
  'kube-proxy': 10256,
};

const isKnown = (c: string): c is RestartComponent => (RESTART_COMPONENTS as readonly string[]).includes(c);

/** The PKI files a health check uses, read from the folder's own flags (kubeadm: the first control plane's tree). */
function localFlags(cluster: Cluster, outDir: string): (component: string, flag: string) => string | undefined {
  const first = cluster.nodes.find((n) => n.role === 'controlplane')!;
  const dir = cluster.profile === 'kubeadm' ? join(outDir, first.name) : outDir;
  const all = componentFlags(catalogFor(cluster), cluster, dir);
  return (component, flag) => all.get(component)?.find((f) => f.flag === flag && (!f.node || f.node === first.name))?.path;
}

/** During a CA rotation the bundle (old + new) verifies servers signed by either CA. */
const trust = (crt: string | undefined) => (crt && existsSync(bundleOf(crt)) ? bundleOf(crt) : crt);

const hostPart = (host: string) => (host.includes(':') ? `[${host}]` : host);

/** The check of one component on one node, or null for a component kube-pki cannot ask (it is then not waited for). */
export function healthCheck(cluster: Cluster, outDir: string, node: ClusterNode, component: string): HealthCheck | null {
  if (!isKnown(component)) return null;
  const flag = localFlags(cluster, outDir);
  const host = hostPart(node.restart?.address ?? node.address);
  const port = node.restart?.ports?.[component] ?? cluster.restart?.ports?.[component] ?? DEFAULT_PORTS[component];
  const at = (scheme: string, path: string) => `${scheme}://${host}:${port}${path}`;
  // Any client certificate of the cluster CA authenticates; the kubelet client's is also allowed the kubelet's /healthz.
  const kubeClient = { cert: flag('kube-apiserver', '--kubelet-client-certificate'), key: flag('kube-apiserver', '--kubelet-client-key') };
  switch (component) {
    case 'etcd':
      return { component, url: at('https', '/health'), ca: trust(flag('etcdctl', '--cacert')), cert: flag('etcdctl', '--cert'), key: flag('etcdctl', '--key'), body: /"health":\s*"true"/ };
    case 'kube-apiserver':
      return { component, url: at('https', '/readyz'), ca: trust(flag('kube-apiserver', '--client-ca-file')), ...kubeClient, body: /^ok/ };
    case 'kubelet': {
      // 10248 is the kubelet's plain-HTTP healthz port (on 127.0.0.1 unless healthzBindAddress says otherwise).
      if (port === 10248) return { component, url: at('http', '/healthz'), body: /^ok/ };
      // Hard way: the kubelet serves a certificate of ours; kubeadm's kubelet serves a self-signed one.
      const ca = trust(flag('kube-apiserver', '--kubelet-certificate-authority'));
      return { component, url: at('https', '/healthz'), ...(ca ? { ca } : {}), ...kubeClient, body: /^ok/ };
    }
    case 'kube-controller-manager':
    case 'kube-scheduler':
      // They serve a self-signed certificate made at start; /healthz needs no client certificate.
      return { component, url: at('https', '/healthz'), body: /^ok/ };
    case 'kube-proxy':
      return { component, url: at('http', '/healthz') };
  }
}

/** One probe: null when healthy, else what failed (status, body, or the connection error). */
export async function probe(check: HealthCheck, timeoutMs: number): Promise<string | null> {
  const read = async (p: string | undefined) => (p ? readFile(p) : undefined);
  const [ca, cert, key] = await Promise.all([read(check.ca), read(check.cert), read(check.key)]);
  const url = new URL(check.url);
  const tls = url.protocol === 'https:';
  return new Promise((resolve) => {
    const options = {
      host: url.hostname.replace(/^\[|\]$/g, ''),
      port: Number(url.port),
      path: url.pathname,
      method: 'GET',
      timeout: timeoutMs,
      ...(tls ? { ca, cert, key, rejectUnauthorized: !!ca } : {}),
    };
    const req = (tls ? request : httpRequest)(options, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d.slice(0, 2000)));
      res.on('end', () => {
        if (res.statusCode !== 200) resolve(`${check.url}: HTTP ${res.statusCode}: ${body.trim().split('\n').slice(0, 3).join('; ')}`);
        else if (check.body && !check.body.test(body.trim())) resolve(`${check.url}: unhealthy answer ${JSON.stringify(body.trim().slice(0, 200))}`);
        else resolve(null);
      });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs / 1000}s`)));
    req.on('error', (err: NodeJS.ErrnoException) => resolve(`${check.url}: ${err.code ? `${err.code} ` : ''}${err.message}`.trim()));
    req.end();
  });
}
