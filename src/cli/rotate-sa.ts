import { sendablePaths } from '../distribute/manifest.js';
import type { Cluster } from '../model/cluster.js';
import type { KeyRotationCommand } from '../model/key-rotation.js';
import { rotateSa, type RotateSaOptions, type RotateSaReport } from '../rotate/sa.js';
import { flags } from './flags.js';
import { phaseTail, printReport } from './phase-report.js';

/** The service-account flags of the apiserver and the controller manager for the phase the folder is in now. */
function phaseFlags(cluster: Cluster, out: string): string[] {
  const json = JSON.parse(flags(cluster, undefined, { out, json: true })) as Record<string, { flag: string; path: string }[]>;
  return ['kube-apiserver', 'kube-controller-manager'].flatMap((c) =>
    (json[c] ?? []).filter((f) => f.flag.startsWith('--service-account-')).map((f) => `  ${c}: ${f.flag}=${f.path}`),
  );
}

function reportText(cluster: Cluster, report: RotateSaReport): string {
  const out: string[] = [];
  const dry = report.result === 'dry-run';
  out.push(`rotate-sa ${report.command} in ${report.outDir} (profile ${report.profile}, from ${report.source})${dry ? ': plan only, nothing written' : ''}`);
  const phase = report.state === 'none' ? 'no rotation under way' : `phase ${report.state} (${report.complete ? 'complete' : 'not complete'})`;
  out.push(`  service-account key (${report.files.current.key}, new pair ${report.files.new.key}): ${phase}; next: ${report.next}`);
  if (report.result === 'nothing') out.push('Nothing to do: no rotation under way.');
  if (report.command !== 'status' && !dry && report.result !== 'nothing') {
    const sendable = sendablePaths(cluster);
    const sent = report.changed.filter((f) => sendable.has(f));
    out.push(`Changed files (kube-pki distribute sends these): ${sent.join(', ') || 'none'}`);
  }
  if (report.result !== 'nothing' && !dry) {
    out.push(`Service-account flags ${report.command === 'status' ? 'now' : 'from this phase on'} (kube-pki flags prints them all):`);
    out.push(...phaseFlags(cluster, report.outDir));
  }
  if (report.command === 'status') return `${out.join('\n')}\n`;
  out.push(...phaseTail(report, '  (start them with the flags above: `kube-pki flags kube-apiserver`, `kube-pki flags kube-controller-manager`)'));
  return `${out.join('\n')}\n`;
}

export async function rotateSaCommand(cluster: Cluster, command: KeyRotationCommand, options: RotateSaOptions & { json?: boolean }): Promise<number> {
  const { exitCode, report, plan } = await rotateSa(cluster, command, options);
  for (const w of report.warnings) process.stderr.write(`warning: ${w}\n`);
  printReport(cluster, report, plan, options, () => reportText(cluster, report));
  return exitCode;
}
