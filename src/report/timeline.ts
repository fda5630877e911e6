import { DAY_MS } from '../model/time.js';
import { residualDays, shortDuration } from '../util/time.js';
import { dayText } from '../graph/describe.js';
import type { CertView, PkiView } from '../graph/model.js';
import { anchor, html, type Markup } from './html.js';
import { plural } from '../util/words.js';

// One bar per CA and certificate from notBefore to notAfter on a shared time axis (planned: from
// today for the days the description asks), today marked, coloured by the time left.

const ROW = 22;
const BAR = 14;
const CHART = 720;
/** 11px monospace: 0.6em a character, 0.62 to leave room for a slightly wider font. */
const LABEL_CHAR = 11 * 0.62;
const AXIS = 26;

/** expired; within --warn-days (check warns); within 90 days; plenty of time; planned (not made yet); missing. */
export type Residual = 'expired' | 'warn' | 'soon' | 'good' | 'planned' | 'missing';

export function residualClass(c: Pick<CertView, 'notAfter' | 'state'>, now: Date, warnDays: number): Residual {
  if (c.state === 'planned') return 'planned';
  if (!c.notAfter) return 'missing';
  const days = residualDays(new Date(c.notAfter), now);
  if (new Date(c.notAfter) <= now) return 'expired';
  if (days < warnDays) return 'warn';
  return days < 90 ? 'soon' : 'good';
}

interface Span {
  cert: CertView;
  from: Date;
  to: Date | null;
}

function spanOf(c: CertView, now: Date): Span {
  if (c.notAfter && c.notBefore) return { cert: c, from: new Date(c.notBefore), to: new Date(c.notAfter) };
  if (c.state === 'planned') return { cert: c, from: now, to: new Date(now.getTime() + c.days * DAY_MS) };
  return { cert: c, from: now, to: null };
}

const yearStart = (y: number) => new Date(Date.UTC(y, 0, 1));
const monthStart = (d: Date) => new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1));
const nextMonth = (d: Date) => new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1));

/** Left of the bars: the labels' estimated width (mono, with a little slack for wider fonts), then a gutter. */
const LABEL_LEFT = 8;
const GUTTER = 28;

export function timelineSvg(view: PkiView): Markup {
  const now = new Date(view.now);
  const spans = [...view.cas, ...view.certs].map((c) => spanOf(c, now));
  // Soonest first: what needs attention is at the top.
  spans.sort((a, b) => (a.to?.getTime() ?? -Infinity) - (b.to?.getTime() ?? -Infinity) || a.cert.certPath.localeCompare(b.cert.certPath));
  // The axis runs from the month of the oldest certificate (or today) to the month after the last
  // expiry: whole years around them left most of the chart empty.
  const first = Math.min(now.getTime(), ...spans.map((s) => s.from.getTime()));
  const last = Math.max(now.getTime() + 365 * DAY_MS, ...spans.map((s) => s.to?.getTime() ?? 0));
  const start = monthStart(new Date(first));
  const end = nextMonth(new Date(last));
  const labelEnd = LABEL_LEFT + Math.ceil(Math.max(...spans.map((s) => s.cert.certPath.length)) * LABEL_CHAR);
  const chartLeft = labelEnd + GUTTER;
  // Room after the last bar for its date.
  const textRoom = 150;
  const scale = (d: Date) => chartLeft + ((d.getTime() - start.getTime()) / (end.getTime() - start.getTime())) * CHART;
  const years = (end.getTime() - start.getTime()) / (365.25 * DAY_MS);
  const step = years > 30 ? 5 : years > 12 ? 2 : 1;
  const ticks: Markup[] = [html`<line class="axis" x1="${chartLeft}" x2="${chartLeft + CHART}" y1="${AXIS - 6}" y2="${AXIS - 6}"/>`];
  for (let y = start.getUTCFullYear() + 1; yearStart(y) < end; y++) {
    if (y % step) continue;
    const x = scale(yearStart(y));
    ticks.push(html`<line class="tick" x1="${x}" x2="${x}" y1="${AXIS - 6}" y2="${AXIS + spans.length * ROW}"/><text class="year" x="${x}" y="${AXIS - 10}">${y}</text>`);
  }
  const rows = spans.map((s, i) => {
    const y = AXIS + i * ROW;
    const cls = residualClass(s.cert, now, view.warnDays);
    const label = html`<a href="#${anchor('cert', s.cert.name)}"><text class="label${s.cert.kind === 'ca' ? ' ca' : ''}" x="${labelEnd}" y="${y + 15}">${s.cert.certPath}</text></a>`;
    if (!s.to) return html`${label}<text class="when r-missing" x="${scale(now) + 6}" y="${y + 15}">missing</text>`;
    const x1 = scale(s.from);
    const x2 = Math.max(scale(s.to), x1 + 2);
    const left = s.to > now ? shortDuration(s.to, now) : 'expired';
    const when = s.cert.state === 'planned' ? `${plural(s.cert.days, 'day')} from gen` : `${dayText(s.to.toISOString())} · ${left}`;
    return html`${label}<rect class="bar r-${cls}" x="${x1}" y="${y + (ROW - BAR) / 2}" width="${x2 - x1}" height="${BAR}" rx="3"><title>${s.cert.certPath}: ${s.from.toISOString()} → ${s.to.toISOString()}</title></rect><text class="when" x="${x2 + 6}" y="${y + 15}">${when}</text>`;
  });
  const todayX = scale(now);
  const h = AXIS + spans.length * ROW + 22;
  const w = chartLeft + CHART + textRoom;
  return html`<svg class="timeline" role="img" aria-label="Expiry timeline: one bar per CA and certificate" viewBox="0 0 ${w} ${h}" width="${w}" height="${h}">${ticks}${rows}<line class="today" x1="${todayX}" x2="${todayX}" y1="${AXIS - 6}" y2="${h - 16}"/><text class="today-label" x="${todayX}" y="${h - 4}">today ${dayText(view.now)}</text></svg>`;
}
