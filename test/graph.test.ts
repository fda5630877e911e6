import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Cluster } from '../src/model/cluster.js';
import { manifestFor } from '../src/distribute/manifest.js';
import { dotString } from '../src/graph/dot.js';
import { mermaidLabel } from '../src/graph/mermaid.js';
import { instancesFor } from '../src/pki.js';
import { decodeEntities, dumpDom } from './helpers/browser.js';
import { ROOT, kubePki } from './helpers/cli.js';
import { CONFIG_NAME, checkJson } from './check-fixtures.js';
import { DELETED, DROPPED_SAN, isoDay, kubeconfigNotAfter, kubeadmFixture, labFixture, nameHashes, notAfter, rootFixture } from './graph-fixtures.js';

const GOLDEN = join(ROOT, 'test', 'golden');

/** The real Graphviz: DOT in, SVG out; the ids of its nodes, edges and clusters are its <title>s. */
async function renderDot(dot: string): Promise<{ svg: string; titles: Set<string> }> {
  const r = await execa('dot', ['-Tsvg'], { input: dot, reject: false });
  expect(r.exitCode, r.stderr).toBe(0);
  expect(r.stderr).toBe('');
  return { svg: r.stdout, titles: new Set([...r.stdout.matchAll(/<title>([\s\S]*?)<\/title>/g)].map((m) => decodeEntities(m[1]!))) };
}

/** Signing edges as openssl sees the files: each leaf's issuer hash is the subject hash of one CA file. */
async function signingEdges(cluster: Cluster, out: string): Promise<string[]> {
  const { certs } = instancesFor(cluster);
  const hashes = new Map(await Promise.all(certs.map(async (c) => [c.name, await nameHashes(join(out, c.certPath))] as const)));
  const cas = certs.filter((c) => !c.caName);
  return certs
    .filter((c) => c.caName)
    .map((c) => {
      const ca = cas.filter((x) => hashes.get(x.name)!.subject === hashes.get(c.name)!.issuer);
      expect(ca, `the issuer of ${c.certPath}`).toHaveLength(1);
      return `ca:${ca[0]!.name}->cert:${c.name}`;
    });
}

