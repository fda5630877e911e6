import type { Command } from 'commander';
import { configOption } from '../options.js';

export function register(program: Command): void {
  program
    .command('manifests')
    .description('print the Kubernetes objects the certificates rely on (kubeadm: the ClusterRoleBinding kubeadm:cluster-admins), as YAML for kubectl apply -f -')
    .addOption(configOption())
    .action(async (opts: { config?: string }) => {
      const { loadClusterOption } = await import('../cluster-option.js');
      const { manifestsYaml } = await import('../../manifests/manifests.js');
      process.stdout.write(manifestsYaml(await loadClusterOption(opts.config)));
    });
}
