import { execa } from 'execa';
import { chmod, cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ROOT } from './cli.js';

// The Vagrant lab without VirtualBox: copies of the lab's files, a stub VBoxManage, and the Vagrantfile
// loaded by a fake `Vagrant.configure` (test/helpers/fake-vagrant.rb).

export const FAKE_VAGRANT = join(ROOT, 'test', 'helpers', 'fake-vagrant.rb');

/** The lab's files (Vagrantfile, cluster.yaml, scripts/) in DIR, with changes, as a user would have them. */
export async function labCopy(
  dir: string,
  change: { clusterYaml?: string; vagrantfile?: (text: string) => string } = {},
): Promise<string> {
  await mkdir(dir, { recursive: true });
  await cp(join(ROOT, 'scripts'), join(dir, 'scripts'), { recursive: true });
  const vagrantfile = await readFile(join(ROOT, 'Vagrantfile'), 'utf8');
  await writeFile(join(dir, 'Vagrantfile'), change.vagrantfile ? change.vagrantfile(vagrantfile) : vagrantfile);
  await writeFile(join(dir, 'cluster.yaml'), change.clusterYaml ?? (await readFile(join(ROOT, 'cluster.yaml'), 'utf8')));
  return dir;
}

/**
 * `vagrant validate` in DIR with the VirtualBox provider forced: a stub VBoxManage that answers only
 * --version makes the provider usable, so its settings are checked; without it vagrant gives up on
 * VirtualBox and the provider block is never validated. Vagrant's own state goes under DIR.
 */
export async function vagrantValidate(dir: string) {
  const stubs = join(dir, '.stub-bin');
  await mkdir(stubs, { recursive: true });
  const stub = join(stubs, 'VBoxManage');
  await writeFile(
    stub,
    '#!/bin/sh\n[ "$1" = --version ] && { echo 7.0.14r161095; exit 0; }\necho "stub VBoxManage: only --version" >&2\nexit 1\n',
  );
  await chmod(stub, 0o755);
  return execa('vagrant', ['validate'], {
    cwd: dir,
    reject: false,
    stdin: 'ignore',
    env: {
      PATH: `${stubs}:${process.env.PATH}`,
      VAGRANT_DEFAULT_PROVIDER: 'virtualbox',
      VAGRANT_CHECKPOINT_DISABLE: '1',
      VAGRANT_HOME: join(dir, '.vagrant.d'),
      VAGRANT_DOTFILE_PATH: join(dir, '.vagrant'),
    },
  });
}

export interface LabMachine {
  name: string;
  primary: boolean;
  hostname: string;
  box: string;
  networks: { type: string; ip: string }[];
  synced_folders: { host: string; guest: string; disabled: boolean }[];
  provisioners: { name: string; type: string; path?: string; env?: Record<string, string> }[];
  provider: { virtualbox?: { memory: number; cpus: number } };
}

export interface LabDump {
  box: string;
  machines: LabMachine[];
  triggers: { stage: string; actions: string[]; name: string; ruby: boolean }[];
}

/** What the Vagrantfile in DIR defines, read by the fake `Vagrant.configure`. */
export async function vagrantDump(dir: string, env: Record<string, string> = {}): Promise<LabDump> {
  const r = await execa('ruby', [FAKE_VAGRANT, 'dump', join(dir, 'Vagrantfile')], { env, stdin: 'ignore' });
  return JSON.parse(r.stdout) as LabDump;
}

export interface UpSpec {
  /** The machines `vagrant up` brings up, in order; their after-up triggers fire. */
  order: string[];
  /** Machines already running before. */
  running?: string[];
  machines: Record<string, { root: string; user: string }>;
}

/** Fires the Vagrantfile's after-up triggers as `vagrant up` would, on machines simulated on this host. */
export async function vagrantUp(dir: string, spec: UpSpec) {
  const specFile = join(dir, 'up-spec.json');
  await writeFile(specFile, JSON.stringify(spec));
  return execa('ruby', [FAKE_VAGRANT, 'up', join(dir, 'Vagrantfile'), specFile], { reject: false, stdin: 'ignore' });
}
