import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expiresText } from '../src/util/time.js';
import type { Cluster } from '../src/model/cluster.js';
import { escapeHtml, html } from '../src/report/html.js';
import { instancesFor } from '../src/pki.js';
import { decodeEntities, dumpDom, pageRequests, screenshot, visibleText } from './helpers/browser.js';
import { kubePki } from './helpers/cli.js';
import { ADDED_SAN, DELETED, DROPPED_SAN, kubeadmFixture, labFixture, notAfter, rootFixture } from './graph-fixtures.js';
import { checkJson } from './check-fixtures.js';

/** Anything that would make a page fetch something: none may appear in the report's markup. */
const EXTERNAL = [/<script/i, /<link/i, /\ssrc\s*=/i, /srcset/i, /url\(/i, /@import/i, /<iframe/i, /<object/i, /<embed/i, /<img/i, /<audio/i, /<video/i, /<base/i, /http-equiv/i];

/** Every http(s):// in the page is a kubeconfig's server, written as text, never inside a tag. */
function urlsOutsideText(page: string): string[] {
  const inTags = [...page.matchAll(/<[^>]*>/g)].map((m) => m[0]).filter((tag) => /https?:\/\//i.test(tag));
  return inTags;
}

/** Distinct colours and the share of pixels that are not the page background. */
function pixelVariety(png: Buffer): { colours: number; inked: number; width: number; height: number } {
  const img = PNG.sync.read(png);
  const counts = new Map<number, number>();
  for (let i = 0; i < img.data.length; i += 4) {
    const rgb = (img.data[i]! << 16) | (img.data[i + 1]! << 8) | img.data[i + 2]!;
    counts.set(rgb, (counts.get(rgb) ?? 0) + 1);
  }
  const background = Math.max(...counts.values());
  const total = img.width * img.height;
  return { colours: counts.size, inked: (total - background) / total, width: img.width, height: img.height };
}

/** The timeline's bars as drawn: x, width and the dates of its <title> ("path: FROM → TO"). */
function timelineBars(page: string): { path: string; x: number; width: number; from: Date; to: Date }[] {
  const svg = /<svg class="timeline"[\s\S]*?<\/svg>/.exec(page)![0];
  return [...svg.matchAll(/<rect class="bar [^"]*" x="([\d.]+)" y="[\d.]+" width="([\d.]+)"[^>]*><title>([^<]*)<\/title>/g)].map((m) => {
    const [path, dates] = decodeEntities(m[3]!).split(': ');
    const [from, to] = dates!.split(' → ');
    return { path: path!, x: Number(m[1]), width: Number(m[2]), from: new Date(from!), to: new Date(to!) };
  });
}

/**
 * Where Chromium really draws the timeline's labels (their boxes in the page's font) and where its chart
 * begins (the leftmost axis, tick or bar): a copy of the page with a script that measures and writes the
 * figures into the page, read back with --dump-dom. The report itself has no script.
 */
async function timelineGeometry(file: string): Promise<{ chartLeft: number; labels: { text: string; left: number; right: number }[] }> {
  const measure = `<script>
const svg = document.querySelector('svg.timeline');
const xs = [...svg.querySelectorAll('line.axis, line.tick')].map((l) => +l.getAttribute('x1')).concat([...svg.querySelectorAll('rect.bar')].map((r) => +r.getAttribute('x')));
const labels = [...svg.querySelectorAll('text.label')].map((t) => { const b = t.getBBox(); return { text: t.textContent, left: b.x, right: b.x + b.width }; });
const out = document.createElement('pre');
out.id = 'geometry';
out.textContent = JSON.stringify({ chartLeft: Math.min(...xs), labels });
document.body.append(out);
</script>`;
  const copy = file.replace(/\.html$/, '-measured.html');
  await writeFile(copy, (await readFile(file, 'utf8')).replace('</body>', `${measure}</body>`));
  const dom = (await dumpDom(copy)).stdout;
  return JSON.parse(decodeEntities(/<pre id="geometry">([^<]*)<\/pre>/.exec(dom)![1]!));
}

describe('kube-pki report --html', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let config: string;
  let lab: Cluster;
  let pki: string;
  let planted: string;
  let labHtml: string;
  let plantedHtml: string;

  beforeAll(async () => {
    ({ dir, cleanup, config, lab, pki, planted } = await labFixture('kube-pki-report-'));
    labHtml = join(dir, 'lab.html');
    plantedHtml = join(dir, 'planted.html');
  });
  afterAll(() => cleanup());
  // The root-CA PKI, made once for the tests that use it.
  let root: ReturnType<typeof rootFixture> | undefined;
  const rootPki = () => (root ??= rootFixture(dir));

  it('the lab: exit 0; Chromium shows every CA, certificate, kubeconfig, node and expiry date (as openssl reads them)', async () => {
    const r = await kubePki(['report', '--html', labHtml, '--config', config, '--out', pki]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain('all good');
    const { stdout: dom, requests } = await dumpDom(labHtml);
    expect(pageRequests(requests)).toEqual([]);
    const text = visibleText(dom);
    expect(text).toContain('All good');
    const inst = instancesFor(lab);
    for (const c of inst.certs) {
      expect(text, c.certPath).toContain(c.certPath);
      expect(text, c.subject.cn).toContain(`CN=${c.subject.cn}`);
      expect(text, `expiry of ${c.certPath}`).toContain(expiresText(await notAfter(join(pki, c.certPath))));
    }
    for (const k of inst.kubeconfigs) expect(text, k.path).toContain(k.path);
    for (const n of lab.nodes) expect(text, n.name).toMatch(new RegExp(`${n.name} ${n.role} · ${n.address.replace(/\./g, '\\.')}`));
    // The CA → certificate diagram is drawn: one box per certificate, one signing curve per leaf.
    expect(dom.match(/<g class="box (ca|cert) /g)).toHaveLength(inst.certs.length);
    expect(dom.match(/class="edge signs /g)).toHaveLength(inst.certs.filter((c) => c.caName).length);
    // The timeline: a bar per CA and certificate, today marked.
    expect(dom.match(/<rect class="bar r-good"/g)).toHaveLength(inst.certs.length);
    expect(text).toContain(`today ${new Date().toISOString().slice(0, 10)}`);
    // The matrix: a worker gets ca.crt but never ca.key; the CA key is marked on control planes.
    const row = (path: string) => /<tr>([\s\S]*?)<\/tr>/.exec(dom.slice(dom.indexOf(`<th scope="row"><code>${path}</code>`) - 4))![1]!;
    const cells = (path: string) => [...row(path).matchAll(/<td class="([^"]*)"/g)].map((m) => m[1]);
    expect(lab.nodes.map((n) => n.name)).toEqual(['master-1', 'master-2', 'worker-1', 'worker-2', 'loadbalancer']);
    expect(cells('ca.key')).toEqual(['what', 'file st-ok', 'file st-ok', 'none', 'none', 'none']);
    expect(cells('ca.crt')).toEqual(['what', 'file st-ok', 'file st-ok', 'file st-ok', 'file st-ok', 'none']);
    expect(row('ca.key')).toContain('<span class="mode">0600</span> <span class="tag cakey">CA key</span>');
    expect(row('worker-1.key')).toContain('<span class="mode">0600</span> <span class="tag key">key</span>');
    // explain, on demand, per certificate.
    expect(dom.match(/<details>/g)).toHaveLength(inst.certs.length);
    expect(text).toContain('no node receives it as a file; it travels inside admin.kubeconfig');
    expect(text).toContain('WHO USES IT AND FOR WHAT');
    expect(text).toContain('openssl ca -batch -config "$KUBE_PKI_CA_DB/.ca-config.cnf" -in kube-apiserver.csr');
  });

  it('planted problems (a deleted certificate, a wrong SAN re-signed with openssl): shown where they belong; exit 1', async () => {
    const r = await kubePki(['report', '--html', plantedHtml, '--config', config, '--out', planted]);
    expect(r.exitCode, r.stderr).toBe(1);
    expect(r.stdout).toContain('problems shown');
    const { stdout: dom } = await dumpDom(plantedHtml);
    const text = visibleText(dom);
    expect(text).toContain('Problems found');
    expect(text).toMatch(/What to fix \(2\)/);
    expect(text).toContain(`${DELETED} not found (catalog entry worker-2)`);
    expect(text).toContain(`SANs missing: ${DROPPED_SAN}`);
    expect(text).toContain(`SANs not in the description: ${ADDED_SAN}`);
    // On its card, in the diagram and in the matrix.
    const card = (id: string) => dom.slice(dom.indexOf(`id="${id}"`), dom.indexOf('</article>', dom.indexOf(`id="${id}"`)));
    expect(visibleText(card('cert-worker-2'))).toContain('MISSING');
    expect(visibleText(card('cert-kube-apiserver'))).toContain(`stale: SANs missing: ${DROPPED_SAN}`);
    expect(dom).toMatch(/<g class="box cert st-missing"><title>worker-2\.crt/);
    expect(dom).toMatch(/<g class="box cert st-stale"><title>kube-apiserver\.crt/);
    const row = /<tr><th scope="row"><code>worker-2\.crt<\/code><\/th>([\s\S]*?)<\/tr>/.exec(dom)![1]!;
    expect([...row.matchAll(/<td class="([^"]*)"/g)].map((m) => m[1])).toEqual(['what', 'none', 'none', 'none', 'file st-missing', 'none']);
    // The deleted certificate has no bar in the timeline, but a "missing" mark.
    expect(dom).toMatch(/worker-2\.crt<\/text><\/a><text class="when r-missing"[^>]*>missing<\/text>/);
  });

  it('self-contained: no script, stylesheet link, image, font or URL to fetch; Chromium with the network cut sends nothing for it', async () => {
    for (const file of [labHtml, plantedHtml]) {
      const page = await readFile(file, 'utf8');
      for (const pattern of EXTERNAL) expect(page, String(pattern)).not.toMatch(pattern);
      for (const [, href] of page.matchAll(/href="([^"]*)"/g)) expect(href, 'links stay in the page').toMatch(/^#/);
      expect(urlsOutsideText(page)).toEqual([]);
      const urls = [...page.matchAll(/https?:\/\/[A-Za-z0-9.:[\]-]+/g)].map((m) => m[0]);
      const servers = new Set(instancesFor(lab).kubeconfigs.map((k) => k.server));
      for (const url of urls) expect(servers, url).toContain(url);
    }
    // The control: a page that does fetch is seen by the same setup.
    const leaky = join(dir, 'leaky.html');
    await writeFile(leaky, '<!doctype html><p>x</p><img src="http://192.0.2.1/x.png"><link rel="stylesheet" href="https://example.invalid/a.css">');
    expect(pageRequests((await dumpDom(leaky)).requests)).toEqual(expect.arrayContaining(['GET http://192.0.2.1/x.png', 'CONNECT example.invalid:443']));
    expect(pageRequests((await dumpDom(plantedHtml)).requests)).toEqual([]);
  });

  it('the screenshot is not blank, in the light and the dark scheme; light and dark and print styles are there', async () => {
    const light = join(dir, 'light.png');
    const dark = join(dir, 'dark.png');
    await screenshot(plantedHtml, light, [1280, 1600]);
    await screenshot(plantedHtml, dark, [1280, 1600], ['--force-dark-mode', '--blink-settings=preferredColorScheme=0']);
    const l = pixelVariety(await readFile(light));
    const d = pixelVariety(await readFile(dark));
    expect([l.width, l.height]).toEqual([1280, 1600]);
    expect(l.colours).toBeGreaterThan(200);
    expect(l.inked).toBeGreaterThan(0.05);
    expect(d.colours).toBeGreaterThan(200);
    // The page's background: light in one, dark in the other.
    const corner = (png: Buffer) => {
      const img = PNG.sync.read(png);
      const i = (img.width * (img.height - 5) + 5) * 4;
      return img.data[i]! + img.data[i + 1]! + img.data[i + 2]!;
    };
    expect(corner(await readFile(light))).toBeGreaterThan(600);
    expect(corner(await readFile(dark))).toBeLessThan(150);
    const page = await readFile(plantedHtml, 'utf8');
    expect(page).toContain('@media (prefers-color-scheme: dark)');
    expect(page).toContain('@media print');
  });

  it('kubeadm: every CA, certificate, kubeconfig and node in the rendered page', async () => {
    const { config: cfg, cluster, out } = await kubeadmFixture(dir);
    const file = join(dir, 'kubeadm.html');
    const r = await kubePki(['report', '--html', file, '--config', cfg, '--out', out]);
    expect(r.exitCode, r.stderr).toBe(0);
    const text = visibleText((await dumpDom(file)).stdout);
    const inst = instancesFor(cluster);
    for (const c of inst.certs) {
      expect(text, c.certPath).toContain(c.certPath);
      expect(text).toContain(expiresText(await notAfter(join(out, c.certPath))));
    }
    for (const k of inst.kubeconfigs) expect(text, k.path).toContain(k.path);
    for (const n of cluster.nodes) expect(text, n.name).toContain(`${n.name} ${n.role} · ${n.address}`);
    expect(text).toContain('pki/etcd/ca.crt');
    // sa.key/sa.pub is the one bare key pair; the hard way has none and does not say "0 key pairs".
    const cas = inst.certs.filter((c) => c.spec.kind === 'ca').length;
    expect(text).toContain(`All good: ${cas} CAs, ${inst.certs.length - cas} certificates, ${inst.kubeconfigs.length} kubeconfigs, 1 key pair without certificate; `);
  });

  it('rootCA: the root CA has its box signing the three CAs, its bar and its card; as many CAs as check lists', async () => {
    const { config: cfg, cluster, out } = await rootPki();
    const file = join(dir, 'root.html');
    const r = await kubePki(['report', '--html', file, '--config', cfg, '--out', out]);
    expect(r.exitCode, r.stderr).toBe(0);
    const inst = instancesFor(cluster);
    const root = inst.root!;
    const cas = inst.certs.filter((c) => c.spec.kind === 'ca');
    const check = await checkJson(cfg, out);
    expect(check.report.cas).toHaveLength(4);
    const dom = (await dumpDom(file)).stdout;
    const text = visibleText(dom);
    expect(text).toContain(`All good: ${check.report.cas.length} CAs, `);
    expect(text).toContain('The root CA, leftmost, signs the certificate authorities.');
    // The diagram: a box per CA, the root's among them; a signing curve per leaf and per intermediate.
    expect(dom.match(/<g class="box ca /g)).toHaveLength(4);
    expect(dom).toContain(`<g class="box ca st-ok"><title>${root.certPath}\nCN=kubernetes-root-ca`);
    expect(dom.match(/class="edge signs /g)).toHaveLength(inst.certs.filter((c) => c.caName).length + cas.length);
    // The timeline: a bar for every CA and certificate, the root's too, with the date openssl reads.
    const bars = timelineBars(dom);
    expect(bars.map((b) => b.path).sort()).toEqual([root, ...inst.certs].map((c) => c.certPath).sort());
    expect(bars.find((b) => b.path === root.certPath)!.to.getTime()).toBe((await notAfter(join(out, root.certPath))).getTime());
    // The root's card lists what it signs; each CA's card names the root as its signer.
    const card = (id: string) => visibleText(dom.slice(dom.indexOf(`id="${id}"`), dom.indexOf('</article>', dom.indexOf(`id="${id}"`))));
    expect(card('cert-root-ca')).toContain(`Signs ${cas.map((c) => c.certPath).join(' , ')}`);
    for (const ca of cas) expect(card(`cert-${ca.name}`)).toContain(`Signed by ${root.certPath} (CN=kubernetes-root-ca)`);
  });

  it('the timeline starts with the oldest certificate and ends with the last expiry (a month of margin at most)', async () => {
    const { config: cfg, out } = await rootPki();
    const file = join(dir, 'root-timeline.html');
    expect((await kubePki(['report', '--html', file, '--config', cfg, '--out', out])).exitCode).toBe(0);
    const page = await readFile(file, 'utf8');
    const bars = timelineBars(page);
    // The chart's extent: its axis and year lines.
    const lines = [...page.matchAll(/<line class="(?:axis|tick)" x1="([\d.]+)" x2="([\d.]+)"/g)].flatMap((m) => [Number(m[1]), Number(m[2])]);
    const [left, right] = [Math.min(...lines), Math.max(...lines)];
    // The chart's scale, from the longest bar; the dates at its two ends.
    const longest = bars.reduce((a, b) => (b.width > a.width ? b : a));
    const msPerPx = (longest.to.getTime() - longest.from.getTime()) / longest.width;
    const startsAt = longest.from.getTime() - (longest.x - left) * msPerPx;
    const endsAt = startsAt + (right - left) * msPerPx;
    const oldest = Math.min(...bars.map((b) => b.from.getTime()));
    const latest = Math.max(...bars.map((b) => b.to.getTime()));
    const MONTH = 31 * 24 * 3600 * 1000;
    expect(startsAt).toBeLessThanOrEqual(oldest + 1000);
    expect(oldest - startsAt, 'empty axis before the oldest certificate').toBeLessThanOrEqual(MONTH);
    expect(endsAt).toBeGreaterThanOrEqual(latest - 1000);
    expect(endsAt - latest, 'empty axis after the last expiry').toBeLessThanOrEqual(MONTH);
  });

  it('long kubeadm labels keep clear of the bars: as Chromium draws them, every label whole and ending well before the chart', async () => {
    const { config: cfg, out } = await rootPki();
    const file = join(dir, 'root-labels.html');
    expect((await kubePki(['report', '--html', file, '--config', cfg, '--out', out])).exitCode).toBe(0);
    const geometry = await timelineGeometry(file);
    expect(geometry.labels.map((l) => l.text)).toContain('_cluster/kubeconfig/controller-manager-master-1.crt');
    for (const l of geometry.labels) {
      expect(l.left, l.text).toBeGreaterThanOrEqual(0);
      expect(geometry.chartLeft - l.right, `room between ${l.text} and the bars`).toBeGreaterThanOrEqual(16);
    }
  });

  it('planned: without a PKI folder the page shows what gen will make; exit 0', async () => {
    const file = join(dir, 'planned.html');
    const r = await kubePki(['report', '--html', file, '--config', config, '--out', join(dir, 'none-yet')]);
    expect(r.exitCode, r.stderr).toBe(0);
    const text = visibleText((await dumpDom(file)).stdout);
    expect(text).toContain('Planned: nothing generated');
    expect(text).toContain('1000 days from gen');
  });

  it('bad input: exit 2, the option and the value named, nothing written; a file that is not a report is never overwritten', async () => {
    const missing = await kubePki(['report', '--config', config, '--out', pki]);
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toContain("required option '--html <file>' not specified");
    const noFolder = await kubePki(['report', '--html', join(dir, 'nope', 'r.html'), '--config', config, '--out', pki]);
    expect(noFolder.exitCode).toBe(2);
    expect(noFolder.stderr).toContain(`--html ${JSON.stringify(join(dir, 'nope', 'r.html'))}: the folder ${join(dir, 'nope')} does not exist`);
    const key = join(pki, 'ca.key');
    const before = await readFile(key);
    const refused = await kubePki(['report', '--html', key, '--config', config, '--out', pki]);
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toContain('exists and is not a kube-pki report; refusing to overwrite it');
    expect(await readFile(key)).toEqual(before);
    // An earlier report is replaced.
    const again = await kubePki(['report', '--html', labHtml, '--config', config, '--out', pki]);
    expect(again.exitCode).toBe(0);
  });

  it('every value is escaped: html`` turns markup in a value into text', () => {
    const value = '<img src=x onerror=alert(1)> & "q" \'s\'';
    expect(html`<p title="${value}">${value}</p>`.text).toBe(`<p title="${escapeHtml(value)}">${escapeHtml(value)}</p>`);
    expect(escapeHtml(value)).toBe('&lt;img src=x onerror=alert(1)&gt; &amp; &quot;q&quot; &#39;s&#39;');
    expect(html`<b>${[html`<i>${'<'}</i>`, '>']}</b>`.text).toBe('<b><i>&lt;</i>&gt;</b>');
  });
});
