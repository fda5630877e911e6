import { expiresText } from '../util/time.js';
import { plural } from '../util/words.js';
import type { Follower, RenewReport } from './renew.js';
import type { Restart } from '../catalog/restart.js';

const filesText = (list: Follower[]) => list.map((f) => (f.error ? `${f.file} (FAILED: ${f.error})` : f.file)).join(', ');
const where = (r: Restart) => (r.nodes.length ? ` on ${r.nodes.join(', ')}` : ' wherever it runs');

/** `sendable`: the files distribute sends to some node (distribute/manifest.ts sendablePaths); the rest are named apart. */
export function renewText(report: RenewReport, sendable?: ReadonlySet<string>): string {
  const out: string[] = [];
  if (report.result === 'nothing') {
    out.push(
      report.expiringWithin === null
        ? 'Nothing to renew.'
        : `Nothing to renew: no certificate in ${report.outDir} expires within ${plural(report.expiringWithin, 'day')}.`,
    );
    return `${out.join('\n')}\n`;
  }
  const dry = report.result === 'dry-run';
  const warnings = report.warnings.map((w) => `warning: ${w}`);
  const ok = report.renewed.filter((r) => r.after);
  const keys = report.renewed.some((r) => r.newKey) ? 'new keys' : 'keys kept';
  if (dry) out.push(`Would renew ${plural(report.renewed.length, 'certificate')} in ${report.outDir} (${keys}); nothing was written.`);
  else out.push(`Renewed ${ok.length} of ${plural(report.renewed.length, 'certificate')} in ${report.outDir} with the existing CA (${keys}; SANs from ${report.source}):`);
  const width = Math.max(...report.renewed.map((r) => r.file.length));
  for (const r of report.renewed) {
    const before = `serial ${r.before.serial}, expires ${expiresText(new Date(r.before.notAfter))}`;
    const after = r.after ? ` -> serial ${r.after.serial}, expires ${expiresText(new Date(r.after.notAfter))}` : r.error ? ` FAILED: ${r.error}` : '';
    out.push(`  ${r.file.padEnd(width)}  ${before}${after}`);
  }
  if (report.kubeconfigs.length) out.push(`Kubeconfigs ${dry ? 'to re-render' : 're-rendered'}: ${filesText(report.kubeconfigs)}`);
  if (report.copies.length) out.push(`Copies in node trees ${dry ? 'to update' : 'updated'}: ${filesText(report.copies)}`);
  if (dry) return `${[...out, ...warnings].join('\n')}\n`;
  if (report.backupDir) out.push(`Old files copied to ${report.backupDir}`);
  const sent = sendable ? report.changed.filter((f) => sendable.has(f)) : report.changed;
  const kept = report.changed.filter((f) => !sent.includes(f));
  out.push(`Changed files (kube-pki distribute sends only these): ${sent.join(', ') || 'none'}`);
  if (kept.length) out.push(`Changed here only (never sent to a node): ${kept.join(', ')}`);
  if (report.restart.length) {
    out.push('Restart to load them:');
    for (const r of report.restart) out.push(`  ${r.component}${where(r)} (${r.files.join(', ')})`);
  }
  out.push(...warnings);
  if (report.clients.length)
    out.push(`No restart for ${report.clients.map((c) => `${c.component} (${c.files.join(', ')})`).join(', ')}: read on the next run.`);
  return `${out.join('\n')}\n`;
}
