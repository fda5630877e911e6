import { existsSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers/cli.js';

// The documentation is read from the repository alone (a clone, the npm tarball's README): every file
// it points to by a relative path is part of the repository, never a folder beside it.

async function markdownFiles(): Promise<string[]> {
  const docs = (await readdir(join(ROOT, 'docs'))).filter((f) => f.endsWith('.md')).map((f) => join(ROOT, 'docs', f));
  return [join(ROOT, 'README.md'), ...docs];
}

/** Relative targets: Markdown links and images, and any path that starts with ../ (in backticks or not). */
function relativeTargets(text: string): string[] {
  const links = [...text.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!).filter((t) => !/^([a-z]+:|#)/i.test(t));
  const parents = [...text.matchAll(/(?:^|[\s`("'])(\.\.\/[^\s`)"',]+)/g)].map((m) => m[1]!);
  return [...new Set([...links, ...parents].map((t) => t.replace(/#.*$/, '')))];
}

describe('documentation links', () => {
  it('README.md and docs/*.md point only to files inside the repository that exist', async () => {
    const broken: string[] = [];
    for (const file of await markdownFiles()) {
      for (const target of relativeTargets(await readFile(file, 'utf8'))) {
        const path = resolve(dirname(file), target);
        const inside = !relative(ROOT, path).startsWith('..');
        if (!inside || !existsSync(path)) broken.push(`${relative(ROOT, file)}: ${target}${inside ? ' (missing)' : ' (outside the repository)'}`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('sees a path that leaves the repository (the check itself)', () => {
    expect(relativeTargets('sources: `../shared/spec/rotation.md`. ![x](docs/report-lab.png) [y](https://k8s.io) [z](#tests)')).toEqual([
      'docs/report-lab.png',
      '../shared/spec/rotation.md',
    ]);
  });
});
