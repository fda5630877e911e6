import { sendablePaths } from '../distribute/manifest.js';
import type { Cluster } from '../model/cluster.js';
import { renewCa, type RenewCaOptions, type RenewCaReport } from '../rotate/renew-ca.js';
import type { NodeRestart } from '../rotate/restart.js';
import { printReport } from './phase-report.js';

/** The rolling restart, as rotate-ca prints it (the list comes from rotate/restart.ts renewCaRestart). */
export function restartLines(restart: NodeRestart[]): string[] {
  if (!restart.length) return [];
  return [
    'Restart, one node at a time, before the old certificate expires (wait until each is healthy again before the next):',
    ...restart.map((r, i) => `  ${i + 1}. ${r.node}: ${r.components.join(', ')}`),
    '  (until then the components keep verifying with the old certificate, which holds the same key; kubectl and etcdctl read their files on every run)',
  ];
}

function reportText(report: RenewCaReport, sendable: Set<string>): string {
  const dry = report.result === 'dry-run';
  const out = [`renew-ca in ${report.outDir} (profile ${report.profile}, from ${report.source})${dry ? ': plan only, nothing written' : ''}`];
  for (const c of report.cas) {
    const after = c.after ? ` -> serial ${c.after.serial}, valid ${c.after.notBefore} to ${c.after.notAfter}` : '';
    out.push(`  ${c.name} (${c.file}): ${c.subject}, key id ${c.subjectKeyId ?? 'none'}: serial ${c.before.serial}, expires ${c.before.notAfter}${after}`);
  }
  if (!dry) {
    const sent = report.changed.filter((f) => sendable.has(f));
    const kept = report.changed.filter((f) => !sendable.has(f));
    out.push(`Changed files (kube-pki distribute sends these): ${sent.join(', ') || 'none'}`);
    if (kept.length) out.push(`Changed here only (never sent to a node): ${kept.join(', ')}`);
    if (report.backupDir) out.push(`Old certificates and files are in ${report.backupDir}`);
  }
  for (const e of report.errors) out.push(`error: ${e.name}: ${e.message}`);
  for (const n of report.notes) out.push(`note: ${n}`);
  out.push(...restartLines(report.restart));
  return `${out.join('\n')}\n`;
}

export async function renewCaCommand(cluster: Cluster, options: RenewCaOptions & { json?: boolean }): Promise<{ exitCode: number; restart: NodeRestart[] }> {
  const { exitCode, report, plan } = await renewCa(cluster, options);
  printReport(cluster, report, plan, options, () => reportText(report, sendablePaths(cluster)));
  return { exitCode, restart: report.restart };
}
