import { KIND_TEXT, expiryText, reasonLines, stateReason, subjectText, type Judged } from '../graph/describe.js';
import { embedding, signedBy, subCas, topCas, type CertView, type KeyPairView, type KubeconfigView, type PkiView, type State } from '../graph/model.js';
import { anchor, html, type Markup } from './html.js';

// The CA → certificate → kubeconfig tree as an inline SVG: columns for CAs, the certificates they
// sign and the kubeconfigs that embed those, boxes coloured by state, each a link to its card.

const ROW = 60;
const BOX_H = 50;
const GAP = 64;
const GROUP_GAP = 18;
/** Monospace text: 0.6em per character, so box widths follow the text without measuring it. */
const CHAR = { main: 12 * 0.6, sub: 11 * 0.6 };
const PAD = 12;
const MAX_CHARS = 58;

interface Box {
  x: number;
  y: number;
  w: number;
  lines: [string, string, string];
  state: State;
  kind: 'ca' | 'cert' | 'kubeconfig' | 'keypair';
  href: string;
  tip: string;
}

const cut = (text: string) => (text.length > MAX_CHARS ? `${text.slice(0, MAX_CHARS - 1)}…` : text);

/** The third line: how long it is valid, or what is wrong with it. */
const status = (item: Judged, fallback: string): string => stateReason(item) ?? fallback;

const tipOf = (lines: string[], item: Judged) => [...lines, ...reasonLines(item)].join('\n');

const width = (lines: string[]) => Math.max(...lines.map((l, i) => cut(l).length * (i === 0 ? CHAR.main : CHAR.sub))) + 2 * PAD;

function certLines(c: CertView, view: PkiView): [string, string, string] {
  return [c.certPath, subjectText(c), status(c, `${KIND_TEXT[c.kind]} · ${expiryText(c, view.now)}`)];
}

function kubeconfigLines(k: KubeconfigView, view: PkiView): [string, string, string] {
  return [k.path, `server ${k.server}`, status(k, `kubeconfig · ${expiryText(k, view.now) || 'as its certificate'}`)];
}

function keyPairLines(k: KeyPairView): [string, string, string] {
  return [`${k.keyPath} + .pub`, 'key pair, no certificate', status(k, 'signs service-account tokens')];
}

function boxMarkup(b: Box): Markup {
  const [l1, l2, l3] = b.lines.map(cut);
  const cls = `box ${b.kind} st-${b.state}`;
  return html`<a href="#${b.href}"><g class="${cls}"><title>${b.tip}</title><rect x="${b.x}" y="${b.y}" width="${b.w}" height="${BOX_H}" rx="8"/><text x="${b.x + PAD}" y="${b.y + 17}" class="l1">${l1}</text><text x="${b.x + PAD}" y="${b.y + 31}" class="l2">${l2}</text><text x="${b.x + PAD}" y="${b.y + 44}" class="l3">${l3}</text></g></a>`;
}

function curve(x1: number, y1: number, x2: number, y2: number, cls: string): Markup {
  const mid = (x1 + x2) / 2;
  return html`<path class="${cls}" d="M${x1} ${y1} C${mid} ${y1}, ${mid} ${y2}, ${x2} ${y2}"/>`;
}

export function diagramSvg(view: PkiView): Markup {
  const leaves = view.certs;
  const kcs = view.kubeconfigs;
  // A root CA (rootCA) gets a column of its own, left of the intermediates it signs.
  const roots = topCas(view).filter((ca) => subCas(view, ca.name).length);
  const wr = roots.length ? Math.max(180, ...roots.map((c) => width(certLines(c, view)))) : 0;
  const signing = view.cas.filter((c) => !roots.includes(c));
  const w0 = Math.max(180, ...signing.map((c) => width(certLines(c, view))), ...view.keyPairs.map((k) => width(keyPairLines(k))));
  const w1 = Math.max(200, ...leaves.map((c) => width(certLines(c, view))));
  const w2 = Math.max(200, ...kcs.map((k) => width(kubeconfigLines(k, view))));
  const xr = 8;
  const x0 = roots.length ? xr + wr + GAP : 8;
  const x1 = x0 + w0 + GAP;
  const x2 = x1 + w1 + GAP;
  const boxes: Box[] = [];
  const edges: Markup[] = [];
  let y = 8;
  /** A CA with the certificates it signs and their kubeconfigs; returns the CA box's y. */
  const caGroup = (ca: CertView): number => {
    const top = y;
    for (const cert of signedBy(view, ca.name)) {
      const own = embedding(view, cert.name);
      const rows = Math.max(1, own.length);
      const certY = y + ((rows - 1) * ROW) / 2;
      boxes.push({ x: x1, y: certY, w: w1, lines: certLines(cert, view), state: cert.state, kind: 'cert', href: anchor('cert', cert.name), tip: tipOf(certLines(cert, view), cert) });
      own.forEach((k, i) => {
        const ky = y + i * ROW;
        boxes.push({ x: x2, y: ky, w: w2, lines: kubeconfigLines(k, view), state: k.state, kind: 'kubeconfig', href: anchor('kubeconfig', k.name), tip: tipOf(kubeconfigLines(k, view), k) });
        edges.push(curve(x1 + w1, certY + BOX_H / 2, x2, ky + BOX_H / 2, `edge embeds st-${k.state}`));
      });
      y += rows * ROW;
    }
    const rows = Math.max(1, (y - top) / ROW);
    const caY = top + ((rows - 1) * ROW) / 2;
    if (y === top) y += ROW;
    boxes.push({ x: x0, y: caY, w: w0, lines: certLines(ca, view), state: ca.state, kind: 'ca', href: anchor('cert', ca.name), tip: tipOf(certLines(ca, view), ca) });
    for (const b of boxes.filter((b) => b.kind === 'cert' && b.y >= top && b.y < y))
      edges.push(curve(x0 + w0, caY + BOX_H / 2, b.x, b.y + BOX_H / 2, `edge signs st-${b.state}`));
    y += GROUP_GAP;
    return caY;
  };
  for (const ca of topCas(view)) {
    if (!roots.includes(ca)) {
      caGroup(ca);
      continue;
    }
    const subs = subCas(view, ca.name).map((sub) => ({ sub, y: caGroup(sub) }));
    const rootY = (subs[0]!.y + subs.at(-1)!.y) / 2;
    boxes.push({ x: xr, y: rootY, w: wr, lines: certLines(ca, view), state: ca.state, kind: 'ca', href: anchor('cert', ca.name), tip: tipOf(certLines(ca, view), ca) });
    for (const s of subs) edges.push(curve(xr + wr, rootY + BOX_H / 2, x0, s.y + BOX_H / 2, `edge signs st-${s.sub.state}`));
  }
  for (const kp of view.keyPairs) {
    boxes.push({ x: x0, y, w: w0, lines: keyPairLines(kp), state: kp.state, kind: 'keypair', href: anchor('keypair', kp.name), tip: tipOf(keyPairLines(kp), kp) });
    y += ROW;
  }
  const w = x2 + w2 + 8;
  const h = y + 4;
  return html`<svg class="diagram" role="img" aria-label="Certificate authorities, the certificates they sign and the kubeconfigs that embed them" viewBox="0 0 ${w} ${h}" width="${w}" height="${h}"><g class="edges">${edges}</g>${boxes.map(boxMarkup)}</svg>`;
}
