import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { bootstrapWorkers, kubeletOwnFiles } from '../catalog/bootstrap.js';
import type { Cluster } from '../model/cluster.js';
import { instancesFor } from '../pki.js';
import { connect, execCommand } from '../ssh/connect.js';
import { commandLine } from '../ssh/quote.js';
import { endpointOf } from './node.js';
import { sessionOptions, type RemoteOptions } from './prepare.js';
import { resolveTargets } from './targets.js';

// `check --remote` for bootstrap workers: the certificates their kubelet obtained from the cluster. Only
// the certificate crosses the wire: `openssl x509` on the node prints it without the key that shares its
// file (kubelet-client-current.pem holds both), so no key ever leaves a worker.

export interface ObtainedCert {
  path: string;
  subject?: string;
  issuer?: string;
  notAfter?: string;
  /** Its signature verifies with the folder's cluster CA. */
  signedByClusterCa?: boolean;
  /** Not there (the kubelet has not joined yet), or unreadable: the reason. */
  error?: string;
}

export interface BootstrapNodeRemote {
  node: string;
  clientCertificate: ObtainedCert;
  servingCertificate: ObtainedCert;
  error?: string;
}

export async function kubeletCertsRemote(cluster: Cluster, options: RemoteOptions): Promise<BootstrapNodeRemote[]> {
  const workers = bootstrapWorkers(cluster).filter((n) => !options.only?.length || options.only.includes(n.name));
  if (!workers.length) return [];
  const ca = instancesFor(cluster).certs.find((c) => c.spec.id === 'ca');
  const caCert = ca ? await readFile(join(resolve(options.out), ca.certPath)).then((b) => new X509Certificate(b), () => null) : null;
  const session = await sessionOptions(options);
  const targets = await resolveTargets(cluster, workers, options.sshConfig ? { sshConfig: options.sshConfig } : {});
  return Promise.all(
    targets.map(async (target): Promise<BootstrapNodeRemote> => {
      const files = kubeletOwnFiles(target.node);
      const none = (path: string, error: string) => ({ path, error });
      let client;
      try {
        client = await connect(endpointOf(target, session));
      } catch (err) {
        const error = (err as Error).message;
        return { node: target.node.name, clientCertificate: none(files.clientCert, error), servingCertificate: none(files.servingCert, error), error };
      }
      try {
        const read = async (path: string): Promise<ObtainedCert> => {
          const argv = [...(target.sudo ? ['sudo', '-n'] : []), 'openssl', 'x509', '-in', path];
          const r = await execCommand(client, commandLine(argv));
          if (r.code !== 0) return none(path, /No such file|Could not open|cannot open/i.test(r.stderr) ? 'not there (the kubelet has not obtained it yet)' : `openssl x509: exit ${r.code}`);
          const cert = new X509Certificate(r.stdout);
          return {
            path,
            subject: cert.subject.replace(/\n/g, ', '),
            issuer: cert.issuer.replace(/\n/g, ', '),
            notAfter: new Date(cert.validTo).toISOString(),
            ...(caCert ? { signedByClusterCa: cert.verify(caCert.publicKey) } : {}),
          };
        };
        return { node: target.node.name, clientCertificate: await read(files.clientCert), servingCertificate: await read(files.servingCert) };
      } finally {
        client.end();
      }
    }),
  );
}
