import { normalize } from 'node:path';

export interface Matched<I, F> {
  instance: I | null;
  /** null: a catalog entry whose file was not found. */
  file: F | null;
  by: 'file' | 'cn' | null;
}

/**
 * Ties files to catalog entries: by path first, then (for files named differently, e.g. by hand) by
 * CN, when exactly one entry left and one file left share that CN. Returns every entry and file once,
 * in catalog order, then the files no entry describes.
 */
export function matchFiles<I, F>(
  instances: readonly I[],
  files: readonly F[],
  key: { instancePath: (i: I) => string; filePath: (f: F) => string; instanceCn: (i: I) => string; fileCn: (f: F) => string | null },
): Matched<I, F>[] {
  const byPath = new Map(files.map((f) => [normalize(key.filePath(f)), f]));
  const taken = new Set<F>();
  const found = new Map<I, { file: F; by: 'file' | 'cn' }>();
  for (const i of instances) {
    const f = byPath.get(normalize(key.instancePath(i)));
    if (f) {
      found.set(i, { file: f, by: 'file' });
      taken.add(f);
    }
  }
  const left = instances.filter((i) => !found.has(i));
  for (const i of left) {
    const cn = key.instanceCn(i);
    const sameCn = left.filter((o) => key.instanceCn(o) === cn);
    const files = [...byPath.values()].filter((f) => !taken.has(f) && key.fileCn(f) === cn);
    if (sameCn.length === 1 && files.length === 1) {
      found.set(i, { file: files[0]!, by: 'cn' });
      taken.add(files[0]!);
    }
  }
  return [
    ...instances.map((i) => ({ instance: i, file: found.get(i)?.file ?? null, by: found.get(i)?.by ?? null })),
    ...files.filter((f) => !taken.has(f)).map((f) => ({ instance: null, file: f, by: null })),
  ];
}