/** The label lines of each drawn vertex, by its id (the <title>); &#160; (doubled spaces) read as spaces. */
function vertexTexts(svg: string): Map<string, string[]> {
  const texts = (g: string) => [...g.matchAll(/<text[^>]*>([\s\S]*?)<\/text>/g)].map((m) => decodeEntities(m[1]!).replace(/\u00a0/g, ' '));
  return new Map([...svg.matchAll(/<g id="[^"]*" class="node">\s*<title>([\s\S]*?)<\/title>([\s\S]*?)<\/g>/g)].map((m) => [decodeEntities(m[1]!), texts(m[2]!)]));
}

/** The lines of the file vertices in one node's cluster (ids files:<node>:<owner>). */
const filesOn = (svg: string, node: string) =>
  [...vertexTexts(svg)].filter(([id]) => id.startsWith(`files:${node}:`)).flatMap(([, lines]) => lines);

describe('kube-pki graph', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let config: string;
  let lab: Cluster;
  let pki: string;
  let planted: string;
  let kubeadm: Cluster;
  let kubeadmConfig: string;
  let kubeadmPki: string;

  beforeAll(async () => {
    ({ dir, cleanup, config, lab, pki, planted } = await labFixture('kube-pki-graph-'));
    ({ config: kubeadmConfig, cluster: kubeadm, out: kubeadmPki } = await kubeadmFixture(dir));
  });
  afterAll(() => cleanup());

  for (const profile of ['hardway', 'kubeadm'] as const) {
    it(`--format dot (${profile}): dot -Tsvg draws every CA, certificate, kubeconfig and node, every signing edge openssl sees, and the files distribute sends`, async () => {
      const [cluster, cfg, out] = profile === 'hardway' ? [lab, config, pki] : [kubeadm, kubeadmConfig, kubeadmPki];
      const r = await kubePki(['graph', '--format', 'dot', '--config', cfg, '--out', out]);
      expect(r.exitCode, r.stderr).toBe(0);
      const { svg, titles } = await renderDot(r.stdout);
      const inst = instancesFor(cluster);
      const cas = inst.certs.filter((c) => !c.caName);
      expect(cas.length).toBe(profile === 'hardway' ? 1 : 3);
      for (const c of cas) expect(titles, c.name).toContain(`ca:${c.name}`);
      for (const c of inst.certs.filter((c) => c.caName)) expect(titles, c.name).toContain(`cert:${c.name}`);
      for (const k of inst.kubeconfigs) {
        expect(titles, k.name).toContain(`kubeconfig:${k.name}`);
        expect(titles).toContain(`cert:${k.certName}->kubeconfig:${k.name}`);
      }
      for (const n of cluster.nodes) expect(titles, n.name).toContain(`cluster_node:${n.name}`);
      const edges = await signingEdges(cluster, out);
      expect(edges.length).toBe(inst.certs.length - cas.length);
      for (const e of edges) expect(titles, e).toContain(e);
      // Every file distribute would send a node is written in that node's cluster (a private key, and the encryption key of Secrets, marked key).
      for (const m of await manifestFor(cluster, out)) {
        const lines = filesOn(svg, m.node.name);
        for (const f of m.files) expect(lines, `${m.node.name}: ${f.remote}`).toContain(`${f.remote}  0${f.mode.toString(8)}${f.remote.endsWith('.key') || f.remote.endsWith('encryption-config.yaml') ? '  key' : ''}`);
        expect(lines.length).toBe(m.files.length || 1);
        if (!m.files.length) expect(lines).toEqual(['no files']);
      }
    });
  }

  it('rootCA: the root CA heads the tree and signs each CA (as openssl sees it) in dot and mermaid; as many CAs as check lists', async () => {
    const { config: cfg, cluster, out } = await rootFixture(dir);
    const inst = instancesFor(cluster);
    const root = inst.root!;
    const cas = inst.certs.filter((c) => c.spec.kind === 'ca');
    expect(cas.map((c) => c.name)).toEqual(['ca', 'etcd-ca', 'front-proxy-ca']);
    const check = await checkJson(cfg, out);
    expect(check.report.cas.map((r) => r.file)).toEqual([root.certPath, ...cas.map((c) => c.certPath)]);

    const tree = await kubePki(['graph', '--config', cfg, '--out', out]);
    expect(tree.exitCode, tree.stderr).toBe(0);
    // The CA section: from its header to the first empty line.
    const all = tree.stdout.split('\n');
    const head = all.findIndex((l) => l.startsWith('CERTIFICATE AUTHORITY'));
    const lines = all.slice(head + 1, all.indexOf('', head));
    // The root at the top level, the three CAs one level under it, their leaves under them.
    expect(lines.filter((l) => /^\S+\.crt /.test(l)).map((l) => l.split(' ')[0])).toEqual([root.certPath]);
    const under = lines.filter((l) => /^[├└]── \S+ /.test(l)).map((l) => l.slice(4).split(' ')[0]);
    expect(under).toEqual(cas.map((c) => c.certPath));
    expect(lines).toContainEqual(expect.stringMatching(/^│   ├── master-1\/pki\/apiserver\.crt /));
    const leaves = inst.certs.length - cas.length;
    expect(tree.stdout).toMatch(new RegExp(`(All good|No problems)[^\\n]*: ${check.report.cas.length} CAs, ${leaves} certificates, ${inst.kubeconfigs.length} kubeconfigs, 1 key pair without certificate; `));

    const dot = await kubePki(['graph', '--format', 'dot', '--config', cfg, '--out', out]);
    const { titles } = await renderDot(dot.stdout);
    expect(titles).toContain(`ca:${root.name}`);
    const rootHash = (await nameHashes(join(out, root.certPath))).subject;
    for (const ca of cas) {
      expect((await nameHashes(join(out, ca.certPath))).issuer, ca.certPath).toBe(rootHash);
      expect(titles).toContain(`ca:${root.name}->ca:${ca.name}`);
    }
    const mermaid = await kubePki(['graph', '--format', 'mermaid', '--config', cfg, '--out', out]);
    for (const ca of cas) expect(mermaid.stdout).toContain(`ca_root_ca -->|signs| ca_${ca.name.replace(/-/g, '_')}\n`);
  });

  it('--format dot on the lab: a worker holds ca.crt, its own certificate, key and kubeconfig and kube-proxy.kubeconfig, and no CA key', async () => {
    const r = await kubePki(['graph', '--format', 'dot', '--config', config, '--out', pki]);
    const { svg } = await renderDot(r.stdout);
    expect(filesOn(svg, 'worker-1').sort()).toEqual(['ca.crt  0644', 'kube-proxy.kubeconfig  0600', 'worker-1.crt  0644', 'worker-1.key  0600  key', 'worker-1.kubeconfig  0600']);
    expect(filesOn(svg, 'master-1')).toContain('ca.key  0600  key');
    expect(filesOn(svg, 'loadbalancer')).toEqual(['no files']);
  });

  it('--format dot marks the planted problems: the deleted certificate missing, the re-signed one stale; exit 1', async () => {
    const r = await kubePki(['graph', '--format', 'dot', '--config', config, '--out', planted]);
    expect(r.exitCode).toBe(1);
    const { svg } = await renderDot(r.stdout);
    const text = decodeEntities(svg.replace(/<[^>]+>/g, ' '));
    expect(text).toContain(`MISSING: ${DELETED} not found`);
    expect(text).toContain(`STALE: SANs missing: ${DROPPED_SAN}`);
  });

  it('dot strings escape quotes, backslashes and line breaks: Graphviz reads labels back exactly, and IDs stay distinct', async () => {
    const label = 'end "quoted" \\N back\\slash\nnext line\\';
    const id = 'id "q" \\';
    expect(dotString(label)).toBe('"end \\"quoted\\" \\\\N back\\\\slash\\nnext line\\\\"');
    const { svg, titles } = await renderDot(`digraph { ${dotString(id)} [label=${dotString(label)}]; }`);
    // An ID keeps its doubled backslashes (DOT unescapes only \" there): still one ID per name.
    expect(titles).toContain(id.replace(/\\/g, '\\\\'));
    expect(vertexTexts(svg).get(id.replace(/\\/g, '\\\\'))).toEqual(label.split('\n'));
  });

  it('--format mermaid: a flowchart with sanitized ids and quoted labels, rendered by the real Mermaid in headless Chromium', async () => {
    const r = await kubePki(['graph', '--format', 'mermaid', '--config', config, '--out', planted]);
    expect(r.exitCode).toBe(1);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('flowchart LR');
    const ids = new Set<string>();
    let depth = 0;
    for (const line of lines.slice(1)) {
      const vertex = /^\s+([A-Za-z0-9_]+)(\(\["|\["|\(")(.*?)("\]\)|"\]|"\))$/.exec(line);
      const edge = /^\s+([A-Za-z0-9_]+) (-->\|signs\||-\.->\|embedded in\||-\.->) ([A-Za-z0-9_]+)$/.exec(line);
      if (vertex) {
        // Only Mermaid entity codes (#34; …) and the line breaks we put there.
        expect(vertex[3]!.replace(/<br\/>/g, ''), line).not.toMatch(/["<>`&]/);
        expect(ids.has(vertex[1]!), `id ${vertex[1]} declared twice`).toBe(false);
        ids.add(vertex[1]!);
      } else if (edge) {
        expect(ids, line).toContain(edge[1]);
        expect(ids, line).toContain(edge[3]);
      } else if (/^\s+subgraph [A-Za-z0-9_]+\["[^"]*"\]$/.test(line)) depth++;
      else if (/^\s+end$/.test(line)) depth--;
      else expect(line, 'a line of a known kind').toMatch(/^\s+(direction TB|classDef \w+ [^;]+|class [A-Za-z0-9_,]+ \w+)$/);
    }
    expect(depth).toBe(0);
    const inst = instancesFor(lab);
    expect(ids.size).toBeGreaterThan(inst.certs.length + inst.kubeconfigs.length);

    // The real renderer: Mermaid (npm package, offline) in headless Chromium draws every vertex.
    const page = join(dir, 'mermaid.html');
    const mermaidJs = join(ROOT, 'node_modules', 'mermaid', 'dist', 'mermaid.min.js');
    await writeFile(
      page,
      `<!doctype html><html><body><script type="text/plain" id="src">${r.stdout}</script><div id="out"></div>
<script src="${mermaidJs}"></script>
<script>
mermaid.initialize({ startOnLoad: false, securityLevel: 'strict' });
const text = document.getElementById('src').textContent;
mermaid.parse(text).then(() => mermaid.render('g', text)).then(({ svg }) => { document.getElementById('out').innerHTML = svg; document.body.dataset.result = 'rendered'; })
  .catch((e) => { document.body.dataset.result = 'error'; document.body.append('ERROR ' + (e && e.message || e)); });
</script></body></html>`,
    );
    const { stdout } = await dumpDom(page, ['--allow-file-access-from-files', '--virtual-time-budget=20000']);
    expect(stdout).toContain('data-result="rendered"');
    const drawn = new Set([...stdout.matchAll(/<g class="node [^"]*" id="g-flowchart-([A-Za-z0-9_]+)-\d+"/g)].map((m) => m[1]!));
    for (const id of ids) expect(drawn, id).toContain(id);
    const drawnEdges = new Set([...stdout.matchAll(/ id="g-(L_[A-Za-z0-9_]+)_\d+"/g)].map((m) => m[1]!));
    for (const c of inst.certs.filter((c) => c.caName)) expect(drawnEdges, c.name).toContain(`L_ca_${c.caName}_cert_${c.name.replace(/[^A-Za-z0-9]+/g, '_')}`);
  });

  it('mermaid labels cannot end the label, open HTML or a Markdown string', () => {
    expect(mermaidLabel('a "b" <i>c</i> & #d `e`')).toBe('a #34;b#34; #60;i#62;c#60;/i#62; #38; #35;d #96;e#96;');
  });

  it('tree (the default), planned from the description alone: the reviewed golden file, line by line; exit 0', async () => {
    const r = await kubePki(['graph', '--config', CONFIG_NAME, '--out', 'pki-not-yet'], { cwd: dir });
    expect(r.exitCode, r.stderr).toBe(0);
    const golden = (await readFile(join(GOLDEN, 'graph-lab-planned.txt'), 'utf8')).split('\n');
    const lines = r.stdout.split('\n');
    for (let i = 0; i < Math.max(golden.length, lines.length); i++) expect(lines[i], `line ${i + 1}`).toBe(golden[i]);
    expect(r.stdout).not.toContain('\u001b[');
  });

  it('tree on the planted folder: on disk, MISSING and STALE marked with their reasons; dates as openssl reads them; the golden file line by line; exit 1', async () => {
    const r = await kubePki(['graph', '--config', CONFIG_NAME, '--out', 'planted'], { cwd: dir });
    expect(r.exitCode, r.stderr).toBe(1);
    // The golden file leaves each expiry date as ####-##-##: it is the notAfter openssl reads from that line's file.
    const dates = new Map<string, string>();
    for (const f of await readdir(planted)) {
      if (f.endsWith('.crt')) dates.set(f, isoDay(await notAfter(join(planted, f))));
      if (f.endsWith('.kubeconfig')) dates.set(f, isoDay(await kubeconfigNotAfter(join(planted, f))));
    }
    const golden = (await readFile(join(GOLDEN, 'graph-lab-planted.txt'), 'utf8')).split('\n').map((line) => {
      if (!line.includes('####-##-##')) return line;
      const file = /([a-z0-9.-]+\.(crt|kubeconfig)) /.exec(line)?.[1];
      expect(dates.has(file!), `a date for ${file}`).toBe(true);
      return line.replace('####-##-##', dates.get(file!)!);
    });
    const lines = r.stdout.replace(/checked \d{4}-\d{2}-\d{2}/, 'checked TODAY').split('\n');
    for (let i = 0; i < Math.max(golden.length, lines.length); i++) expect(lines[i], `line ${i + 1}`).toBe(golden[i]);
  });

  it('an existing folder without any of the PKI\'s files: the plan, not a check of nothing; exit 0', async () => {
    const empty = join(dir, 'empty');
    await mkdir(empty);
    const r = await kubePki(['graph', '--config', config, '--out', empty]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain(`folder ${empty}: none of the PKI's files yet, showing what gen will make`);
    expect(r.stdout).toMatch(/^ca\.crt +CN=KUBERNETES-CA +CA +valid 1000 days +planned$/m);
    expect(r.stdout).not.toMatch(/MISSING|on disk/);
  });

  it('tree: colour on a terminal (a pseudo-terminal), none with NO_COLOR or through a pipe', async () => {
    const args = [join(ROOT, 'dist', 'cli.js'), 'graph', '--config', config, '--out', pki];
    // python's pty module gives the CLI a real terminal as stdout, without a shell.
    const onTty = (env: Record<string, string>) =>
      execa('python3', ['-c', 'import pty, sys; sys.exit(pty.spawn(sys.argv[1:]) >> 8)', 'node', ...args], { env: { ...env, TERM: 'xterm' }, extendEnv: true, reject: false, stdin: 'ignore' });
    const env = { CI: '', NO_COLOR: '' };
    const coloured = await onTty(env);
    expect(coloured.exitCode).toBe(0);
    expect(coloured.stdout).toContain('\u001b[32mon disk\u001b[0m');
    const plain = await onTty({ ...env, NO_COLOR: '1' });
    expect(plain.stdout).toContain('on disk');
    expect(plain.stdout).not.toContain('\u001b[');
    const piped = await kubePki(['graph', '--config', config, '--out', pki]);
    expect(piped.stdout).not.toContain('\u001b[');
  });

  it('--node narrows to what one node holds (tree and dot)', async () => {
    const r = await kubePki(['graph', '--node', 'worker-1', '--config', config, '--out', pki]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain('what worker-1 holds');
    expect(r.stdout).toMatch(/^worker-1 +worker, 192\.168\.5\.21 +5 files +on disk$/m);
    for (const other of ['master-1', 'worker-2', 'loadbalancer', 'kube-apiserver.crt', 'admin.kubeconfig']) expect(r.stdout).not.toContain(other);
    const dot = await kubePki(['graph', '--format', 'dot', '--node', 'master-2', '--config', kubeadmConfig, '--out', kubeadmPki]);
    const { titles } = await renderDot(dot.stdout);
    expect(titles).toContain('cluster_node:master-2');
    expect(titles).not.toContain('cluster_node:master-1');
    expect(titles).toContain('cert:master-2/apiserver');
    expect(titles).not.toContain('cert:master-1/apiserver');
    expect(titles).toContain('ca:etcd-ca->cert:master-2/etcd-server');
  });

  it('bad input: exit 2, the option and the value named, nothing printed on stdout', async () => {
    const format = await kubePki(['graph', '--format', 'svg', '--config', config]);
    expect(format.exitCode).toBe(2);
    expect(format.stderr).toContain("option '--format <format>' argument 'svg' is invalid");
    const node = await kubePki(['graph', '--node', 'worker-9', '--config', config, '--out', pki]);
    expect(node.exitCode).toBe(2);
    expect(node.stderr).toContain('--node "worker-9": no such node in');
    expect(node.stdout).toBe('');
    const notFolder = await kubePki(['graph', '--config', config, '--out', config]);
    expect(notFolder.exitCode).toBe(2);
    expect(notFolder.stderr).toContain(`--out ${JSON.stringify(config)}: is not a folder`);
    expect(notFolder.stderr).not.toMatch(/\n\s+at /);
  });
});
