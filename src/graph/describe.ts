import { expiresText, shortDuration } from '../util/time.js';
import { plural } from '../util/words.js';
import type { Problem } from '../model/problem.js';
import { ENCRYPTION_CONFIG } from '../model/encryption.js';
import type { CertView, NodeFile, PkiView, State } from './model.js';

// Words and short texts every renderer (tree, dot, mermaid, HTML) uses, so that they say the same.

export const STATE_TEXT: Record<State, string> = {
  planned: 'planned',
  ok: 'on disk',
  missing: 'MISSING',
  stale: 'STALE',
  problem: 'PROBLEM',
};

export const KIND_TEXT = { ca: 'CA', server: 'server', client: 'client', 'server-client': 'server+client' } as const;

/** "CN=admin, O=system:masters". */
export const subjectText = (c: Pick<CertView, 'cn' | 'o'>) => [`CN=${c.cn}`, ...c.o.map((o) => `O=${o}`)].join(', ');

/** "2029-08-20" (UTC). */
export const dayText = (iso: string) => iso.slice(0, 10);

/** On disk: "expires 2029-08-20 (2y)"; planned or missing: "valid 1000 days" (what gen makes). */
export function expiryText(item: { notAfter: string | null; days?: number }, now: string): string {
  if (item.notAfter) return `expires ${dayText(item.notAfter)} (${shortDuration(new Date(item.notAfter), new Date(now))})`;
  return item.days ? `valid ${plural(item.days, 'day')}` : '';
}

/** The long form for the report: "Aug 20, 2029 15:23 UTC". */
export const expiryLong = (iso: string) => expiresText(new Date(iso));

/** What a file a node receives is: "CA certificate (ca)", "private key of admin", "kubeconfig". */
export function fileWhat(f: NodeFile, view: PkiView): string {
  const isCa = view.cas.some((c) => c.name === f.owner);
  switch (f.part) {
    case 'crt':
      return isCa ? `CA certificate (${f.owner})` : `certificate of ${f.owner}`;
    case 'key':
      if (f.owner === ENCRYPTION_CONFIG) return 'encryption key of Secrets';
      return f.caKey || isCa ? `CA private key (${f.owner})` : `private key of ${f.owner}`;
    case 'pub':
      return `public key of ${f.owner}`;
    case 'kubeconfig':
      return 'kubeconfig';
  }
}

/** Errors and warnings (notes are information, not shown as problems). */
export const shownProblems = (problems: Problem[]) => problems.filter((p) => p.severity !== 'note');

export const problemText = (p: Problem) => (p.severity === 'error' ? p.message : `${p.severity}: ${p.message}`);

/** What gen and check say about an item: its state, why gen calls it stale, what check found. */
export interface Judged {
  state: State;
  staleReasons: string[];
  problems: Problem[];
}

/** Why gen calls it stale, then what check found that does not say the same again (notes left out). */
export const reasonLines = (item: Judged): string[] => [
  ...item.staleReasons.map((r) => `stale: ${r}`),
  ...shownProblems(item.problems).filter((p) => !item.staleReasons.includes(p.message)).map(problemText),
];

/** One short line for a box or a label: "STALE: SANs missing: …"; null when there is nothing wrong. */
export function stateReason(item: Judged): string | null {
  if (item.state === 'ok' || item.state === 'planned') return null;
  const first = item.staleReasons[0] ?? shownProblems(item.problems)[0]?.message;
  return first ? `${STATE_TEXT[item.state]}: ${first}` : STATE_TEXT[item.state];
}

/** What the folder is, for a heading. */
export function folderText(view: PkiView): string {
  if (view.folder === 'absent') return `folder ${view.out}: not there yet, showing what gen will make`;
  if (view.folder === 'empty') return `folder ${view.out}: none of the PKI's files yet, showing what gen will make`;
  return `folder ${view.out}, checked ${dayText(view.now)}`;
}
