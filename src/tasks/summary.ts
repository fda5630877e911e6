import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Instances } from '../model/instances.js';
import type { Plan } from '../model/steps.js';
import { certFacts } from '../inspect/x509.js';

export interface ItemSummary {
  name: string;
  group: string;
  action: string;
  reasons: string[];
  files: string[];
  subject?: string;
  issuer?: string;
  sans?: { dns: string[]; ip: string[] };
  notAfter?: string;
  serial?: string;
  error?: string;
  warnings?: string[];
}

/** A machine-readable account of a run (or of a plan, for --dry-run): for --json. */
export async function summarize(
  plan: Plan,
  instances: Instances,
  outDir: string,
  errors: Map<string, string>,
  readCerts: boolean,
): Promise<ItemSummary[]> {
  return Promise.all(
    plan.items.map(async (item): Promise<ItemSummary> => {
      const cert = [...(instances.root ? [instances.root] : []), ...instances.certs].find((c) => c.name === item.name && (item.group === 'ca' || item.group === 'cert'));
      const kp = instances.keyPairs.find((k) => k.name === item.name && item.group === 'keypair');
      const kc = instances.kubeconfigs.find((k) => k.name === item.name && item.group === 'kubeconfig');
      const copy = instances.copies.find((c) => c.name === item.name);
      const enc = instances.encryption;
      const encFiles = enc ? [{ name: enc.name, path: enc.path }, ...enc.copies.map((c) => ({ name: `${c.node}/${enc.name}`, path: c.path }))] : [];
      const encFile = encFiles.find((e) => e.name === item.name && item.group === 'keypair');
      const files = cert ? [cert.keyPath, cert.certPath] : kp ? [kp.keyPath, kp.pubPath] : kc ? [kc.path] : copy ? copy.files.map((f) => f.to) : encFile ? [encFile.path] : [];
      const out: ItemSummary = { name: item.name, group: item.group, action: item.action, reasons: item.reasons, files };
      const error = errors.get(item.name);
      if (error) out.error = error;
      if (item.warnings?.length) out.warnings = item.warnings;
      if (cert) {
        out.subject = [`CN=${cert.subject.cn}`, ...cert.subject.o.map((o) => `O=${o}`)].join(', ');
        out.sans = cert.sans;
        if (readCerts && !error) {
          try {
            const facts = certFacts(await readFile(join(outDir, cert.certPath)));
            out.issuer = facts.issuer.replace(/\n/g, ', ');
            out.notAfter = facts.notAfter.toISOString();
            out.serial = facts.serial;
          } catch {
            /* not on disk (dry run, or it failed): the planned values stand */
          }
        }
      }
      return out;
    }),
  );
}
