/**
 * The report's only stylesheet, inline: system fonts, colours as custom properties with a dark
 * scheme (prefers-color-scheme) and a print sheet. Nothing is loaded from anywhere.
 */
export const STYLES = `
:root {
  --bg: #f8fafc; --fg: #0f172a; --muted: #475569; --card: #ffffff; --line: #e2e8f0; --accent: #2563eb;
  --ok: #059669; --ok-bg: #ecfdf5; --planned: #64748b; --planned-bg: #f1f5f9;
  --missing: #dc2626; --missing-bg: #fef2f2; --stale: #d97706; --stale-bg: #fffbeb;
  --problem: #dc2626; --problem-bg: #fef2f2; --ca-bg: #fefce8; --embeds: #7c3aed;
  --r-good: #10b981; --r-soon: #eab308; --r-warn: #f97316; --r-expired: #dc2626; --r-planned: #94a3b8;
  --mono: ui-monospace, SFMono-Regular, "DejaVu Sans Mono", Menlo, Consolas, monospace;
  color-scheme: light dark;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #0b1120; --fg: #e2e8f0; --muted: #94a3b8; --card: #111827; --line: #1f2937; --accent: #60a5fa;
    --ok: #34d399; --ok-bg: #052e24; --planned: #94a3b8; --planned-bg: #1e293b;
    --missing: #f87171; --missing-bg: #3b0d0d; --stale: #fbbf24; --stale-bg: #3a2a05;
    --problem: #f87171; --problem-bg: #3b0d0d; --ca-bg: #2a2606; --embeds: #a78bfa;
    --r-planned: #64748b;
  }
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg); font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; }
code, pre { font-family: var(--mono); font-size: 0.88em; }
a { color: var(--accent); text-decoration: none; }
a:hover { text-decoration: underline; }
header.top { padding: 28px 40px 16px; border-bottom: 1px solid var(--line); background: var(--card); }
h1 { margin: 0 0 4px; font-size: 28px; letter-spacing: -0.01em; }
h1 .sub { font-size: 16px; font-weight: 500; color: var(--muted); margin-left: 8px; }
h2 { font-size: 20px; margin: 0 0 6px; }
h3 { font-size: 15px; margin: 0 0 8px; display: flex; flex-wrap: wrap; gap: 8px; align-items: center; }
h4 { font-size: 14px; margin: 0 0 6px; display: flex; flex-wrap: wrap; gap: 8px; align-items: center; }
.meta, .lead { color: var(--muted); margin: 4px 0; }
.verdict { display: inline-block; margin: 12px 0 4px; padding: 8px 14px; border-radius: 8px; font-weight: 600; border: 1px solid; }
.verdict.st-ok { color: var(--ok); background: var(--ok-bg); }
.verdict.st-problem { color: var(--problem); background: var(--problem-bg); }
.verdict.st-planned { color: var(--planned); background: var(--planned-bg); }
nav { margin-top: 12px; display: flex; gap: 18px; flex-wrap: wrap; font-weight: 500; }
main { padding: 8px 40px 40px; max-width: 1500px; }
main > section { margin: 28px 0; }
.scroll { overflow-x: auto; background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 12px; }
.legend { list-style: none; padding: 0; margin: 8px 0 10px; display: flex; gap: 16px; flex-wrap: wrap; font-size: 13px; color: var(--muted); }
.legend li { display: flex; align-items: center; gap: 6px; }
.swatch { display: inline-block; width: 22px; height: 12px; border-radius: 3px; border: 2px solid; }
.swatch.st-ok { border-color: var(--ok); background: var(--ok-bg); }
.swatch.st-planned { border-color: var(--planned); border-style: dashed; background: var(--planned-bg); }
.swatch.st-missing { border-color: var(--missing); border-style: dashed; background: var(--missing-bg); }
.swatch.st-stale { border-color: var(--stale); background: var(--stale-bg); }
.swatch.st-problem { border-color: var(--problem); background: var(--problem-bg); }
.swatch.r-good { background: var(--r-good); border-color: var(--r-good); }
.swatch.r-soon { background: var(--r-soon); border-color: var(--r-soon); }
.swatch.r-warn { background: var(--r-warn); border-color: var(--r-warn); }
.swatch.r-expired { background: var(--r-expired); border-color: var(--r-expired); }
.swatch.r-planned { background: transparent; border-color: var(--r-planned); border-style: dashed; }
.line { display: inline-block; width: 26px; height: 0; border-top: 2px solid var(--accent); }
.line.embeds { border-top: 2px dotted var(--embeds); }

/* The diagram */
svg text { font-family: var(--mono); fill: var(--fg); }
.diagram .box rect { stroke-width: 1.5; fill: var(--card); stroke: var(--line); }
.diagram .box.ca rect { stroke-width: 3; }
.diagram .box .l1 { font-size: 12px; font-weight: 700; }
.diagram .box .l2 { font-size: 11px; fill: var(--muted); }
.diagram .box .l3 { font-size: 11px; fill: var(--muted); }
.diagram .st-ok rect { fill: var(--ok-bg); stroke: var(--ok); }
.diagram .ca.st-ok rect { fill: var(--ca-bg); }
.diagram .st-planned rect { fill: var(--planned-bg); stroke: var(--planned); stroke-dasharray: 5 4; }
.diagram .st-missing rect { fill: var(--missing-bg); stroke: var(--missing); stroke-dasharray: 5 4; }
.diagram .st-stale rect { fill: var(--stale-bg); stroke: var(--stale); }
.diagram .st-problem rect { fill: var(--problem-bg); stroke: var(--problem); }
.diagram .st-missing .l3, .diagram .st-problem .l3 { fill: var(--problem); font-weight: 600; }
.diagram .st-stale .l3 { fill: var(--stale); font-weight: 600; }
.diagram a:hover rect { stroke-width: 3; }
.edge { fill: none; stroke-width: 1.6; }
.edge.signs { stroke: var(--accent); }
.edge.embeds { stroke: var(--embeds); stroke-dasharray: 2 4; }
.edge.st-missing { stroke: var(--missing); stroke-dasharray: 5 4; }

/* The timeline */
.timeline .tick, .timeline .axis { stroke: var(--line); }
.timeline .year { font-size: 11px; fill: var(--muted); text-anchor: middle; }
.timeline .label { font-size: 11px; text-anchor: end; }
.timeline .label.ca { font-weight: 700; }
.timeline .when { font-size: 11px; fill: var(--muted); }
.timeline .r-missing { fill: var(--missing); font-weight: 700; }
.bar.r-good { fill: var(--r-good); }
.bar.r-soon { fill: var(--r-soon); }
.bar.r-warn { fill: var(--r-warn); }
.bar.r-expired { fill: var(--r-expired); }
.bar.r-planned { fill: var(--planned-bg); stroke: var(--r-planned); stroke-dasharray: 4 3; }
.timeline .today { stroke: var(--problem); stroke-width: 2; }
.timeline .today-label { font-size: 11px; fill: var(--problem); text-anchor: middle; font-weight: 700; }

/* The node × file matrix */
table.matrix { border-collapse: collapse; font-size: 13px; width: 100%; }
.matrix th, .matrix td { border: 1px solid var(--line); padding: 5px 8px; text-align: left; vertical-align: top; }
.matrix thead th { background: var(--bg); position: sticky; top: 0; }
.matrix .node-name { display: block; font-weight: 700; }
.matrix .node-meta { display: block; font-weight: 400; color: var(--muted); font-size: 12px; }
.matrix tbody th { font-weight: 400; white-space: nowrap; }
.matrix td.what { color: var(--muted); white-space: nowrap; }
.matrix td.none { color: var(--line); text-align: center; }
.matrix td.file { white-space: nowrap; }
.matrix td.st-ok { background: var(--ok-bg); }
.matrix td.st-planned { background: var(--planned-bg); }
.matrix td.st-missing, .matrix td.st-problem { background: var(--problem-bg); }
.matrix td.st-stale { background: var(--stale-bg); }
.mode { font-family: var(--mono); font-size: 12px; }
.cell-state { display: block; font-weight: 700; color: var(--problem); font-size: 12px; }
.st-stale .cell-state { color: var(--stale); }
.cell-problem { display: block; white-space: normal; font-size: 12px; color: var(--problem); max-width: 260px; }
.tag { display: inline-block; font-size: 11px; font-weight: 600; padding: 0 6px; border-radius: 9px; border: 1px solid; }
.tag.key { color: var(--stale); border-color: var(--stale); }
.tag.cakey { color: #fff; background: var(--problem); border-color: var(--problem); }

/* Cards */
.group { margin: 18px 0; }
.card { background: var(--card); border: 1px solid var(--line); border-left: 5px solid var(--line); border-radius: 10px; padding: 14px 18px; margin: 10px 0; break-inside: avoid; }
.card.is-ca { border-left-width: 8px; }
.card.st-ok { border-left-color: var(--ok); }
.card.st-planned { border-left-color: var(--planned); }
.card.st-missing, .card.st-problem { border-left-color: var(--problem); }
.card.st-stale { border-left-color: var(--stale); }
.group > .card:not(.is-ca) { margin-left: 28px; }
dl { display: grid; grid-template-columns: 110px 1fr; gap: 4px 12px; margin: 0; font-size: 14px; }
dt { color: var(--muted); }
dd { margin: 0; }
.sans code { display: inline-block; margin: 0 6px 2px 0; }
ul.places { list-style: none; padding: 0; margin: 0; }
.kc { border-top: 1px dashed var(--line); margin-top: 10px; padding-top: 10px; }
.badge { font-size: 12px; font-weight: 700; padding: 1px 8px; border-radius: 10px; border: 1px solid; }
.badge.st-ok { color: var(--ok); background: var(--ok-bg); }
.badge.st-planned { color: var(--planned); background: var(--planned-bg); }
.badge.st-missing, .badge.st-problem { color: var(--problem); background: var(--problem-bg); }
.badge.st-stale { color: var(--stale); background: var(--stale-bg); }
.kind { font-size: 12px; color: var(--muted); font-weight: 500; }
ul.problems { margin: 10px 0 0; padding-left: 20px; font-size: 14px; }
.sev-error { color: var(--problem); }
.sev-warning { color: var(--stale); }
.sev-note { color: var(--muted); }
.code { font-family: var(--mono); font-size: 11px; border: 1px solid currentColor; border-radius: 4px; padding: 0 4px; margin-right: 4px; }
details { margin-top: 10px; }
summary { cursor: pointer; color: var(--accent); font-weight: 500; }
details pre { background: var(--bg); border: 1px solid var(--line); border-radius: 8px; padding: 12px; overflow-x: auto; white-space: pre; font-size: 12px; line-height: 1.45; }
.problems-box { background: var(--problem-bg); border: 1px solid var(--problem); border-radius: 10px; padding: 14px 18px; }
.problems-box > ul { margin: 6px 0 0; padding-left: 0; list-style: none; }
.problems-box > ul > li { margin: 6px 0; }
.problems-box ul ul { margin: 2px 0 0 20px; font-size: 14px; }
footer { padding: 12px 40px 28px; color: var(--muted); font-size: 13px; }

@media print {
  :root { --bg: #fff; --card: #fff; --fg: #000; --muted: #333; --line: #bbb; }
  body { font-size: 11pt; background: #fff; }
  header.top, main, footer { padding-left: 0; padding-right: 0; }
  nav, summary { display: none; }
  .scroll { overflow: visible; border: none; padding: 0; }
  svg { max-width: 100%; height: auto; }
  details::details-content { content-visibility: visible; display: block; }
  details pre { white-space: pre-wrap; font-size: 8pt; }
  section, .card, tr { break-inside: avoid; }
  a { color: inherit; }
  .matrix thead th { position: static; }
}
`;
