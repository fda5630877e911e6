import type { ListrTask } from 'listr2';
import type { ItemGroup, Plan, PlanItem } from '../model/steps.js';

const GROUP_TITLES: [ItemGroup, string][] = [
  ['ca', 'Certificate authorities'],
  ['cert', 'Certificates'],
  ['keypair', 'Key pairs'],
  ['kubeconfig', 'Kubeconfigs'],
];

export const plainOutput = () => !process.stdout.isTTY || !!process.env.CI;

export function describeItem(item: PlanItem): string {
  const verb = { create: 'created', reissue: 're-issued', keep: 'kept', stale: 'STALE' }[item.action];
  return item.action === 'keep' ? verb : `${verb} (${item.reasons.join('; ')})`;
}

/**
 * The progress view: listr2 tasks, one per item, grouped CA → leaves → key pairs → kubeconfigs.
 * The work itself is already running (see startPlan); each task waits for its item's promise.
 */
export async function showProgress(plan: Plan, running: Map<string, Promise<void>>, options: { silent: boolean }): Promise<void> {
  if (options.silent) return;
  if (plainOutput()) return plainLines(plan, running);
  // listr2 is only loaded for a terminal: logs and CI runs do not pay for it.
  const { Listr } = await import('listr2');
  const groups: ListrTask[] = GROUP_TITLES.flatMap(([group, title]) => {
    const items = plan.items.filter((i) => i.group === group);
    if (items.length === 0) return [];
    return [
      {
        title,
        task: (_ctx, task) =>
          task.newListr(
            items.map((item) => ({
              title: item.name,
              task: async (_c, t) => {
                await running.get(item.name);
                t.title = `${item.name}: ${describeItem(item)}`;
                // Left as it is although it no longer matches: shown as skipped, not as done.
                if (item.action === 'stale') t.skip(t.title);
              },
            })),
            { concurrent: true, exitOnError: false },
          ),
      },
    ];
  });
  const list = new Listr(groups, {
    exitOnError: false,
    renderer: 'default',
    rendererOptions: { collapseSubtasks: false },
    collectErrors: false,
  });
  await list.run().catch(() => undefined);
}

/** Logs and CI: one line per item as it finishes, nothing that redraws. */
async function plainLines(plan: Plan, running: Map<string, Promise<void>>): Promise<void> {
  await Promise.all(
    plan.items.map(async (item) => {
      try {
        await running.get(item.name);
        process.stdout.write(`${item.name}: ${describeItem(item)}\n`);
      } catch (err) {
        process.stdout.write(`${item.name}: FAILED: ${(err as Error).message}\n`);
      }
    }),
  );
}
