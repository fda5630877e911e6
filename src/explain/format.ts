import { expiresText } from '../util/time.js';
import type { ExplainReport } from './explain.js';
import { tokenKeyLines } from './token-key.js';
import { plural } from '../util/words.js';

const KIND_TEXT = { ca: 'certificate authority', server: 'server certificate', client: 'client certificate', 'server-client': 'server and client certificate' };

function rows(items: [string, string][], indent = '  '): string[] {
  const width = Math.max(0, ...items.map(([a]) => a.length));
  return items.map(([a, b]) => `${indent}${a.padEnd(width)}  ${b}`.trimEnd());
}

export function explainText(r: ExplainReport): string {
  const out: string[] = [];
  const signer = r.signedBy ? `signed by ${r.signedBy}` : 'self-signed';
  out.push(`${r.name}: ${KIND_TEXT[r.kind]}, ${signer}, valid ${plural(r.validityDays, 'day')} (catalog entry ${r.catalogId}, profile ${r.profile})`);
  if (r.siblings.length) out.push(`One per node: also ${r.siblings.join(', ')}.`);
  out.push('', 'WHO USES IT AND FOR WHAT', `  ${r.purpose}`);
  if (r.caution) out.push('', 'TAKE CARE', `  ${r.caution}`);
  if (r.topology) out.push('', 'THE ROOT CA AND ITS INTERMEDIATES', ...r.topology.map((l) => `  ${l}`));
  out.push(...rows(r.usedBy.map((u) => [u.component, `${u.flag} ${u.file}${u.nodes.length ? `  (on ${u.nodes.join(', ')})` : ''}`])));

  out.push('', `SUBJECT  ${[`CN=${r.subject.cn}`, ...r.subject.o.map((o) => `O=${o}`)].join(', ')}`, `  ${r.subject.why}`);
  out.push(...rows(r.subject.values.filter((v) => v.meaning).map((v) => [`${v.field}=${v.value}`, v.meaning!])));

  out.push('', 'SUBJECT ALTERNATIVE NAMES');
  if (r.sans.entries.length === 0) out.push('  none: a client certificate is checked by its CA, CN and O, not by names');
  else {
    if (r.sans.why) out.push(`  ${r.sans.why}`);
    out.push(...rows(r.sans.entries.map((s) => [`${s.type}:${s.value}`, s.reason])));
  }

  out.push('', 'USAGES', `  basicConstraints  ${r.usages.basicConstraints}`);
  out.push(`  keyUsage          critical, ${r.usages.keyUsage.map((u) => u.value).join(', ')}`);
  out.push(...rows(r.usages.keyUsage.map((u) => [u.value, u.meaning ?? '']), '    '));
  if (r.usages.extendedKeyUsage.length) {
    out.push(`  extendedKeyUsage  ${r.usages.extendedKeyUsage.map((u) => u.value).join(', ')}`);
    out.push(...rows(r.usages.extendedKeyUsage.map((u) => [u.value, u.meaning ?? '']), '    '));
  }

  out.push('', 'FILES');
  const fileLines = rows(r.files.map((f) => [`${f.path} (${f.mode})`, `${f.what}${f.nodes.length ? `; goes to ${f.nodes.join(', ')}` : ''}`]));
  // Then where it lands on each node; in node trees, the copy that is sent there.
  r.files.forEach((f, i) => {
    out.push(fileLines[i]!, ...rows(f.onNodes.map((l) => [`${l.node}:`, `${l.remotePath}${l.file === f.path ? '' : `  (sent from ${l.file})`}`]), '    '));
  });
  if (r.onDisk) out.push(`  now in the PKI folder: serial ${r.onDisk.serial}, expires ${expiresText(new Date(r.onDisk.notAfter))}`);

  if (r.tokenKey) out.push('', 'TOKEN KEY ROTATION', ...tokenKeyLines(r.tokenKey));

  out.push('', 'HOW IT IS MADE (kube-pki runs these; `kube-pki script` prints them all)');
  out.push(...r.commands.map((c, i) => `  ${i + 1}. ${c}`));
  out.push(`  ${r.cnf.file}:`, ...r.cnf.content.trimEnd().split('\n').map((l) => `    ${l}`));
  return `${out.join('\n')}\n`;
}
