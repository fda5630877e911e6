import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { approvePass, formatDecision, type Decision } from '../bootstrap/approve.js';
import { EXIT, UserError } from '../errors.js';
import type { Cluster } from '../model/cluster.js';
import { instancesFor } from '../pki.js';

/** The folder's admin kubeconfig: hardway admin.kubeconfig, kubeadm the first control plane's admin.conf. */
function adminKubeconfig(cluster: Cluster, out: string): string {
  const admin = instancesFor(cluster).kubeconfigs.find((k) => k.spec.id === 'admin');
  const path = admin && join(out, admin.path);
  if (!path || !existsSync(path)) throw new UserError(`no admin kubeconfig in ${out}: give one with --kubeconfig FILE`, EXIT.badInput);
  return path;
}

export async function approveCsrs(cluster: Cluster, opts: { watch?: boolean; interval: number; kubeconfig?: string; out: string; json?: boolean }): Promise<number> {
  const kubeconfig = opts.kubeconfig ?? adminKubeconfig(cluster, opts.out);
  if (!existsSync(kubeconfig)) throw new UserError(`--kubeconfig: ${kubeconfig}: no such file`, EXIT.badInput);
  const show = (d: Decision) => (opts.json ? process.stdout.write(`${JSON.stringify(d)}\n`) : process.stdout.write(`${formatDecision(d)}\n`));
  if (!opts.watch) {
    const decisions = await approvePass(cluster, kubeconfig);
    if (opts.json) process.stdout.write(`${JSON.stringify({ decisions }, null, 2)}\n`);
    else if (!decisions.length) process.stdout.write('No pending kubelet-serving CSRs.\n');
    else for (const d of decisions) show(d);
    return EXIT.ok;
  }
  // --watch: one JSON line per decision (or one text line), until SIGINT/SIGTERM ends the loop cleanly.
  let stop = false;
  let wake: () => void = () => {};
  const end = () => {
    stop = true;
    wake();
  };
  process.once('SIGINT', end);
  process.once('SIGTERM', end);
  while (!stop) {
    try {
      for (const d of await approvePass(cluster, kubeconfig)) show(d);
    } catch (err) {
      // An apiserver that is away for a moment (a rolling restart) is waited for, not fatal.
      process.stderr.write(`kube-pki: approve-csrs: ${(err as Error).message}; trying again\n`);
    }
    if (stop) break;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, opts.interval * 1000);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
  return EXIT.ok;
}
