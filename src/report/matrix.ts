import { STATE_TEXT, fileWhat, problemText, shownProblems } from '../graph/describe.js';
import type { NodeFile, PkiView } from '../graph/model.js';
import { anchor, html, type Markup } from './html.js';

// Which node gets which file: one row per path on the nodes, one column per node; a cell gives the
// mode, whether it is a private key (a CA's key stands out) and its state.

function cell(f: NodeFile | undefined): Markup {
  if (!f) return html`<td class="none" title="not sent to this node">–</td>`;
  const tip = [`${f.local} → ${f.remote}`, `mode 0${f.mode.toString(8)}`, STATE_TEXT[f.state], ...shownProblems(f.problems).map(problemText)].join('\n');
  const key = f.caKey ? html` <span class="tag cakey">CA key</span>` : f.part === 'key' ? html` <span class="tag key">key</span>` : '';
  const state = f.state === 'ok' || f.state === 'planned' ? '' : html`<span class="cell-state">${STATE_TEXT[f.state]}</span>`;
  const problems = shownProblems(f.problems).map((p) => html`<span class="cell-problem">${problemText(p)}</span>`);
  return html`<td class="file st-${f.state}" title="${tip}"><span class="mode">0${f.mode.toString(8)}</span>${key}${state}${problems}</td>`;
}

export function matrixTable(view: PkiView): Markup {
  const paths = new Map<string, NodeFile>();
  for (const n of view.nodes) for (const f of n.files) if (!paths.has(f.remote)) paths.set(f.remote, f);
  const rows = [...paths.keys()].sort((a, b) => a.localeCompare(b));
  const counts = view.nodes.map((n) => n.files.length);
  return html`<table class="matrix"><thead><tr><th scope="col">file on the node</th><th scope="col">what</th>${view.nodes.map(
    (n, i) => html`<th scope="col" id="${anchor('node', n.name)}"><span class="node-name">${n.name}</span><span class="node-meta">${n.role} · ${n.address}</span><span class="node-meta">${counts[i]} file${counts[i] === 1 ? '' : 's'}</span></th>`,
  )}</tr></thead><tbody>${rows.map((remote) => {
    const sample = paths.get(remote)!;
    return html`<tr><th scope="row"><code>${remote}</code></th><td class="what"><a href="#${ownerAnchor(view, sample.owner)}">${fileWhat(sample, view)}</a></td>${view.nodes.map((n) => cell(n.files.find((f) => f.remote === remote)))}</tr>`;
  })}</tbody></table>`;
}

/** The card a file belongs to: its certificate, key pair or kubeconfig. */
export function ownerAnchor(view: PkiView, owner: string): string {
  if (view.kubeconfigs.some((k) => k.name === owner)) return anchor('kubeconfig', owner);
  if (view.keyPairs.some((k) => k.name === owner)) return anchor('keypair', owner);
  return anchor('cert', owner);
}
