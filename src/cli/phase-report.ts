import { planText } from '../gen/gen.js';
import type { Cluster } from '../model/cluster.js';
import type { Plan } from '../model/steps.js';
import type { PhaseReport } from '../rotate/phase-report.js';

/** The end of a phase's text (rotate-ca, rotate-sa): notes, the backup folder, errors, and the rolling restart with how to start the components. */
export function phaseTail(report: PhaseReport<string>, startHint: string): string[] {
  const out: string[] = [];
  for (const n of report.notes) out.push(`note: ${n}`);
  if (report.backupDir) out.push(`Replaced and archived files are in ${report.backupDir}`);
  for (const e of report.errors) out.push(`error: ${e.name}: ${e.message}`);
  if (report.restart.length) {
    out.push('Restart, one node at a time (wait until each is healthy again before the next):');
    report.restart.forEach((r, i) => out.push(`  ${i + 1}. ${r.node}: ${r.components.join(', ')}`));
    out.push(startHint);
  }
  return out;
}

/** Prints a run's report: with --json the report (and in a dry run its plan), else its text (and in a dry run the plan's text). */
export function printReport(cluster: Cluster, report: { outDir: string }, plan: Plan | null, options: { json?: boolean; dryRun?: boolean }, text: () => string): void {
  if (options.json) {
    const dryPlan = options.dryRun && plan ? { plan: plan.items.map(({ name, action, reasons, outputs }) => ({ name, action, reasons, outputs })) } : {};
    process.stdout.write(`${JSON.stringify({ ...report, ...dryPlan }, null, 2)}\n`);
  } else {
    process.stdout.write(text());
    if (options.dryRun && plan) process.stdout.write(planText(plan, report.outDir, cluster));
  }
}
