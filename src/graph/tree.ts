import { table } from '../check/format.js';
import { plural } from '../util/words.js';
import { KIND_TEXT, STATE_TEXT, expiryText, fileWhat, folderText, problemText, reasonLines, shownProblems, subjectText } from './describe.js';
import { embedding, hasProblems, signedBy, subCas, topCas, type CertView, type PkiView, type State } from './model.js';

/** ANSI colours for the state column (only when stdout is a terminal and NO_COLOR is not set). */
const COLOUR: Record<State, string> = { planned: '36', ok: '32', missing: '31;1', stale: '33;1', problem: '31;1' };

export interface TreeOptions {
  colour: boolean;
}

interface Line {
  /** Tree glyphs and name, then the continuation glyphs for the problem lines below it. */
  label: string;
  cont: string;
  cells: string[];
  state: State;
  problems: string[];
}

const BRANCH = { mid: '├── ', last: '└── ', pipe: '│   ', none: '    ' };

function paint(text: string, code: string, on: boolean): string {
  return on ? `\u001b[${code}m${text}\u001b[0m` : text;
}

/**
 * Rows of one section as aligned columns, the state last; each problem on a line of its own below
 * its row, under the tree's continuation glyphs (not padded into a far column).
 */
function section(header: string[], lines: Line[], o: TreeOptions): string[] {
  const rows = lines.map((l) => [[l.label], ...l.cells.map((c) => [c]), [STATE_TEXT[l.state]]]);
  const [head, ...body] = table(header, rows);
  const out = [head!];
  lines.forEach((l, i) => {
    const state = STATE_TEXT[l.state];
    const line = body[i]!;
    // Colour after aligning: the last column is not padded, so escape codes cannot shift the columns.
    out.push(line.slice(0, line.length - state.length) + paint(state, COLOUR[l.state], o.colour));
    for (const p of l.problems) out.push(`${l.cont}  ${paint('!', COLOUR[l.state], o.colour)} ${p}`);
  });
  return out;
}

const glyph = (last: boolean) => (last ? BRANCH.last : BRANCH.mid);
const carry = (last: boolean) => (last ? BRANCH.none : BRANCH.pipe);
/** A CA and below it what it signs: the root CA's intermediates (each with its own tree), then leaves and their kubeconfigs. */
function caBlock(view: PkiView, ca: CertView, label: string, prefix: string, lines: Line[]): void {
  const cas = subCas(view, ca.name);
  const leaves = signedBy(view, ca.name);
  const count = cas.length + leaves.length;
  lines.push({ label, cont: prefix + (count ? BRANCH.pipe : ''), cells: [subjectText(ca), KIND_TEXT.ca, expiryText(ca, view.now)], state: ca.state, problems: reasonLines(ca) });
  cas.forEach((sub, i) => {
    const last = i === count - 1;
    caBlock(view, sub, prefix + glyph(last) + sub.certPath, prefix + carry(last), lines);
  });
  leaves.forEach((cert, i) => {
    const last = cas.length + i === count - 1;
    const kcs = embedding(view, cert.name);
    lines.push({
      label: prefix + glyph(last) + cert.certPath,
      cont: prefix + carry(last) + (kcs.length ? BRANCH.pipe : ''),
      cells: [subjectText(cert), KIND_TEXT[cert.kind], expiryText(cert, view.now)],
      state: cert.state,
      problems: reasonLines(cert),
    });
    kcs.forEach((kc, j) => {
      const lastKc = j === kcs.length - 1;
      lines.push({
        label: prefix + carry(last) + glyph(lastKc) + kc.path,
        cont: prefix + carry(last) + carry(lastKc),
        cells: [`server ${kc.server}`, 'kubeconfig', expiryText(kc, view.now)],
        state: kc.state,
        problems: reasonLines(kc),
      });
    });
  });
}

function caLines(view: PkiView): Line[] {
  const lines: Line[] = [];
  for (const ca of topCas(view)) caBlock(view, ca, ca.certPath, '', lines);
  return lines;
}

