import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { genPki, labCluster } from './check-fixtures.js';
import { kubePki, tempDir } from './helpers/cli.js';
import { KUBEADM_YAML } from './helpers/rotation.js';

// The rule of issue 22, item 6: at no moment between phases may a file that the current or the previous
// phase's flags name be missing on a node. A node's tree (kubeadm layout) is what distribution sends
// it; `kube-pki flags --dir TREE` prints the flags for the phase that tree is in. Before and after
// every phase (finish and both aborts included) every file either set of flags names is there.

const TREES = ['cp-1', 'cp-2', 'worker-1'];
const STEPS = [['start'], ['reissue'], ['finish'], ['start'], ['abort'], ['start'], ['reissue'], ['abort'], ['abort']];

describe('rotate-ca never removes a file a flag names, before or after a phase', () => {
  let dir: string;
  let config: string;
  let pki: string;
  let cleanup: () => Promise<void>;

  /** Every path the flags of every component name in one tree, as the tree is now. */
  const flagPaths = async (tree: string): Promise<string[]> => {
    const r = await kubePki(['flags', '--config', config, '--dir', join(pki, tree), '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    // A worker runs the kubelet only; `flags` lists every component.
    const runs = (component: string) => !tree.startsWith('worker') || component === 'kubelet';
    // Entries with `value` (a duration, a KubeletConfiguration field) name no file.
    return Object.entries(JSON.parse(r.stdout) as Record<string, { path?: string }[]>).flatMap(([component, flags]) =>
      runs(component) ? flags.flatMap((f) => (f.path ? [f.path] : [])) : [],
    );
  };

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    ({ config } = await labCluster(dir, KUBEADM_YAML));
    pki = await genPki(dir, config);
  }, 60_000);
  afterAll(() => cleanup());

  it(`through ${STEPS.map((s) => s[0]).join(', ')}`, async () => {
    let bundleNamed = false;
    for (const step of STEPS) {
      const before = await Promise.all(TREES.map(flagPaths));
      const r = await kubePki(['rotate-ca', ...step, '--config', config, '--out', pki]);
      expect(r.exitCode, `${step.join(' ')}: ${r.stdout}\n${r.stderr}`).toBe(0);
      const after = await Promise.all(TREES.map(flagPaths));
      const named = [...new Set([...before.flat(), ...after.flat()])];
      bundleNamed ||= named.some((p) => p.endsWith('ca-bundle.crt'));
      expect(named.filter((p) => !existsSync(p)), `after ${step.join(' ')}`).toEqual([]);
    }
    expect(bundleNamed).toBe(true); // the overlap's flags were among those checked
  }, 240_000);
});
