import type { Command } from 'commander';
import { configOption, jsonOption, outOption } from '../options.js';

export function register(program: Command): void {
  program
    .command('explain')
    .description('explain one certificate (or kubeadm\'s service-account key pair): who uses it, why its CN, O and SANs, its usages, files, and the openssl commands and openssl.cnf that make it')
    .argument('<name>', 'catalog name (kube-apiserver, admin, worker-1, kubelet, sa), file (admin.crt, sa.key) or kubeconfig (admin.kubeconfig); encryption-config for the key of Secrets at rest')
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
      const { explainKeyPair, keyPairNamed, keyPairText } = await import('../../explain/token-key.js');
      const { instancesFor } = await import('../../pki.js');
      if (keyPairNamed(instancesFor(cluster), name)) {
        const report = await explainKeyPair(cluster, name, opts.out);
        process.stdout.write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : keyPairText(report));
        return;
      }
      // The hard way's new pair of a token key rotation (service-account-new.*) is explained with its certificate.
      const { saFiles } = await import('../../inspect/sa-rotation.js');
      const sa = saFiles(instancesFor(cluster));
      const report = await explainCert(cluster, sa && [sa.next.key, sa.next.pub].includes(name) ? sa.name : name, opts.out);
      process.stdout.write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : explainText(report));
    });
}
