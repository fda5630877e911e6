import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { kubectl } from '../helpers/apiserver.js';
import { kubePki, tempDir } from '../helpers/cli.js';
import { startHardwayPlane, type HardwayPlane } from '../helpers/hardway-plane.js';
import { whoami } from '../helpers/identity.js';
import { jwtSignedBy } from '../helpers/jwt.js';
import { waitFor } from '../helpers/processes.js';
import { ReadyzProbe } from '../helpers/probe.js';

// Issue 23: rotate-sa start, promote and finish on a running hard-way control plane of two nodes
// behind haproxy, each phase distributed and followed by the rolling restart the command prints, one
// node at a time (rotate-sa restarts no etcd, so two members keep quorum). Probes ask /readyz through
// haproxy several times a second, with the admin's client certificate and with a service-account
// token: every request must succeed, so the token authenticates on whichever apiserver answers.

interface Restart {
  node: string;
  components: string[];
}

const SA_USER = 'system:serviceaccount:default:default';

describe('rotate-sa on a running hard-way control plane (2 nodes, haproxy in front)', () => {
  let plane: HardwayPlane;
  let cleanup: () => Promise<void>;
  let dir: string;

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('kube-pki-cp-rotate-sa-'));
    plane = await startHardwayPlane({ net: 32, masters: 2, workers: [], dir });
    await plane.cp.startAll();
  }, 300_000);
  afterAll(async () => {
    await plane?.stop();
    await cleanup?.();
  });

  /**
   * A phase with --distribute (its restart list from the dry run's --json: --distribute prints text),
   * then the rolling restart in the printed order.
   */
  async function phase(name: string): Promise<Restart[]> {
    const base = ['rotate-sa', name, '--config', plane.config, '--out', plane.out];
    const dry = await kubePki([...base, '--dry-run', '--json']);
    expect(dry.exitCode, `${dry.stdout}\n${dry.stderr}`).toBe(0);
    const planned = JSON.parse(dry.stdout) as { restart: Restart[] };
    const r = await kubePki([...base, '--distribute', '--known-hosts', plane.knownHosts], { env: { SSH_AUTH_SOCK: '' } });
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toContain('Restart, one node at a time');
    const status = JSON.parse((await kubePki(['rotate-sa', 'status', '--config', plane.config, '--out', plane.out, '--json'])).stdout) as { state: string; complete: boolean };
    expect(status).toMatchObject({ state: name === 'finish' ? 'none' : name, complete: true });
    for (const step of planned.restart) await plane.cp.restart(plane.cp.node(step.node), step.components);
    return planned.restart;
  }

  /** A kubeconfig that authenticates with a bearer token, through the load balancer. */
  async function tokenKubeconfig(name: string, token: string): Promise<string> {
    const file = join(dir, `${name}.kubeconfig`);
    const ca = (await readFile(join(plane.out, 'ca.crt'))).toString('base64');
    const server = `https://${plane.cp.o.lb.ip}:${plane.cp.o.lb.port}`;
    await writeFile(
      file,
      stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'lab', cluster: { server, 'certificate-authority-data': ca } }],
        users: [{ name, user: { token } }],
        contexts: [{ name, context: { cluster: 'lab', user: name } }],
        'current-context': name,
      }),
      { mode: 0o600 },
    );
    return file;
  }

  const createToken = async (admin: string) => {
    const r = await kubectl(admin, ['create', 'token', 'default', '--duration=2h']);
    expect(r.exitCode, r.stderr).toBe(0);
    return r.stdout.trim();
  };

  const noFailures = (probe: ReadyzProbe, what: string) => {
    const failures = probe.samples.filter((s) => !s.ok);
    console.info(`${what}: ${probe.samples.length} requests, ${failures.length} failed`);
    expect(probe.samples.length, what).toBeGreaterThan(20);
    expect(failures, `${what}: ${JSON.stringify(failures.slice(0, 5))}`).toEqual([]);
    expect(probe.samples.filter((s) => s.upServers === 0), what).toEqual([]);
  };

  it('an old token lives through promote and dies at finish; a new token is signed by the new key only; no request fails', async () => {
    const admin = join(plane.dirOf('master-1'), 'admin.kubeconfig');
    await waitFor(async () => (await kubectl(admin, ['get', 'serviceaccount', 'default'])).exitCode === 0, 'the default service account', 60_000);
    const oldToken = await createToken(admin);
    const oldPub = await readFile(join(plane.out, 'service-account.crt'));
    expect(jwtSignedBy(oldToken, oldPub)).toBe(true);
    const oldTokenConfig = await tokenKubeconfig('old-token', oldToken);
    expect(await whoami(oldTokenConfig)).toMatchObject({ username: SA_USER });

    // start and promote: both probes (client certificate, old token) run through both rolling restarts.
    const adminProbe = new ReadyzProbe(admin, plane.cp);
    const oldTokenProbe = new ReadyzProbe(oldTokenConfig, plane.cp);
    let startRestarts: Restart[];
    let promoteRestarts: Restart[];
    try {
      startRestarts = await phase('start');
      // After start (all restarted): still signed with the old key.
      expect(jwtSignedBy(await createToken(admin), oldPub)).toBe(true);
      promoteRestarts = await phase('promote');
    } finally {
      await adminProbe.stop();
      await oldTokenProbe.stop();
    }
    noFailures(adminProbe, 'admin probe, start and promote');
    noFailures(oldTokenProbe, 'old-token probe, start and promote');
    expect(startRestarts.map((r) => `${r.node}:${r.components.join('+')}`)).toEqual(['master-1:kube-apiserver', 'master-2:kube-apiserver']);
    expect(promoteRestarts.map((r) => `${r.node}:${r.components.join('+')}`)).toEqual(['master-1:kube-apiserver+kube-controller-manager', 'master-2:kube-apiserver+kube-controller-manager']);
    // Every apiserver was started with both public keys, the new key signing.
    const args = await readFile(join(plane.cp.o.work, 'master-2-kube-apiserver.log.args'), 'utf8');
    expect(args.match(/^--service-account-key-file=.*$/gm)).toEqual([`--service-account-key-file=${plane.dirOf('master-2')}/service-account.crt`, `--service-account-key-file=${plane.dirOf('master-2')}/service-account-new.crt`]);
    expect(args).toContain(`--service-account-signing-key-file=${plane.dirOf('master-2')}/service-account-new.key`);

    // A token issued after promote: the new key signed it, the old one did not; it authenticates.
    const newPub = await readFile(join(plane.out, 'service-account-new.crt'));
    const newToken = await createToken(admin);
    expect(jwtSignedBy(newToken, newPub)).toBe(true);
    expect(jwtSignedBy(newToken, oldPub)).toBe(false);
    expect(jwtSignedBy(oldToken, newPub)).toBe(false);
    const newTokenConfig = await tokenKubeconfig('new-token', newToken);
    expect(await whoami(newTokenConfig)).toMatchObject({ username: SA_USER });
    expect(await whoami(oldTokenConfig)).toMatchObject({ username: SA_USER });

    // finish: the admin and the new token through the rolling restart; the old token stops at it by design.
    const adminFinish = new ReadyzProbe(admin, plane.cp);
    const newTokenProbe = new ReadyzProbe(newTokenConfig, plane.cp);
    try {
      await phase('finish');
    } finally {
      await adminFinish.stop();
      await newTokenProbe.stop();
    }
    noFailures(adminFinish, 'admin probe, finish');
    noFailures(newTokenProbe, 'new-token probe, finish');

    // The old token is refused everywhere, the new one still works, and tokens are still the new key's.
    const refused = await kubectl(oldTokenConfig, ['auth', 'whoami']);
    expect(refused.exitCode).not.toBe(0);
    expect(refused.stderr).toMatch(/Unauthorized|must be logged in/i);
    expect(await whoami(newTokenConfig)).toMatchObject({ username: SA_USER });
    const current = await readFile(join(plane.out, 'service-account.crt'));
    expect(current.equals(newPub)).toBe(true);
    expect(jwtSignedBy(await createToken(admin), current)).toBe(true);
    // What every node holds: the new pair under the current names; the old one archived in the admin's folder.
    for (const node of ['master-1', 'master-2']) expect((await readFile(join(plane.dirOf(node), 'service-account.crt'))).equals(newPub), node).toBe(true);
    // Once every component runs with finish's flags, the new pair's copy may go: distribute removes it from the nodes.
    for (const node of ['master-1', 'master-2']) expect((await readFile(join(plane.dirOf(node), 'service-account-new.crt'))).equals(newPub), node).toBe(true);
    await rm(join(plane.out, 'service-account-new.key'));
    await rm(join(plane.out, 'service-account-new.crt'));
    await plane.distribute();
    for (const node of ['master-1', 'master-2']) {
      await expect(stat(join(plane.dirOf(node), 'service-account-new.key')), node).rejects.toThrow();
      await expect(stat(join(plane.dirOf(node), 'service-account-new.crt')), node).rejects.toThrow();
    }
    expect(await whoami(newTokenConfig)).toMatchObject({ username: SA_USER });
  }, 1_200_000);
});
