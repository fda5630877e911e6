import { newPair, readSaSnapshot, saFiles, saRotation } from '../inspect/sa-rotation.js';
import type { Instances } from '../model/instances.js';
import { problem } from '../model/problem.js';
import { statusOf, type FileRow } from './report.js';

// check's view of a service-account key rotation (rotate-sa): the new pair beside the current one is
// the rotation's, not a stray key; a copy of the current pair left by finish is worth a note.

export interface SaRotationView {
  rows: FileRow[];
  /** Files of the rotation: not "outside the catalog", not stray keys. */
  paths: Set<string>;
}

export async function saRotationRows(instances: Instances, outDir: string): Promise<SaRotationView> {
  const files = saFiles(instances);
  if (!files) return { rows: [], paths: new Set() };
  const snap = await readSaSnapshot(outDir, files, { unusableAsAbsent: true });
  const r = saRotation(files, snap);
  const pairs = [files.next, ...files.copies.map((c) => newPair(c.current))];
  const present = pairs.flatMap((p) => [p.key, p.pub]).filter((p) => !!snap.get(p));
  const catalog = `${files.name} (rotate-sa)`;
  const rows: FileRow[] = [];
  if (r.broken) rows.push({ file: '.kube-pki-rotate-sa.json', catalog, status: 'warning', problems: [problem('warning', 'sa-rotation-broken', r.broken)] });
  for (const file of present) {
    const p =
      r.state !== 'none'
        ? problem('note', 'sa-rotation', `${file}: the new service-account key pair of the rotation under way (rotate-sa phase ${r.state}; kube-pki rotate-sa status says what next)`)
        : r.retired
          ? problem('note', 'sa-rotation-retired', `${file}: a copy of the current service-account pair left by rotate-sa finish: delete it (and run kube-pki distribute) once every apiserver and controller manager runs with the flags kube-pki flags prints`)
          : problem('warning', 'sa-rotation-leftover', `${file}: a service-account key pair that is neither the current one nor a rotation's (no .kube-pki-rotate-sa.json): remove it; kube-pki rotate-sa start backs it up and makes a fresh pair`);
    rows.push({ file, catalog, status: statusOf([p]), problems: [p] });
  }
  return { rows, paths: new Set(present) };
}
