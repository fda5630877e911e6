import { sendablePaths } from '../distribute/manifest.js';
import type { Cluster } from '../model/cluster.js';
import { rotateCa, type RotateCaOptions, type RotateCommand, type RotateReport } from '../rotate/rotate.js';
import type { NodeRestart } from '../catalog/restart.js';
import { phaseTail, printReport } from './phase-report.js';

const STATE_TEXT = { none: 'no rotation', start: 'start', reissue: 'reissue', finish: 'finish' } as const;

/** The changed files that distribute sends, and those that stay in the folder (the waiting CA keys…). */
function changedLines(report: RotateReport, sendable: Set<string>): string[] {
  const sent = report.changed.filter((f) => sendable.has(f));
  const kept = report.changed.filter((f) => !sendable.has(f));
  return [`Changed files (kube-pki distribute sends these): ${sent.join(', ') || 'none'}`, ...(kept.length ? [`Changed here only (never sent to a node): ${kept.join(', ')}`] : [])];
}

function reportText(report: RotateReport, sendable: Set<string>): string {
  const out: string[] = [];
  const dry = report.result === 'dry-run';
  out.push(`rotate-ca ${report.command} in ${report.outDir} (profile ${report.profile}, from ${report.source})${dry ? ': plan only, nothing written' : ''}`);
  for (const ca of report.cas) {
    const phase = ca.state === 'none' ? STATE_TEXT.none : `phase ${STATE_TEXT[ca.state]} (${ca.complete ? 'complete' : 'not complete'})`;
    out.push(`  ${ca.name} (${ca.file}): ${phase}; next: ${ca.next}`);
    if (ca.signedByOld.length) out.push(`    still signed by the old CA: ${ca.signedByOld.join(', ')}`);
  }
  if (report.command === 'status') return `${out.join('\n')}\n`;
  if (report.result === 'nothing') out.push('Nothing to do: no rotation under way for these CAs.');
  if (!dry && report.result !== 'nothing') out.push(...changedLines(report, sendable));
  out.push(...phaseTail(report, '  (start its components from `kube-pki flags` for this phase; kubectl and etcdctl read their files on every run)'));
  return `${out.join('\n')}\n`;
}

/** Runs a phase and prints its report; returns the exit code and the restart list it printed. */
export async function rotateCaCommand(cluster: Cluster, command: RotateCommand, options: RotateCaOptions & { json?: boolean }): Promise<{ exitCode: number; restart: NodeRestart[] }> {
  const { exitCode, report, plan } = await rotateCa(cluster, command, options);
  // On stderr, as gen's: a capped validity is worth seeing even with --json.
  for (const w of report.warnings) process.stderr.write(`warning: ${w}\n`);
  printReport(cluster, report, plan, options, () => reportText(report, sendablePaths(cluster)));
  return { exitCode, restart: report.restart };
}
