import { Option, type Command } from 'commander';
import { collect, configOption, outOption, positiveInt } from '../options.js';

export function register(program: Command): void {
  const kubeconfig = program.command('kubeconfig').description('kubeconfig files for people (like kubeadm kubeconfig)');
  kubeconfig
    .command('user')
    .description(
      'a client certificate (CN=NAME, O=each group) signed by the cluster CA and a kubeconfig that embeds it, printed on standard output ' +
        'or written 0600 to --kubeconfig-file; recorded in the PKI folder\'s users.json (it cannot be revoked: check lists it until it expires). ' +
        'Exit 0 done, 1 failed, 2 bad input',
    )
    .argument('<name>', 'the user name (the certificate\'s CN)')
    .option('--group <group>', 'a group (O=); repeat for more', collect, [])
    .addOption(new Option('--days <n>', 'validity in days (default 1: it cannot be revoked, only expire)').argParser(positiveInt))
    .option('--kubeconfig-file <file>', 'write the kubeconfig to FILE (0600) instead of standard output')
    .option('--force', 'replace an existing --kubeconfig-file')
    .addOption(configOption())
    .addOption(outOption())
    .action(async (name: string, opts: { group: string[]; days?: number; kubeconfigFile?: string; force?: boolean; config?: string; out: string }) => {
      const { loadClusterOption } = await import('../cluster-option.js');
      const { issueUserKubeconfig } = await import('../../user/user.js');
      const cluster = await loadClusterOption(opts.config);
      const result = await issueUserKubeconfig(cluster, opts.out, {
        name,
        groups: opts.group,
        ...(opts.days !== undefined ? { days: opts.days } : {}),
        ...(opts.kubeconfigFile !== undefined ? { kubeconfigFile: opts.kubeconfigFile } : {}),
        force: !!opts.force,
      });
      for (const w of result.warnings) process.stderr.write(`kube-pki: warning: ${w}\n`);
      const e = result.entry;
      // The serial and expiry only: never the key. On stderr, so stdout stays a kubeconfig.
      process.stderr.write(`kube-pki: issued ${e.name} (serial ${e.serial}) valid until ${e.notAfter}${opts.kubeconfigFile ? `; wrote ${opts.kubeconfigFile}` : ''}\n`);
      if (result.kubeconfig) process.stdout.write(result.kubeconfig);
    });
}
