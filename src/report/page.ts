import { shortDuration } from '../util/time.js';
import type { Problem } from '../model/problem.js';
import { KIND_TEXT, STATE_TEXT, expiryLong, folderText, problemText, reasonLines, shownProblems, subjectText } from '../graph/describe.js';
import { embedding, hasProblems, signedBy, subCas, type CertView, type KeyPairView, type KubeconfigView, type PkiView, type State } from '../graph/model.js';
import { summaryLine } from '../graph/tree.js';
import { diagramSvg } from './diagram.js';
import { anchor, html, type Markup } from './html.js';
import { matrixTable } from './matrix.js';
import { STYLES } from './styles.js';
import { timelineSvg } from './timeline.js';
import { plural } from '../util/words.js';

export interface PageInput {
  view: PkiView;
  /** `kube-pki explain` text per certificate instance name. */
  explain: Map<string, string>;
}

const badge = (state: State) => html`<span class="badge st-${state}">${STATE_TEXT[state]}</span>`;

function problemList(item: { staleReasons: string[]; problems: Problem[] }): Markup {
  const stale = item.staleReasons.map((r) => html`<li class="sev-warning">stale: ${r}</li>`);
  const shown = item.problems.filter((p) => !item.staleReasons.includes(p.message));
  const found = shown.map((p) => html`<li class="sev-${p.severity}"><span class="code">${p.code}</span> ${p.severity === 'error' ? '' : `${p.severity}: `}${p.message}</li>`);
  return stale.length + found.length ? html`<ul class="problems">${stale}${found}</ul>` : html``;
}

/** Where an item's files go: "master-1: ca.crt, ca.key". */
function placement(view: PkiView, owner: string): Markup {
  const per = view.nodes.map((n) => ({ node: n.name, files: n.files.filter((f) => f.owner === owner) })).filter((p) => p.files.length);
  const inside = embedding(view, owner).map((k) => k.path);
  if (!per.length) return html`<dd>no node receives it as a file${inside.length ? `; it travels inside ${inside.join(', ')}` : ''}</dd>`;
  return html`<dd><ul class="places">${per.map(
    (p) => html`<li><a href="#${anchor('node', p.node)}">${p.node}</a>: ${p.files.map((f, i) => html`${i ? ', ' : ''}<code>${f.remote}</code> <span class="mode">0${f.mode.toString(8)}</span>${f.state === 'missing' ? html` <span class="badge st-missing">missing</span>` : ''}`)}</li>`,
  )}</ul></dd>`;
}

function validity(c: { notBefore?: string | null; notAfter: string | null; days?: number; state: State }, now: Date): Markup {
  if (c.notAfter) {
    const left = new Date(c.notAfter) > now ? `${shortDuration(new Date(c.notAfter), now)} left` : 'expired';
    return html`<dd>${c.notBefore ? `${expiryLong(c.notBefore)} → ` : 'until '}<strong class="expiry">${expiryLong(c.notAfter)}</strong> (${left})</dd>`;
  }
  return html`<dd>${c.days ? `${plural(c.days, 'day')} from when gen makes it` : 'as its certificate'}${c.state === 'missing' ? ' (missing)' : ''}</dd>`;
}

function sans(c: CertView): Markup {
  const all = [...c.sans.dns.map((d) => `DNS:${d}`), ...c.sans.ip.map((i) => `IP:${i}`)];
  return all.length ? html`<dt>SANs</dt><dd class="sans">${all.map((s) => html`<code>${s}</code> `)}</dd>` : html``;
}

function kubeconfigBlock(k: KubeconfigView, view: PkiView, now: Date): Markup {
  return html`<section class="kc st-${k.state}" id="${anchor('kubeconfig', k.name)}"><h4><code>${k.path}</code> ${badge(k.state)} <span class="kind">kubeconfig</span></h4><dl><dt>Server</dt><dd><code>${k.server}</code></dd><dt>Valid</dt>${validity(k, now)}<dt>Goes to</dt>${placement(view, k.name)}</dl>${problemList(k)}</section>`;
}

