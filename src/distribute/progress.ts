import { Listr, type ListrTask } from 'listr2';
import { plainOutput } from '../tasks/progress.js';
import { NODE_FAILED, type FileOutcome } from './node.js';

/** What the progress view shows of one node: its files (may be none) and its end. */
export interface NodeView {
  name: string;
  title: string;
  files: { label: string; outcome: Promise<FileOutcome> }[];
  done: Promise<{ ok: boolean; summary: string }>;
  /** Set by the view: shows a passing state of the node (a retry). */
  onStatus?: (line: string) => void;
}

/** A promise and its resolve: the work settles it, the view waits on it. */
export function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** A file not sent because its node failed: the node's line tells why, once. */
const nodeFailed = (o: FileOutcome) => o.action === 'not-sent' && o.reason === NODE_FAILED;

export const describeOutcome = (o: FileOutcome) =>
  o.action === 'skipped' ? 'skipped (identical on the node)' : `${o.action.replace('-', ' ')}${o.reason ? ` (${o.reason})` : ''}`;

/** TTY: listr2, one task per node with a subtask per file. Otherwise one line per event. */
export async function showNodes(views: NodeView[], options: { silent: boolean }): Promise<void> {
  if (options.silent) {
    await Promise.all(views.map((v) => v.done));
    return;
  }
  if (plainOutput()) return plainLines(views);
  const tasks: ListrTask[] = views.map((v) => ({
    title: v.title,
    task: (_ctx, task) => {
      v.onStatus = (line) => (task.title = `${v.title}: ${line}`);
      return task.newListr(
        [
          ...v.files.map(
            (f): ListrTask => ({
              title: f.label,
              task: async (_c, t) => {
                const o = await f.outcome;
                t.title = `${f.label}: ${describeOutcome(o)}`;
                if (nodeFailed(o)) return;
                if (o.action === 'failed' || o.action === 'not-sent') throw new Error(`${f.label}: ${describeOutcome(o)}`);
              },
            }),
          ),
          {
            task: async () => {
              const d = await v.done;
              task.title = `${v.name}: ${d.summary}`;
              if (!d.ok) throw new Error(d.summary);
            },
          },
        ],
        { concurrent: true, exitOnError: false },
      );
    },
  }));
  const list = new Listr(tasks, {
    concurrent: true,
    exitOnError: false,
    renderer: 'default',
    rendererOptions: { collapseSubtasks: true, collapseErrors: false },
    collectErrors: false,
  });
  await list.run().catch(() => undefined);
}

async function plainLines(views: NodeView[]): Promise<void> {
  const say = (line: string) => process.stdout.write(`${line}\n`);
  await Promise.all(
    views.map(async (v) => {
      v.onStatus = (line) => say(`${v.name}: ${line}`);
      await Promise.all(
        v.files.map(async (f) => {
          const o = await f.outcome;
          if (!nodeFailed(o)) say(`${v.name}: ${f.label}: ${describeOutcome(o)}`);
        }),
      );
      const d = await v.done;
      say(`${v.name}: ${d.summary}`);
    }),
  );
}
