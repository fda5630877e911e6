import { Option, type Command } from 'commander';
import { configOption, jsonOption } from '../options.js';

export function register(program: Command): void {
  program
    .command('flags')
    .description('print the certificate flags of kube-apiserver, kube-controller-manager, etcd, etcdctl… with the files\' paths on the nodes')
    .argument('[component]', 'only this component, e.g. kube-apiserver')
    .addOption(configOption())
    .addOption(new Option('--dir <path>', 'the folder the files are in on the nodes (default: where kube-pki distribute puts them: ssh.remoteDir, else /etc/kubernetes for kubeadm, ~/pki of the SSH user for hardway)'))
    .addOption(new Option('-o, --out <dir>', 'the local PKI folder whose CA rotation phase decides the trust files (when --dir is not a local folder)'))
    .addOption(jsonOption())
    .action(async (component: string | undefined, opts) => {
      const { loadClusterOption } = await import('../cluster-option.js');
      const { flags } = await import('../flags.js');
      process.stdout.write(flags(await loadClusterOption(opts.config), component, opts));
    });
}
