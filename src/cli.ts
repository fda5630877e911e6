#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { EXIT, UserError } from './errors.js';
import * as gen from './cli/commands/gen.js';
import * as init from './cli/commands/init.js';
import * as script from './cli/commands/script.js';
import * as check from './cli/commands/check.js';
import * as renew from './cli/commands/renew.js';
import * as explain from './cli/commands/explain.js';
import * as distribute from './cli/commands/distribute.js';
import * as flags from './cli/commands/flags.js';
import * as kubectlCommands from './cli/commands/kubectl-commands.js';
import * as csr from './cli/commands/csr.js';
import * as graph from './cli/commands/graph.js';
import * as report from './cli/commands/report.js';
import * as rotateCa from './cli/commands/rotate-ca.js';
import * as rotateSa from './cli/commands/rotate-sa.js';
import * as renewCa from './cli/commands/renew-ca.js';
import * as manifests from './cli/commands/manifests.js';
import * as alerts from './cli/commands/alerts.js';
import * as systemd from './cli/commands/systemd.js';
import * as kubeconfig from './cli/commands/kubeconfig.js';
import * as token from './cli/commands/token.js';
import * as approveCsrs from './cli/commands/approve-csrs.js';
import * as root from './cli/commands/root.js';
import * as rotateEncryptionKey from './cli/commands/rotate-encryption-key.js';

// Each command lives in src/cli/commands/<name>.ts and registers itself; its work is imported
// lazily so that `gen` does not pay for loading ssh2 and the rest.
const COMMANDS: { register(program: Command): void }[] = [gen, init, script, check, renew, explain, distribute, flags, kubectlCommands, csr, graph, report, rotateCa, renewCa, rotateSa, manifests, alerts, systemd, kubeconfig, token, approveCsrs, rotateEncryptionKey, root];

export function buildProgram(): Command {
  const program = new Command()
    .name('kube-pki')
    .description("Builds a Kubernetes cluster's PKI with openssl and puts every file on the node that needs it.")
    .version('0.1.0')
    .showHelpAfterError('(kube-pki --help, or kube-pki help COMMAND, for usage)')
    .exitOverride();
  for (const command of COMMANDS) command.register(program);
  for (const sub of program.commands) sub.exitOverride();
  return program;
}

/** gen is the default command, so a mistyped command would otherwise read as an argument to gen. */
function unknownCommand(program: Command, argv: string[]): string | undefined {
  const first = argv[2];
  if (!first || first.startsWith('-')) return undefined;
  const known = program.commands.flatMap((c) => [c.name(), ...c.aliases()]);
  return known.includes(first) || first === 'help' ? undefined : first;
}

async function main(argv: string[]): Promise<number> {
  const json = argv.includes('--json');
  try {
    const program = buildProgram();
    const unknown = unknownCommand(program, argv);
    if (unknown) throw new UserError(`unknown command ${JSON.stringify(unknown)}; the commands are: ${program.commands.map((c) => c.name()).join(', ')}`);
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version are not errors; anything else commander rejects is bad usage.
      return err.exitCode === 0 ? EXIT.ok : EXIT.badInput;
    }
    if (err instanceof UserError) {
      process.stderr.write(`kube-pki: ${err.message.replace(/\n/g, '\nkube-pki: ')}\n`);
      // A script that asked for JSON gets JSON on stdout when kube-pki refuses its input (description,
      // file or value). Errors commander reports itself (unknown flag, missing or bad flag value) come
      // as its text on stderr only, exit 2 (above).
      if (json) process.stdout.write(`${JSON.stringify({ result: 'error', exitCode: err.exitCode, error: err.message })}\n`);
      return err.exitCode;
    }
    process.stderr.write(`kube-pki: unexpected error: ${(err as Error).stack ?? String(err)}\n`);
    return EXIT.failed;
  }
}

// A closed pipe (kube-pki gen | head) must not crash a run half-way: keep working, stop printing.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
  });
}

process.exitCode = await main(process.argv);
