import type { Command } from 'commander';
import { configOption, jsonOption, outOption } from '../options.js';

export function register(program: Command): void {
  program
    .command('explain')
    .description('explain one certificate: who uses it, why its CN, O and SANs, its usages, files, and the openssl commands and openssl.cnf that make it')
    .argument('<name>', 'catalog name (kube-apiserver, admin, worker-1, kubelet), file (admin.crt) or kubeconfig (admin.kubeconfig); encryption-config for the key of Secrets at rest')
    .addOption(configOption())
    .addOption(outOption())
    .addOption(jsonOption())
    .action(async (name: string, opts: { config?: string; out: string; json?: boolean }) => {
      const { loadClusterOption } = await import('../cluster-option.js');
      const { explainCert } = await import('../../explain/explain.js');
      const { explainText } = await import('../../explain/format.js');
      const cluster = await loadClusterOption(opts.config);
      const encryption = await import('../../explain/encryption.js');
      if (encryption.isEncryptionName(name)) {
        const e = await encryption.explainEncryption(cluster, opts.out);
        process.stdout.write(opts.json ? `${JSON.stringify(e, null, 2)}\n` : encryption.encryptionText(e));
        return;
      }
      const report = await explainCert(cluster, name, opts.out);
      process.stdout.write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : explainText(report));
    });
}
