import type { Cluster } from '../model/cluster.js';
import { rotateEncryptionKey, type EncryptionCommand, type EncryptionReport, type RotateEncryptionOptions } from '../rotate-encryption/rotate.js';
import { printReport } from './phase-report.js';

function reportText(r: EncryptionReport): string {
  const out: string[] = [];
  const dry = r.result === 'dry-run';
  out.push(`rotate-encryption-key ${r.command} in ${r.outDir} (profile ${r.profile}, from ${r.source})${dry ? ': plan only, nothing written' : ''}`);
  const phase = r.state === 'none' ? 'no rotation' : `phase ${r.state}`;
  out.push(`  ${r.file} (${r.provider}): ${phase} (${r.complete ? 'complete' : 'not complete'}); keys ${r.keys.join(', ') || 'none'} (the first encrypts)`);
  out.push(`  next: ${r.next}`);
  if (r.command !== 'status') {
    if (r.result !== 'nothing' && !dry) out.push(`Changed files (kube-pki distribute sends these): ${r.changed.join(', ') || 'none'}`);
    for (const n of r.notes) out.push(`note: ${n}`);
    if (r.backupDir) out.push(`Replaced files are in ${r.backupDir}`);
    for (const e of r.errors) out.push(`error: ${e.name}: ${e.message}`);
    if (r.restart.length) {
      out.push('Restart, one node at a time (wait until each is healthy again before the next):');
      r.restart.forEach((s, i) => out.push(`  ${i + 1}. ${s.node}: ${s.components.join(', ')}`));
      out.push('  (kube-apiserver reads --encryption-provider-config only at start)');
    }
  }
  if (r.reencrypt)
    out.push(
      r.command === 'status' ? 'Before finish, re-encrypt every Secret with the new key:' : 'Then, after the last restart and before finish, re-encrypt every Secret with the new key:',
      `  ${r.reencrypt}`,
    );
  return `${out.join('\n')}\n`;
}

export async function rotateEncryptionKeyCommand(cluster: Cluster, command: EncryptionCommand, options: RotateEncryptionOptions & { json?: boolean }): Promise<number> {
  const { exitCode, report, plan } = await rotateEncryptionKey(cluster, command, options);
  printReport(cluster, report, plan, options, () => reportText(report));
  return exitCode;
}
