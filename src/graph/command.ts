import type { Cluster } from '../model/cluster.js';
import { EXIT } from '../errors.js';
import { dotText } from './dot.js';
import { mermaidText } from './mermaid.js';
import { hasProblems, pkiView } from './model.js';
import { treeText } from './tree.js';

/** Colour only on a terminal, and never when NO_COLOR is set (no-color.org) or the terminal is dumb. */
export const useColour = (stream: NodeJS.WriteStream) => !!stream.isTTY && !process.env.NO_COLOR && process.env.TERM !== 'dumb';

/** `kube-pki graph`: prints the view in the chosen format; the exit code says whether it shows problems. */
export async function graphCommand(cluster: Cluster, opts: { out: string; format: 'tree' | 'dot' | 'mermaid'; node?: string }): Promise<number> {
  const view = await pkiView(cluster, opts.out, opts.node === undefined ? {} : { node: opts.node });
  const text = opts.format === 'dot' ? dotText(view) : opts.format === 'mermaid' ? mermaidText(view) : treeText(view, { colour: useColour(process.stdout) });
  process.stdout.write(text);
  return hasProblems(view) ? EXIT.failed : EXIT.ok;
}
