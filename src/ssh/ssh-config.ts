import { readFile } from 'node:fs/promises';
import SSHConfig from 'ssh-config';
import { EXIT, UserError } from '../errors.js';

/** The settings kube-pki takes from an OpenSSH config file (e.g. `vagrant ssh-config > FILE`). */
export interface SshConfigEntry {
  HostName?: string;
  Port?: string;
  User?: string;
  IdentityFile?: string;
  /** Directives that change how the connection is made, which kube-pki cannot honour: refused by name. */
  unsupported?: Partial<Record<(typeof REFUSED)[number], string>>;
}

const TAKEN = ['HostName', 'Port', 'User', 'IdentityFile'] as const;
/** Connecting through another host: ignoring them would connect somewhere else than the user meant. */
const REFUSED = ['ProxyJump', 'ProxyCommand'] as const;

/**
 * Reads FILE and returns a lookup by host alias (the node name), with OpenSSH's first-match-wins
 * rule across Host sections. `Match exec` is never run. ProxyJump and ProxyCommand are returned as
 * unsupported (the caller refuses them). Other directives (StrictHostKeyChecking, UserKnownHostsFile,
 * ...) are ignored on purpose: host keys are always verified.
 */
export async function readSshConfig(path: string): Promise<(alias: string) => SshConfigEntry> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new UserError(`--ssh-config ${path}: cannot read it (${(err as NodeJS.ErrnoException).code ?? err})`, EXIT.badInput);
  }
  let config: SSHConfig;
  try {
    config = SSHConfig.parse(text);
  } catch (err) {
    throw new UserError(`--ssh-config ${path}: not OpenSSH config syntax: ${(err as Error).message}`, EXIT.badInput);
  }
  return (alias) => {
    const computed = config.compute(alias, { ignoreCase: true, matchExec: false });
    const entry: SshConfigEntry = {};
    for (const key of TAKEN) {
      const raw = computed[key.toLowerCase()];
      const value = Array.isArray(raw) ? raw[0] : raw;
      if (value !== undefined) entry[key] = value;
    }
    for (const key of REFUSED) {
      const raw = computed[key.toLowerCase()];
      const value = Array.isArray(raw) ? raw.join(' ') : raw;
      // "none" switches it off (OpenSSH), as for a Host * default overridden per host.
      if (value !== undefined && value.toLowerCase() !== 'none') (entry.unsupported ??= {})[key] = value;
    }
    return entry;
  };
}
