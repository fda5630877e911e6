import { existsSync } from 'node:fs';
import { chown, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

// The restart command the unattended tests put in the description, `[sh, restart.sh, COMPONENT]`: the
// sshd nodes run commands as their own test user, while the components run as the test's processes. So
// the script asks the test's supervisor (this process) to restart COMPONENT on its node and waits for the
// answer: a restart by the test's own process supervisor, as systemctl asks systemd.

export const RESTART_SCRIPT = `#!/bin/sh
# Asks the test's supervisor to restart component $1 on this node, then waits for its answer (an exit status).
rm -f restart.done
echo "$1" > restart.request.tmp && mv restart.request.tmp restart.request
i=0
while [ ! -e restart.done ]; do
  sleep 0.2
  i=$((i + 1))
  [ "$i" -lt 1500 ] || { echo "the supervisor did not answer" >&2; exit 1; }
done
read status < restart.done
exit "$status"
`;

export interface SupervisedNode {
  name: string;
  home: string;
  uid: number;
}

export class RestartSupervisor {
  private running = true;
  private readonly loop: Promise<void>;

  /** `restart` does the work; a throw answers exit 1 (the message goes nowhere: kube-pki sees the exit status). */
  constructor(
    readonly nodes: SupervisedNode[],
    restart: (node: string, component: string) => Promise<void>,
  ) {
    this.loop = (async () => {
      while (this.running) {
        for (const node of nodes) {
          const request = join(node.home, 'restart.request');
          if (!existsSync(request)) continue;
          const component = (await readFile(request, 'utf8')).trim();
          await rm(request, { force: true });
          const status = await restart(node.name, component).then(
            () => 0,
            () => 1,
          );
          // Whole or not at all: the script reads it as soon as it exists.
          const done = join(node.home, 'restart.done');
          await writeFile(`${done}.tmp`, `${status}\n`);
          await chown(`${done}.tmp`, node.uid, node.uid);
          await rename(`${done}.tmp`, done);
        }
        await new Promise((r) => setTimeout(r, 200));
      }
    })();
  }

  static async install(node: SupervisedNode): Promise<void> {
    await writeFile(join(node.home, 'restart.sh'), RESTART_SCRIPT, { mode: 0o755 });
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }
}