function nodeLines(view: PkiView): Line[] {
  const lines: Line[] = [];
  for (const node of view.nodes) {
    const files = [...node.files].sort((a, b) => a.remote.localeCompare(b.remote));
    const count = files.length ? `${files.length} file${files.length === 1 ? '' : 's'}` : 'no files';
    lines.push({ label: node.name, cont: '', cells: [`${node.role}, ${node.address}`, '', count], state: nodeState(files.map((f) => f.state), view), problems: [] });
    files.forEach((f, i) => {
      const last = i === files.length - 1;
      // Node trees hold the file at <node>/<remote>: say where it comes from only when it is elsewhere.
      const sent = f.local === f.remote || f.local === `${node.name}/${f.remote}` ? '' : ` (from ${f.local})`;
      lines.push({
        label: glyph(last) + f.remote,
        cont: carry(last),
        cells: [fileWhat(f, view) + sent, `0${f.mode.toString(8)}`, f.part === 'key' ? 'private key' : ''],
        state: f.state,
        problems: shownProblems(f.problems).map(problemText),
      });
    });
  }
  return lines;
}

/** A node is as good as its worst file. */
function nodeState(states: State[], view: PkiView): State {
  for (const s of ['missing', 'stale', 'problem'] as const) if (states.includes(s)) return s === 'missing' ? 'problem' : s;
  return view.folder === 'present' ? 'ok' : 'planned';
}

/** The terminal view: each CA with what it signs, then each node with the files it receives. */
export function treeText(view: PkiView, o: TreeOptions): string {
  const out: string[] = [];
  const scope = view.node ? `, what ${view.node} holds` : '';
  out.push(`PKI (profile ${view.profile}, description ${view.source}), ${folderText(view)}${scope}`, '');
  out.push(...section(['CERTIFICATE AUTHORITY / CERTIFICATE / KUBECONFIG', 'SUBJECT', 'KIND', 'EXPIRY', 'STATE'], caLines(view), o), '');
  if (view.keyPairs.length) {
    const kp = view.keyPairs.map((k): Line => ({ label: `${k.keyPath} + ${k.pubPath}`, cont: '', cells: ['key pair, no certificate'], state: k.state, problems: reasonLines(k) }));
    out.push(...section(['KEY PAIR', 'WHAT', 'STATE'], kp, o), '');
  }
  out.push(...section(['NODE / FILE', 'ROLE, ADDRESS / WHAT', 'MODE', 'FILES / KEY', 'STATE'], nodeLines(view), o), '');
  if (view.others.length) {
    out.push('Other files of the folder:');
    for (const f of view.others) out.push(...shownProblems(f.problems).map((p) => `  ${f.file}: ${problemText(p)}`));
    out.push('');
  }
  out.push(summaryLine(view));
  return `${out.join('\n')}\n`;
}

export function summaryLine(view: PkiView): string {
  const files = view.nodes.reduce((n, node) => n + node.files.length, 0);
  // Bare key pairs (kubeadm's sa.key) only when there are some: "0 key pairs" read as "the keys are missing".
  const bare = view.keyPairs.length ? `, ${plural(view.keyPairs.length, 'key pair')} without certificate` : '';
  const counts = `${plural(view.cas.length, 'CA')}, ${plural(view.certs.length, 'certificate')}, ${plural(view.kubeconfigs.length, 'kubeconfig')}${bare}; ${plural(files, 'file')} on ${plural(view.nodes.length, 'node')}`;
  if (view.folder !== 'present') return `Planned: ${counts}.`;
  if (!hasProblems(view)) return `All good: ${counts}.`;
  const all = [...view.cas, ...view.certs, ...view.kubeconfigs, ...view.keyPairs];
  const n = (s: State) => all.filter((i) => i.state === s).length;
  return `Problems: ${n('missing')} missing, ${n('stale')} stale, ${n('problem')} with problems (of ${counts}); kube-pki check says more.`;
}
