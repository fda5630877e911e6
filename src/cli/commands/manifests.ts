import type { Command } from 'commander';
import { configOption, outOption } from '../options.js';

export function register(program: Command): void {
  program
    .command('manifests')
    .description('print the Kubernetes objects the certificates rely on (kubeadm: the ClusterRoleBinding kubeadm:cluster-admins; bootstrap workers: the TLS-bootstrap bindings and the folder\'s tokens), as YAML for kubectl apply -f -')
    .addOption(configOption())
    .addOption(outOption())
    .action(async (opts: { config?: string; out: string }) => {
      const { loadClusterOption } = await import('../cluster-option.js');
      const { manifestsYaml } = await import('../../manifests/manifests.js');
      const { readTokens } = await import('../../bootstrap/store.js');
      const cluster = await loadClusterOption(opts.config);
      const { usesBootstrap } = await import('../../catalog/bootstrap.js');
      process.stdout.write(manifestsYaml(cluster, usesBootstrap(cluster) ? await readTokens(opts.out) : []));
    });
}
