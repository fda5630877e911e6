import type { CertRow, CheckReport, KubeconfigRow } from './report.js';
import type { Problem } from '../model/problem.js';
import { expiresText, shortDuration } from '../util/time.js';
import { plural } from '../util/words.js';

/** Left-aligned columns; the last column may hold several lines (one problem each). */
export function table(header: string[], rows: string[][][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (i < header.length - 1 ? (r[i]?.[0] ?? '').length : 0))));
  const line = (cells: string[]) => cells.map((c, i) => (i < cells.length - 1 ? c.padEnd(widths[i]! + 3) : c)).join('').trimEnd();
  const out = [line(header)];
  for (const row of rows) {
    const height = Math.max(...row.map((c) => c.length), 1);
    for (let l = 0; l < height; l++) out.push(line(row.map((c) => c[l] ?? '')));
  }
  return out;
}

const count = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`;

const problemLine = (p: Problem) => (p.severity === 'error' ? p.message : `${p.severity}: ${p.message}`);

function statusCell(problems: Problem[]): string[] {
  return problems.length ? problems.map(problemLine) : ['ok'];
}

function expiryCells(row: CertRow | KubeconfigRow, now: Date): string[][] {
  if (!row.present) return [['MISSING'], ['']];
  if (!row.notAfter) return [['?'], ['']];
  const date = new Date(row.notAfter);
  return [[expiresText(date)], [shortDuration(date, now)]];
}

/** The text report: certificates (with kubeconfigs), then the CAs, like `kubeadm certs check-expiration`. */
export function checkText(report: CheckReport): string {
  const now = new Date(report.checkedAt);
  const out: string[] = [`Checked ${report.outDir} (profile ${report.profile}, description ${report.source}, warn within ${plural(report.warnDays, 'day')})`, ''];
  const leafRows = [...report.certificates, ...report.kubeconfigs].map((r) => [[r.file], ...expiryCells(r, now), [r.ca ?? ''], statusCell(r.problems)]);
  out.push(...table(['CERTIFICATE', 'EXPIRES', 'RESIDUAL TIME', 'CERTIFICATE AUTHORITY', 'STATUS'], leafRows), '');
  const caRows = report.cas.map((r) => [[r.file], ...expiryCells(r, now), statusCell(r.problems)]);
  out.push(...table(['CERTIFICATE AUTHORITY', 'EXPIRES', 'RESIDUAL TIME', 'STATUS'], caRows), '');
  for (const kp of report.keyPairs) out.push(`key pair ${kp.keyFile} / ${kp.pubFile}: ${statusCell(kp.problems).join('; ')}`);
  if (report.encryption) {
    const e = report.encryption;
    out.push(`encryption ${e.file}: ${e.provider}, keys ${e.keys.join(', ') || 'none'} (the first encrypts): ${statusCell(e.problems).join('; ')}`);
  }
  if (report.copies.length) {
    const bad = report.copies.filter((c) => c.problems.length);
    out.push(`Copies in node trees: ${report.copies.length}, ${bad.length ? `${bad.length} with problems:` : 'all equal to their source'}`);
    for (const c of bad) out.push(...c.problems.map((p) => `  ${problemLine(p)}`));
  }
  if (report.files.length) {
    out.push('Other files:');
    for (const f of report.files) out.push(...f.problems.map((p) => `  ${problemLine(p)}`));
  }

  if (report.backups.length) {
    out.push('Backups (old files, keys among them, kept until you remove them):');
    for (const b of report.backups) out.push(...b.problems.map((p) => `  ${problemLine(p)}`));
  }

  if (report.users.length) {
    out.push('', 'User certificates (cannot be revoked: they live until they expire):');
    const rows = report.users.map((u) => [[u.name], [u.groups.join(',') || '-'], [u.serial], [expiresText(new Date(u.notAfter))], [shortDuration(new Date(u.notAfter), now)], statusCell(u.problems)]);
    out.push(...table(['USER', 'GROUPS', 'SERIAL', 'EXPIRES', 'RESIDUAL TIME', 'STATUS'], rows).map((l) => `  ${l}`), '');
  }

  const { recognised, missing, unknown } = report.catalog;
  const total = recognised.length + missing.length;
  const names = recognised.map((r) => (r.by === 'cn' ? `${r.name} (${r.file}, by CN)` : r.name));
  out.push(
    missing.length === 0 && recognised.every((r) => r.by === 'file')
      ? `All ${total} entries of the ${report.profile} catalog recognised by file name.`
      : `Recognised ${recognised.length} of ${total} entries of the ${report.profile} catalog: ${names.join(', ') || 'none'}`,
  );
  if (missing.length) out.push(`Missing: ${missing.map((m) => m.file).join(', ')}`);
  if (unknown.length) out.push(`Not in the catalog: ${unknown.join(', ')}`);
  const s = report.summary;
  out.push(
    report.result === 'ok'
      ? `All good: ${count(s.cas, 'CA')}, ${count(s.certificates, 'certificate')}, ${count(s.kubeconfigs, 'kubeconfig')}${s.notes ? ` (${count(s.notes, 'note')})` : ''}.`
      : `Problems found: ${count(s.errors, 'error')}, ${count(s.warnings, 'warning')}, ${count(s.notes, 'note')}.`,
  );
  return `${out.join('\n')}\n`;
}
