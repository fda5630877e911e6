import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from './helpers/cli.js';
import { cruise, describeProblems, roomCycles, unresolved } from './helpers/layering.js';

// One-way streets (docs/architecture.md): no import cycle between the rooms of src/, and every
// arrow points down the order that .dependency-cruiser.cjs lists.

describe('layering of src/', () => {
  it('has no cycle between rooms and no import against the order of the rooms', async () => {
    const result = await cruise();
    expect(result.modules.length).toBeGreaterThan(50);
    expect(describeProblems(result)).toBe('');
    expect(roomCycles(result)).toEqual([]);
    expect(result.summary.violations).toEqual([]);
    expect(unresolved(result)).toEqual([]);
  });

  it('names the rooms and the files of a cycle, type-only imports included', async () => {
    // A copy of the kind of cycle issue 12 removed: the bottom room taking a type from the planner.
    const { dir, cleanup } = await tempDir('kube-pki-layering-');
    try {
      await mkdir(join(dir, 'src', 'model'), { recursive: true });
      await mkdir(join(dir, 'src', 'plan'), { recursive: true });
      await writeFile(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', strict: true }, include: ['src'] }));
      await writeFile(join(dir, 'src', 'model', 'steps.ts'), "import type { Plan } from '../plan/plan.js';\nexport type Steps = Plan[];\n");
      await writeFile(join(dir, 'src', 'plan', 'plan.ts'), "import type { Steps } from '../model/steps.js';\nexport interface Plan { steps?: Steps }\n");
      const result = await cruise(dir);
      expect(roomCycles(result)).toEqual([
        { rooms: ['src/model', 'src/plan', 'src/model'], imports: ['src/model/steps.ts imports src/plan/plan.ts (type only)', 'src/plan/plan.ts imports src/model/steps.ts (type only)'] },
      ]);
      expect(result.summary.violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`).sort()).toEqual([
        'down-only:model: src/model/steps.ts → src/plan/plan.ts',
        'no-circular: src/model/steps.ts → src/plan/plan.ts',
      ]);
      expect(describeProblems(result)).toContain('rooms in a cycle: src/model → src/plan → src/model');
    } finally {
      await cleanup();
    }
  });
});
