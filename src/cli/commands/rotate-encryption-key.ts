import type { Command } from 'commander';
import { configOption, jsonOption, outOption } from '../options.js';
import { addRemoteOptions, phaseThenDistribute } from './distribute.js';

const PHASES = {
  start: 'add a new key second in encryption-config.yaml: every kube-apiserver can decrypt with it; the old key still encrypts',
  promote: 'make the new key first: it encrypts from now on; then re-encrypt every Secret (the command is printed)',
  finish: 'remove the old key (the file with it is archived in the backup folder)',
  status: 'where the rotation stands, read from encryption-config.yaml (key names only, never the keys)',
} as const;

export function register(program: Command): void {
  const rotate = program
    .command('rotate-encryption-key')
    .description('rotate the key that encrypts Secrets at rest in three phases: start, promote, (re-encrypt) finish (see docs/encryption.md)');
  for (const [phase, description] of Object.entries(PHASES) as [keyof typeof PHASES, string][]) {
    const command = rotate.command(phase).description(description).addOption(configOption()).addOption(outOption()).addOption(jsonOption());
    if (phase !== 'status') {
      command.option('--dry-run', 'print what the phase changes and the restarts; write nothing');
      command.option('--distribute', 'then copy each node its files over SSH, as `kube-pki distribute` (SSH options below)');
      addRemoteOptions(command);
    }
    command.exitOverride();
    command.action(async (opts) => {
      const { loadClusterOption } = await import('../cluster-option.js');
      const { rotateEncryptionKeyCommand } = await import('../rotate-encryption-key.js');
      const cluster = await loadClusterOption(opts.config);
      process.exitCode = await phaseThenDistribute(cluster, opts, `rotate-encryption-key ${phase}`, () => rotateEncryptionKeyCommand(cluster, phase, opts));
    });
  }
  rotate.exitOverride();
}
