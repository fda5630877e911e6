import { basename, dirname, resolve } from 'node:path';
import type { Cluster } from '../model/cluster.js';
import { EXIT, UserError } from '../errors.js';
import { instancesFor } from '../pki.js';
import { kubeconfigSource } from '../kubeconfig/source.js';
import type { KubeconfigInstance } from '../model/instances.js';
import { shellQuote } from '../util/shell.js';

/**
 * `kube-pki kubectl-commands [KUBECONFIG]`: the four `kubectl config` commands per kubeconfig that
 * the Kubernetes documentation uses, for a learner; gen writes the same files without kubectl.
 */
export function kubectlCommands(cluster: Cluster, out: string, only: string | undefined): string {
  const instances = instancesFor(cluster);
  const matches = (kc: KubeconfigInstance) => only === undefined || [kc.name, kc.path, basename(kc.path), kc.node?.name].includes(only);
  const chosen = instances.kubeconfigs.filter(matches);
  if (chosen.length === 0)
    throw new UserError(`no kubeconfig matches ${JSON.stringify(only)}: give a node name, a file name or one of ${instances.kubeconfigs.map((k) => k.path).join(', ')}`, EXIT.badInput);
  const lines = [
    '#!/usr/bin/env bash',
    `# The kubeconfigs of the ${cluster.profile} PKI (${cluster.source}) made with kubectl, as the Kubernetes documentation does.`,
    '# kube-pki gen writes the same files itself; run this in the PKI folder after gen made the certificates.',
    'set -euo pipefail',
    'umask 077',
    `cd ${shellQuote(resolve(out))}`,
  ];
  for (const kc of chosen) {
    const s = kubeconfigSource(instances, kc);
    const env = `KUBECONFIG=${shellQuote(kc.path)} kubectl config`;
    lines.push(
      '',
      `# ${kc.path}: ${kc.spec.explain.purpose}`,
      ...(dirname(kc.path) === '.' ? [] : [`mkdir -p ${shellQuote(dirname(kc.path))}`]),
      `${env} set-cluster ${shellQuote(s.clusterName)} --server=${shellQuote(s.server)} --certificate-authority=${shellQuote(s.caFile)} --embed-certs=true`,
      `${env} set-credentials ${shellQuote(s.userName)} --client-certificate=${shellQuote(s.certFile)} --client-key=${shellQuote(s.keyFile)} --embed-certs=true`,
      `${env} set-context ${shellQuote(s.contextName)} --cluster=${shellQuote(s.clusterName)} --user=${shellQuote(s.userName)}`,
      `${env} use-context ${shellQuote(s.contextName)}`,
    );
  }
  return `${lines.join('\n')}\n`;
}
