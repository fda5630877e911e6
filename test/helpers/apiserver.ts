import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { execa } from 'execa';

export interface FakeApiserver {
  server: Server;
  port: number;
  /** Subjects of the client certificates seen, e.g. "CN=admin\nO=system:masters". */
  clients: string[];
  close(): Promise<void>;
}

/**
 * A small HTTPS server standing in for kube-apiserver: it serves /version with the given
 * certificate and requires a client certificate from the given CA, as the apiserver does.
 */
export async function startFakeApiserver(tls: { cert: Buffer; key: Buffer; ca: Buffer }, host: string, port = 0): Promise<FakeApiserver> {
  const clients: string[] = [];
  const server = createServer({ cert: tls.cert, key: tls.key, ca: tls.ca, requestCert: true, rejectUnauthorized: true }, (req, res) => {
    const peer = (req.socket as TLSSocket).getPeerCertificate();
    clients.push(Object.entries(peer.subject ?? {}).map(([k, v]) => `${k}=${Array.isArray(v) ? v.join('+') : v}`).join('\n'));
    if (req.url === '/version') {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ major: '1', minor: '30', gitVersion: 'v1.30.0', platform: 'linux/amd64' }));
    } else {
      res.statusCode = 404;
      res.end('{}');
    }
  });
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  return {
    server,
    port: (server.address() as AddressInfo).port,
    clients,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** The real kubectl with a kubeconfig; stdin closed so that it never prompts. */
export async function kubectl(kubeconfig: string, args: string[]): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const r = await execa('kubectl', ['--kubeconfig', kubeconfig, ...args], { reject: false, stdin: 'ignore', timeout: 60_000 });
  return { exitCode: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr };
}
