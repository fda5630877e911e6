import { Option, type Command } from 'commander';
import { configOption, jsonOption, outOption } from '../options.js';

export function register(program: Command): void {
  const token = program.command('token').description('bootstrap tokens for kubelet TLS bootstrap (like kubeadm token), kept in the PKI folder (docs/bootstrap.md)');
  token
    .command('create')
    .description('make a bootstrap token; print it once on standard output (never with --json), keep its Secret in the folder (0600) and write bootstrap-kubeconfig with it')
    .addOption(new Option('--ttl <duration>', 'how long it authenticates: 24h, 90m, 7d…').default('24h'))
    .addOption(new Option('--description <text>', 'what it is for, kept in its Secret').default('kube-pki: kubelet TLS bootstrap'))
    .addOption(configOption())
    .addOption(outOption())
    .addOption(jsonOption())
    .action(async (opts: { ttl: string; description: string; config?: string; out: string; json?: boolean }) => {
      const { loadClusterOption } = await import('../cluster-option.js');
      const { createToken } = await import('../../bootstrap/token-command.js');
      const created = await createToken(await loadClusterOption(opts.config), opts.out, opts.ttl, opts.description);
      if (opts.json) {
        process.stdout.write(`${JSON.stringify({ result: 'created', ...created.summary, bootstrapKubeconfig: created.bootstrapKubeconfig, notes: created.notes })}\n`);
        return;
      }
      for (const n of created.notes) process.stderr.write(`kube-pki: ${n}\n`);
      process.stderr.write(`kube-pki: token ${created.summary.id} valid until ${created.summary.expiration}${created.bootstrapKubeconfig ? `; in ${created.bootstrapKubeconfig}` : ''}\n`);
      process.stdout.write(`${created.token}\n`);
    });
  token
    .command('list')
    .description('the bootstrap tokens of the folder: id, expiry, description (never the secret)')
    .addOption(outOption())
    .addOption(jsonOption())
    .action(async (opts: { out: string; json?: boolean }) => {
      const { listTokens, formatTokens } = await import('../../bootstrap/token-command.js');
      const list = await listTokens(opts.out);
      process.stdout.write(opts.json ? `${JSON.stringify(list, null, 2)}\n` : formatTokens(list));
    });
  token
    .command('delete')
    .description('remove a bootstrap token from the folder (by id, or the token) and rewrite bootstrap-kubeconfig; prints the kubectl command that removes it from the cluster')
    .argument('<id>', 'the token id (or the whole token)')
    .addOption(configOption())
    .addOption(outOption())
    .addOption(jsonOption())
    .action(async (id: string, opts: { config?: string; out: string; json?: boolean }) => {
      const { loadClusterOption } = await import('../cluster-option.js');
      const { removeToken } = await import('../../bootstrap/token-command.js');
      const r = await removeToken(await loadClusterOption(opts.config), opts.out, id);
      if (opts.json) process.stdout.write(`${JSON.stringify({ result: 'deleted', ...r })}\n`);
      else process.stderr.write(`kube-pki: deleted token ${r.id}\n${r.notes.map((n) => `kube-pki: ${n}\n`).join('')}`);
    });
}