function certCard(c: CertView, input: PageInput): Markup {
  const { view } = input;
  const now = new Date(view.now);
  const signer = c.ca ? view.cas.find((ca) => ca.name === c.ca) : undefined;
  const explain = input.explain.get(c.name);
  const isCa = c.kind === 'ca';
  return html`<article class="card st-${c.state}${isCa ? ' is-ca' : ''}" id="${anchor('cert', c.name)}">
<h3><code>${c.certPath}</code> ${badge(c.state)} <span class="kind">${isCa ? (signer ? 'intermediate certificate authority' : 'certificate authority') : KIND_TEXT[c.kind]}</span></h3>
<dl><dt>Subject</dt><dd>${subjectText(c)}</dd>
<dt>Signed by</dt><dd>${signer ? html`<a href="#${anchor('cert', signer.name)}">${signer.certPath}</a> (CN=${signer.cn})` : 'itself (a root CA)'}</dd>
${sans(c)}<dt>Valid</dt>${validity(c, now)}
<dt>Goes to</dt>${placement(view, c.name)}
${!isCa ? '' : html`<dt>Signs</dt><dd>${[...subCas(view, c.name), ...signedBy(view, c.name)].map((l, i) => html`${i ? ', ' : ''}<a href="#${anchor('cert', l.name)}">${l.certPath}</a>`)}</dd>`}</dl>
${problemList(c)}
${embedding(view, c.name).map((k) => kubeconfigBlock(k, view, now))}
${explain ? html`<details><summary>Explain ${c.name}: who uses it, why these names, how it is made</summary><pre>${explain}</pre></details>` : ''}
</article>`;
}

function keyPairCard(k: KeyPairView, view: PkiView): Markup {
  return html`<article class="card st-${k.state}" id="${anchor('keypair', k.name)}"><h3><code>${k.keyPath}</code> + <code>${k.pubPath}</code> ${badge(k.state)} <span class="kind">key pair</span></h3><dl><dt>What</dt><dd>a bare key pair, no certificate: the key signs service-account tokens, the public half verifies them</dd><dt>Goes to</dt>${placement(view, k.name)}</dl>${problemList(k)}</article>`;
}

/** Every item with something to fix, linked to where it is shown. */
function problemsSection(view: PkiView): Markup {
  const items: { href: string; title: string; state: State; lines: string[] }[] = [];
  const add = (href: string, title: string, item: { state: State; staleReasons: string[]; problems: Problem[] }) => {
    if (item.state === 'ok' || item.state === 'planned') return;
    items.push({ href, title, state: item.state, lines: reasonLines(item) });
  };
  for (const c of [...view.cas, ...view.certs]) add(anchor('cert', c.name), c.certPath, c);
  for (const k of view.kubeconfigs) add(anchor('kubeconfig', k.name), k.path, k);
  for (const k of view.keyPairs) add(anchor('keypair', k.name), k.keyPath, k);
  for (const n of view.nodes)
    for (const f of n.files.filter((f) => shownProblems(f.problems).length))
      items.push({ href: anchor('node', n.name), title: `${n.name}: ${f.remote}`, state: f.state, lines: shownProblems(f.problems).map(problemText) });
  for (const o of view.others.filter((o) => shownProblems(o.problems).length))
    items.push({ href: 'others', title: o.file, state: 'problem', lines: shownProblems(o.problems).map(problemText) });
  if (!items.length) return html``;
  return html`<section id="problems" class="problems-box"><h2>What to fix (${items.length})</h2><ul>${items.map(
    (i) => html`<li>${badge(i.state)} <a href="#${i.href}"><code>${i.title}</code></a>${i.lines.length ? html`<ul>${i.lines.map((l) => html`<li>${l}</li>`)}</ul>` : ''}</li>`,
  )}</ul></section>`;
}

function othersSection(view: PkiView): Markup {
  if (!view.others.length) return html``;
  return html`<section id="others"><h2>Other files in the folder</h2><p class="lead">Files check found that are not part of the ${view.profile} catalog.</p><ul class="others">${view.others.map(
    (o) => html`<li><code>${o.file}</code><ul>${o.problems.map((p) => html`<li class="sev-${p.severity}">${problemText(p)}</li>`)}</ul></li>`,
  )}</ul></section>`;
}

function headline(view: PkiView): Markup {
  if (view.folder !== 'present') return html`<p class="verdict st-planned">Planned: nothing generated in <code>${view.out}</code> yet. This is what <code>kube-pki gen</code> will make and where <code>kube-pki distribute</code> will put it.</p>`;
  if (hasProblems(view)) return html`<p class="verdict st-problem">Problems found: see <a href="#problems">what to fix</a>.</p>`;
  return html`<p class="verdict st-ok">All good: every certificate, key and kubeconfig is there and matches the description.</p>`;
}

