import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

/**
 * A file shipped with kube-pki (templates/…), found from wherever this code runs: src/ under
 * vitest, the dist/ bundle, or an installed package.
 */
export function projectFile(relative: string): string {
  if (!root) {
    let dir = dirname(fileURLToPath(import.meta.url));
    while (!existsSync(join(dir, 'package.json')) || !existsSync(join(dir, 'templates'))) {
      const parent = dirname(dir);
      if (parent === dir) throw new Error('kube-pki: cannot find its templates folder');
      dir = parent;
    }
    root = dir;
  }
  return join(root, relative);
}
