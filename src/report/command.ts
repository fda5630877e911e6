import { readFile, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { Cluster } from '../model/cluster.js';
import { EXIT, UserError } from '../errors.js';
import { explainCert } from '../explain/explain.js';
import { explainText } from '../explain/format.js';
import { writeFileAtomic } from '../files/atomic.js';
import { hasProblems, pkiView } from '../graph/model.js';
import { reportPage } from './page.js';

const MARK = '<meta name="generator" content="kube-pki report">';
const REPORT_MODE = 0o644;

/**
 * --html must name a file in an existing folder, and an existing file there must be an earlier
 * report: a mistyped path (pki/ca.key) is refused, never overwritten.
 */
async function checkTarget(file: string): Promise<string> {
  const path = resolve(file);
  const dir = await stat(dirname(path)).catch(() => null);
  if (!dir?.isDirectory()) throw new UserError(`--html ${JSON.stringify(file)}: the folder ${dirname(path)} does not exist`, EXIT.badInput);
  const st = await stat(path).catch(() => null);
  if (!st) return path;
  if (!st.isFile()) throw new UserError(`--html ${JSON.stringify(file)}: is not a file (${path})`, EXIT.badInput);
  const head = (await readFile(path)).subarray(0, 4096).toString('utf8');
  if (!head.includes(MARK)) throw new UserError(`--html ${JSON.stringify(file)}: ${path} exists and is not a kube-pki report; refusing to overwrite it`, EXIT.badInput);
  return path;
}

/** `kube-pki report --html FILE`: one self-contained page; the exit code says whether it shows problems. */
export async function reportCommand(cluster: Cluster, opts: { html: string; out: string }): Promise<number> {
  const path = await checkTarget(opts.html);
  const view = await pkiView(cluster, opts.out);
  const explain = new Map<string, string>();
  for (const c of [...view.cas, ...view.certs]) explain.set(c.name, explainText(await explainCert(cluster, c.name, opts.out)));
  const page = reportPage({ view, explain });
  if (!page.includes(MARK)) throw new Error('report: the page lost its generator mark');
  await writeFileAtomic(path, page, REPORT_MODE);
  process.stdout.write(`wrote ${opts.html}: ${view.folder === 'present' ? (hasProblems(view) ? 'problems shown' : 'all good') : 'planned (nothing generated yet)'}\n`);
  return hasProblems(view) ? EXIT.failed : EXIT.ok;
}
