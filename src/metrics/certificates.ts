import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { parse } from 'yaml';
import type { Labels } from './exposition.js';

/** One certificate found in the folder, with the labels x509-certificate-exporter gives it. */
export interface FoundCert {
  labels: Labels;
  notBefore: Date;
  notAfter: Date;
}

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** The first value of a DN attribute in node:crypto's subject text ("CN=x\nO=y"). */
function attribute(dn: string, key: string): string {
  const line = dn.split('\n').find((l) => l.startsWith(`${key}=`));
  return line ? line.slice(key.length + 1) : '';
}

/** The exporter's labels: decimal serial (Go's big.Int), the first C, O and OU and the CN of each name. */
function certLabels(cert: X509Certificate): Labels {
  const labels: Labels = { serial_number: BigInt(`0x${cert.serialNumber}`).toString(10) };
  for (const [prefix, dn] of [['issuer', cert.issuer], ['subject', cert.subject]] as const)
    for (const key of ['C', 'O', 'OU', 'CN']) labels[`${prefix}_${key}`] = attribute(dn, key);
  return labels;
}

function found(pem: string | Buffer, base: Labels): FoundCert[] {
  const blocks = pem.toString().match(PEM_BLOCK) ?? [];
  // Named as a certificate but holding none: a read error, as the exporter counts it.
  if (!blocks.length) throw new Error(`${base.filepath}: no PEM certificate`);
  return blocks.map((block) => {
    const cert = new X509Certificate(block);
    return { labels: { ...base, ...certLabels(cert) }, notBefore: new Date(cert.validFrom), notAfter: new Date(cert.validTo) };
  });
}

const fileLabels = (path: string): Labels => ({ filename: basename(path), filepath: path });

/** Every certificate of a PEM file (a CA file may carry its chain: each one is watched). */
export async function certsOfFile(path: string): Promise<FoundCert[]> {
  return found(await readFile(path), fileLabels(path));
}

interface KubeconfigDoc {
  clusters?: { name?: string; cluster?: { 'certificate-authority-data'?: string; 'certificate-authority'?: string } }[];
  users?: { name?: string; user?: { 'client-certificate-data'?: string; 'client-certificate'?: string } }[];
}

/**
 * The certificates a kubeconfig holds, as the exporter reads them: each cluster's CA and each user's
 * client certificate, embedded or named by path (relative to the kubeconfig), labelled
 * embedded_kind cluster|user and embedded_key the cluster's or user's name.
 */
export async function certsOfKubeconfig(path: string): Promise<FoundCert[]> {
  const doc = (parse(await readFile(path, 'utf8')) ?? {}) as KubeconfigDoc;
  const entries = [
    ...(doc.clusters ?? []).map((c) => ({ kind: 'cluster', key: c.name ?? '', data: c.cluster?.['certificate-authority-data'], file: c.cluster?.['certificate-authority'] })),
    ...(doc.users ?? []).map((u) => ({ kind: 'user', key: u.name ?? '', data: u.user?.['client-certificate-data'], file: u.user?.['client-certificate'] })),
  ];
  const certs: FoundCert[] = [];
  for (const e of entries) {
    const base = { ...fileLabels(path), embedded_kind: e.kind, embedded_key: e.key };
    if (e.data) certs.push(...found(Buffer.from(e.data, 'base64'), base));
    else if (e.file) certs.push(...found(await readFile(isAbsolute(e.file) ? e.file : join(dirname(path), e.file)), base));
  }
  return certs;
}
