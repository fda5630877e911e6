import { graphModel, type Edge, type Vertex, type VertexKind } from './ids.js';
import type { PkiView, State } from './model.js';

/**
 * Text inside a quoted Mermaid label: quotes, angle brackets, ampersands, # and backticks as Mermaid
 * entity codes (#quot; …), so no value can end the label, open HTML or a Markdown string.
 */
export function mermaidLabel(text: string): string {
  return text.replace(/[#"<>&`]/g, (c) => `#${c.charCodeAt(0)};`);
}

/** Mermaid IDs: letters, digits and underscores only; a clash after sanitizing gets a counter. */
function idMaker(): (id: string) => string {
  const given = new Map<string, string>();
  const used = new Set<string>();
  return (id) => {
    const known = given.get(id);
    if (known) return known;
    const base = id.replace(/[^A-Za-z0-9]+/g, '_').replace(/_+$/, '') || 'v';
    let out = base;
    for (let n = 2; used.has(out); n++) out = `${base}_${n}`;
    used.add(out);
    given.set(id, out);
    return out;
  };
}

const SHAPE: Record<VertexKind, [string, string]> = {
  ca: ['(["', '"])'],
  cert: ['["', '"]'],
  kubeconfig: ['("', '")'],
  keypair: ['["', '"]'],
  files: ['["', '"]'],
};

const CLASSES: Record<State | 'ca', string> = {
  planned: 'fill:#f4f4f5,stroke:#71717a,stroke-dasharray:4 3,color:#18181b',
  ok: 'fill:#ecfdf5,stroke:#059669,color:#064e3b',
  missing: 'fill:#fef2f2,stroke:#dc2626,stroke-dasharray:4 3,color:#7f1d1d',
  stale: 'fill:#fffbeb,stroke:#d97706,color:#78350f',
  problem: 'fill:#fef2f2,stroke:#dc2626,color:#7f1d1d',
  ca: 'stroke-width:3px',
};

const ARROW: Record<Edge['kind'], string> = { signs: '-->|signs|', embeds: '-.->|embedded in|', placed: '-.->' };

/** A Mermaid `flowchart` (GitHub renders it in Markdown): the same vertices and edges as dot. */
export function mermaidText(view: PkiView): string {
  const model = graphModel(view);
  const id = idMaker();
  const vertex = (v: Vertex) => {
    const [open, close] = SHAPE[v.kind];
    return `${id(v.id)}${open}${v.lines.map(mermaidLabel).join('<br/>')}${close}`;
  };
  const out = ['flowchart LR'];
  for (const v of model.vertices) out.push(`  ${vertex(v)}`);
  for (const g of model.groups) {
    out.push(`  subgraph ${id(g.id)}["${mermaidLabel(g.title)}"]`, '    direction TB');
    for (const v of g.vertices) out.push(`    ${vertex(v)}`);
    out.push('  end');
  }
  for (const e of model.edges) out.push(`  ${id(e.from)} ${ARROW[e.kind]} ${id(e.to)}`);
  for (const [name, style] of Object.entries(CLASSES)) out.push(`  classDef ${name} ${style}`);
  const all = [...model.vertices, ...model.groups.flatMap((g) => g.vertices)];
  for (const state of ['planned', 'ok', 'missing', 'stale', 'problem'] as const) {
    const ids = all.filter((v) => v.state === state).map((v) => id(v.id));
    if (ids.length) out.push(`  class ${ids.join(',')} ${state}`);
  }
  const cas = model.vertices.filter((v) => v.kind === 'ca').map((v) => id(v.id));
  if (cas.length) out.push(`  class ${cas.join(',')} ca`);
  return `${out.join('\n')}\n`;
}
