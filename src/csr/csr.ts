import { resolve } from 'node:path';
import type { Cluster } from '../model/cluster.js';
import { EXIT } from '../errors.js';
import { inspectDisk } from '../inspect/disk.js';
import { checkOpenssl } from '../openssl/run.js';
import { instancesFor, ownPaths } from '../pki.js';
import { planCsrs, type CsrRequest } from '../plan/csr.js';
import { shellQuote } from '../util/shell.js';
import { assertOutDir, privateOutDir, runLocked } from '../exec/run-locked.js';
import { passphraseFile } from '../exec/passphrase.js';
import { assertNothingUnfinished } from '../exec/unfinished.js';

export interface CsrOptions {
  out: string;
  json?: boolean;
  concurrency?: number;
  /** Accepted and checked like gen's; csr signs nothing, so never needs the root CA. */
  caPassphraseFile?: string;
}

/**
 * `kube-pki csr`: keys and signing requests for every certificate an external CA (its certificate
 * is in the output folder, its key is not) must sign. `gen` later picks the signed certificates up.
 */
export async function csr(cluster: Cluster, options: CsrOptions): Promise<number> {
  const outDir = resolve(options.out);
  await passphraseFile(options.caPassphraseFile);
  await checkOpenssl();
  const instances = instancesFor(cluster);
  await assertOutDir(outDir, ownPaths(instances)); // gen's rule: keys go only into kube-pki's own folder
  await assertNothingUnfinished(outDir, instances, 'csr');
  const planNow = async () => planCsrs(cluster.profile, instances, await inspectDisk(outDir, instances));
  let { plan, requests } = await planNow(); // refuses a folder without an external CA before anything is written
  const notes = await privateOutDir(outDir);
  // Planned again under the lock: keys another run made meanwhile are kept, never replaced.
  const replan = async () => ({ plan, requests } = await planNow()).plan;
  const errors = await runLocked(replan, outDir, { operation: 'csr', instances, silent: !!options.json, ...(options.concurrency ? { concurrency: options.concurrency } : {}) });
  const written = requests.filter((r) => !errors.has(r.name));
  const signed = plan.items.filter((i) => i.action === 'keep').map((i) => i.name);
  const stale = plan.items.filter((i) => i.action === 'stale');
  const exitCode = errors.size ? EXIT.failed : stale.length ? EXIT.stale : EXIT.ok;
  if (options.json) {
    const result = exitCode === EXIT.ok ? 'ok' : exitCode === EXIT.stale ? 'stale' : 'failed';
    const json = { outDir, profile: cluster.profile, source: cluster.source, result, notes, requests: written, alreadySigned: signed, stale: stale.map((i) => ({ name: i.name, reasons: i.reasons })), errors: Object.fromEntries(errors) };
    process.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
  } else {
    for (const note of notes) process.stdout.write(`note: ${note}\n`);
    process.stdout.write(csrText(outDir, written, signed.length, cluster));
    for (const item of stale) process.stdout.write(`stale: ${item.name}: ${item.reasons.join('; ')}\n`);
    for (const [name, message] of errors) process.stderr.write(`error: ${name}: ${message}\n`);
  }
  return exitCode;
}

function csrText(outDir: string, requests: CsrRequest[], signed: number, cluster: Cluster): string {
  const lines = [`Signing requests in ${outDir} (profile ${cluster.profile}): ${requests.length} written, ${signed} already signed`];
  for (const ca of [...new Set(requests.map((r) => r.caCertPath))]) {
    lines.push(`For the CA of ${ca}: sign each request, and save the certificate where it says:`);
    for (const r of requests.filter((q) => q.caCertPath === ca)) lines.push(`  ${r.csrPath} -> ${r.certPath}`);
  }
  if (requests.length) {
    const r = requests[0]!;
    const days = cluster.validityDays.leaf;
    lines.push(
      'The requests ask for the subject, SANs and key usages each certificate needs; keep them when signing, e.g. with openssl:',
      `  openssl x509 -req -in ${shellQuote(r.csrPath)} -CA ca.crt -CAkey ca.key -copy_extensions copy -days ${days} -sha256 -set_serial "0x$(openssl rand -hex 16)" -out ${shellQuote(r.certPath)}`,
      'Then run kube-pki gen again: it checks each signed certificate and makes the rest (other CAs, copies, kubeconfigs).',
    );
  }
  return `${lines.join('\n')}\n`;
}
