import { graphModel, type Edge, type Vertex, type VertexKind } from './ids.js';
import type { PkiView, State } from './model.js';

/**
 * A DOT string: backslash and double quote escaped, line breaks as \n (labels read \n, \l, \N … as
 * escapes, so a backslash must be doubled). Every ID and label goes through it.
 */
export const dotString = (text: string) => `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\r?\n/g, '\\n')}"`;

const label = (lines: string[]) => `"${lines.map((l) => dotString(l).slice(1, -1)).join('\\n')}"`;

const SHAPE: Record<VertexKind, string> = {
  ca: 'shape=box, style="rounded,filled,bold", penwidth=2',
  cert: 'shape=box, style="rounded,filled"',
  kubeconfig: 'shape=note, style=filled',
  keypair: 'shape=box, style="filled,diagonals"',
  files: 'shape=tab, style=filled, fontsize=10',
};

/** Fill and border by state; missing and planned are dashed (not there). */
const STATE_STYLE: Record<State, { fill: string; color: string; dashed: boolean }> = {
  planned: { fill: '#f4f4f5', color: '#71717a', dashed: true },
  ok: { fill: '#ecfdf5', color: '#059669', dashed: false },
  missing: { fill: '#fef2f2', color: '#dc2626', dashed: true },
  stale: { fill: '#fffbeb', color: '#d97706', dashed: false },
  problem: { fill: '#fef2f2', color: '#dc2626', dashed: false },
};

function vertex(v: Vertex, indent: string): string {
  const s = STATE_STYLE[v.state];
  const fill = v.kind === 'ca' && v.state === 'ok' ? '#fefce8' : s.fill;
  let attrs = SHAPE[v.kind];
  if (s.dashed) attrs = attrs.replace(/style="?([a-z,]+)"?/, (_m, styles: string) => `style="${styles},dashed"`);
  return `${indent}${dotString(v.id)} [label=${label(v.lines)}, ${attrs}, fillcolor=${dotString(fill)}, color=${dotString(s.color)}];`;
}

const EDGE_STYLE: Record<Edge['kind'], string> = {
  signs: 'color="#2563eb", penwidth=1.5',
  embeds: 'style=dotted, color="#7c3aed", arrowhead=odiamond',
  placed: 'style=dashed, color="#9ca3af", arrowsize=0.6',
};

/** The Graphviz view: CAs sign certificates, kubeconfigs embed them, each node's cluster holds the files it receives. */
export function dotText(view: PkiView): string {
  const model = graphModel(view);
  const out = [
    `digraph ${dotString(`kube-pki ${view.profile}`)} {`,
    `  graph [rankdir=LR, fontname="Helvetica", fontsize=11, nodesep=0.25, ranksep=1.1, label=${dotString(`PKI of ${view.source} (profile ${view.profile})${view.node ? `, what ${view.node} holds` : ''}`)}, labelloc=t];`,
    '  node [fontname="Helvetica", fontsize=11];',
    '  edge [fontname="Helvetica", fontsize=9];',
  ];
  for (const v of model.vertices) out.push(vertex(v, '  '));
  for (const g of model.groups) {
    out.push(`  subgraph ${dotString(`cluster_${g.id}`)} {`);
    out.push(`    label=${dotString(g.title)}; style="rounded"; color="#64748b";`);
    for (const v of g.vertices) out.push(vertex(v, '    '));
    out.push('  }');
  }
  for (const e of model.edges) out.push(`  ${dotString(e.from)} -> ${dotString(e.to)} [${EDGE_STYLE[e.kind]}];`);
  out.push('}');
  return `${out.join('\n')}\n`;
}
