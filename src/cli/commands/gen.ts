import { Option, type Command } from 'commander';
import { caPassphraseOption, caPinOption, collect, configOption, jsonOption, outOption, positiveInt } from '../options.js';
import { addRemoteOptions, distributeAfterGen } from './distribute.js';

export function register(program: Command): void {
  const command = program
    .command('gen', { isDefault: true })
    .description('generate the CAs, certificates, key pairs and kubeconfigs (what `npm run certs` runs)')
    .addOption(configOption())
    .addOption(outOption())
    .option('--dry-run', 'print the plan (actions and openssl commands); write nothing')
    .option('--force', 're-issue certificates and kubeconfigs that no longer match the description (keys are kept)')
    .option('--replace-ca', 'replace the CA key and certificate (old ones backed up) and re-issue every certificate')
    .addOption(new Option('--ca <name>', 'with --replace-ca: replace only this CA (repeatable: ca, etcd-ca, front-proxy-ca…) and re-issue what it signs').argParser(collect))
    .addOption(caPassphraseOption())
    .addOption(caPinOption())
    .addOption(jsonOption())
    .addOption(new Option('--concurrency <n>', 'openssl processes at once (default: CPU count)').argParser(positiveInt))
    .option('--distribute', 'then copy each node its files over SSH, as `kube-pki distribute` (SSH options below)');
  addRemoteOptions(command).action(async (opts) => {
    const { loadClusterOption } = await import('../cluster-option.js');
    const { gen } = await import('../../gen/gen.js');
    const cluster = await loadClusterOption(opts.config);
    const then = opts.distribute ? await distributeAfterGen(cluster, opts) : undefined; // bad SSH settings: exit 2 before writing
    const { exitCode } = await gen(cluster, opts);
    if (then && exitCode !== 0) process.stderr.write(`kube-pki: not distributed: gen ended with exit ${exitCode}; fix that first, then run kube-pki distribute\n`);
    process.exitCode = then && exitCode === 0 ? await then() : exitCode;
  });
}