function firstExpiry(view: PkiView): Markup {
  const dated = [...view.cas, ...view.certs].filter((c) => c.notAfter).sort((a, b) => a.notAfter!.localeCompare(b.notAfter!));
  const first = dated[0];
  if (!first) return html``;
  return html`<p class="lead">First to expire: <a href="#${anchor('cert', first.name)}"><code>${first.certPath}</code></a> on <strong>${expiryLong(first.notAfter!)}</strong> (${shortDuration(new Date(first.notAfter!), new Date(view.now))}).</p>`;
}

const LEGEND = html`<ul class="legend"><li><span class="swatch st-ok"></span>on disk, matches</li><li><span class="swatch st-planned"></span>planned</li><li><span class="swatch st-missing"></span>missing</li><li><span class="swatch st-stale"></span>stale (gen --force re-issues)</li><li><span class="swatch st-problem"></span>problem</li><li><span class="line signs"></span>signs</li><li><span class="line embeds"></span>embedded in</li></ul>`;

const TIMELINE_LEGEND = html`<ul class="legend"><li><span class="swatch r-good"></span>more than 90 days left</li><li><span class="swatch r-soon"></span>under 90 days</li><li><span class="swatch r-warn"></span>within the warning days</li><li><span class="swatch r-expired"></span>expired</li><li><span class="swatch r-planned"></span>planned</li></ul>`;

/** The whole page: one file, inline CSS and SVG, no script, nothing fetched. */
export function reportPage(input: PageInput): string {
  const { view } = input;
  const title = `kube-pki report: ${view.profile} PKI of ${view.source}`;
  const body = html`<header class="top"><h1>PKI report <span class="sub">profile ${view.profile}</span></h1>
<p class="meta">Description <code>${view.source}</code> · ${folderText(view)} · made ${view.now.replace('T', ' ').slice(0, 16)} UTC by <code>kube-pki report</code></p>
${headline(view)}<p class="lead">${summaryLine(view)}</p>${firstExpiry(view)}
<nav><a href="#diagram">Diagram</a><a href="#timeline">Expiry</a><a href="#nodes">Nodes × files</a><a href="#certificates">Certificates</a>${view.others.length ? html`<a href="#others">Other files</a>` : ''}</nav></header>
<main>${problemsSection(view)}
<section id="diagram"><h2>Who signs what</h2><p class="lead">Each certificate authority on the left signs the certificates in the middle; a kubeconfig on the right embeds a client certificate, its key and the CA.${view.cas.some((c) => c.ca) ? ' The root CA, leftmost, signs the certificate authorities.' : ''} Select a box for its details.</p>${LEGEND}<div class="scroll">${diagramSvg(view)}</div></section>
<section id="timeline"><h2>When they expire</h2><p class="lead">One bar per CA and certificate, from its start to its end of validity, soonest to expire first. The line is today.</p>${TIMELINE_LEGEND}<div class="scroll">${timelineSvg(view)}</div></section>
<section id="nodes"><h2>Which node gets which file</h2><p class="lead">What <code>kube-pki distribute</code> puts on each node, with the file's mode; <span class="tag key">key</span> marks a private key, <span class="tag cakey">CA key</span> a CA's private key (control-plane nodes only).</p><div class="scroll">${matrixTable(view)}</div></section>
<section id="certificates"><h2>Certificates</h2><p class="lead">Grouped by the CA that signs them. Open “Explain” for what <code>kube-pki explain</code> says: who uses it, why its names, the openssl commands and openssl.cnf.</p>
${view.cas.map((ca) => html`<div class="group">${certCard(ca, input)}${signedBy(view, ca.name).map((c) => certCard(c, input))}</div>`)}
${view.keyPairs.map((k) => keyPairCard(k, view))}</section>
${othersSection(view)}</main>
<footer><p>Made by <code>kube-pki report --html</code>. The same data as <code>kube-pki check</code>, <code>explain</code> and <code>distribute --dry-run</code>.</p></footer>`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="kube-pki report">
<meta name="color-scheme" content="light dark">
<title>${html`${title}`}</title>
<style>${STYLES}</style>
</head>
<body>
${body}
</body>
</html>
`;
}
