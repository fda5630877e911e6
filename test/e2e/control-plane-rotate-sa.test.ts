import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { kubectl } from '../helpers/apiserver.js';
import { kubePki, tempDir } from '../helpers/cli.js';
import type { ControlPlane } from '../helpers/control-plane.js';
import { startHardwayPlane, type HardwayPlane } from '../helpers/hardway-plane.js';
import { whoami } from '../helpers/identity.js';
import { jwtSignedBy } from '../helpers/jwt.js';
import { startKubeadmPlane, type KubeadmPlane } from '../helpers/kubeadm-plane.js';
import { waitFor } from '../helpers/processes.js';
import { ReadyzProbe } from '../helpers/probe.js';

// Issue 23: rotate-sa start, promote and finish on a running control plane of two nodes behind
// haproxy, each phase followed by the rolling restart the command prints, one node at a time
// (rotate-sa restarts no etcd, so two members keep quorum). Probes ask /readyz through haproxy several
// times a second, with an admin's client certificate and with a service-account token: every request
// must succeed, so the token authenticates on whichever apiserver answers. The hard way distributes
// each phase over SSH (--distribute); kubeadm's control planes run from their trees in the PKI folder.

interface Restart {
  node: string;
  components: string[];
}

const SA_USER = 'system:serviceaccount:default:default';

/** What the scenario needs of a plane, whichever profile. */
interface Lab {
  config: string;
  out: string;
  cp: ControlPlane;
  dir: string;
  /** A kubeconfig with cluster-admin rights, and the cluster CA's certificate. */
  admin: string;
  ca: string;
  /** The PKI folder's current and new public key files (hard way: certificates). */
  pub: string;
  newPub: string;
  newKey: string;
  /** The public key file each control plane's apiserver reads (to see it replaced at finish). */
  nodePub: (node: string) => string;
  nodeNew: (node: string) => string;
  /** Runs a phase (and puts its files on the nodes). */
  run: (phase: string) => Promise<void>;
  /** Sends the PKI folder to the nodes again (only where the nodes get their files by distribute). */
  distribute?: () => Promise<void>;
}

/**
 * A phase (with its files put on the nodes), its restart list from the dry run's --json (--distribute
 * prints text), then the rolling restart in the printed order.
 */
async function phase(lab: Lab, name: string): Promise<Restart[]> {
  const dry = await kubePki(['rotate-sa', name, '--config', lab.config, '--out', lab.out, '--dry-run', '--json']);
  expect(dry.exitCode, `${dry.stdout}\n${dry.stderr}`).toBe(0);
  const planned = JSON.parse(dry.stdout) as { restart: Restart[] };
  await lab.run(name);
  const status = JSON.parse((await kubePki(['rotate-sa', 'status', '--config', lab.config, '--out', lab.out, '--json'])).stdout) as { state: string; complete: boolean };
  expect(status).toMatchObject({ state: name === 'finish' ? 'none' : name, complete: true });
  for (const step of planned.restart) await lab.cp.restart(lab.cp.node(step.node), step.components);
  return planned.restart;
}

/** A kubeconfig that authenticates with a bearer token, through the load balancer. */
async function tokenKubeconfig(lab: Lab, name: string, token: string): Promise<string> {
  const file = join(lab.dir, `${name}.kubeconfig`);
  const ca = (await readFile(lab.ca)).toString('base64');
  const server = `https://${lab.cp.o.lb.ip}:${lab.cp.o.lb.port}`;
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

/** The whole rotation on a running plane: what each token can do when, and no failed request. */
async function scenario(lab: Lab): Promise<void> {
  const { admin } = lab;
  const [first, second] = lab.cp.o.nodes.map((n) => n.name) as [string, string];
  await waitFor(async () => (await kubectl(admin, ['get', 'serviceaccount', 'default'])).exitCode === 0, 'the default service account', 60_000);
  const oldToken = await createToken(admin);
  const oldPub = await readFile(join(lab.out, lab.pub));
  expect(jwtSignedBy(oldToken, oldPub)).toBe(true);
  const oldTokenConfig = await tokenKubeconfig(lab, 'old-token', oldToken);
  expect(await whoami(oldTokenConfig)).toMatchObject({ username: SA_USER });

  // start and promote: both probes (client certificate, old token) run through both rolling restarts.
  const adminProbe = new ReadyzProbe(admin, lab.cp);
  const oldTokenProbe = new ReadyzProbe(oldTokenConfig, lab.cp);
  let startRestarts: Restart[];
  let promoteRestarts: Restart[];
  try {
    startRestarts = await phase(lab, 'start');
    // After start (all restarted): still signed with the old key.
    expect(jwtSignedBy(await createToken(admin), oldPub)).toBe(true);
    promoteRestarts = await phase(lab, 'promote');
  } finally {
    await adminProbe.stop();
    await oldTokenProbe.stop();
  }
  noFailures(adminProbe, 'admin probe, start and promote');
  noFailures(oldTokenProbe, 'old-token probe, start and promote');
  expect(startRestarts.map((r) => `${r.node}:${r.components.join('+')}`)).toEqual([`${first}:kube-apiserver`, `${second}:kube-apiserver`]);
  expect(promoteRestarts.map((r) => `${r.node}:${r.components.join('+')}`)).toEqual([`${first}:kube-apiserver+kube-controller-manager`, `${second}:kube-apiserver+kube-controller-manager`]);
  // Every apiserver was started with both public keys, the new key signing.
  const args = await readFile(join(lab.cp.o.work, `${second}-kube-apiserver.log.args`), 'utf8');
  expect(args.match(/^--service-account-key-file=.*$/gm)).toEqual([`--service-account-key-file=${lab.nodePub(second)}`, `--service-account-key-file=${lab.nodeNew(second)}`]);
  expect(args).toContain(`--service-account-signing-key-file=${lab.nodeNew(second).replace(/\.(pub|crt)$/, '.key')}`);

  // A token issued after promote: the new key signed it, the old one did not; it authenticates.
  const newPub = await readFile(join(lab.out, lab.newPub));
  const newToken = await createToken(admin);
  expect(jwtSignedBy(newToken, newPub)).toBe(true);
  expect(jwtSignedBy(newToken, oldPub)).toBe(false);
  expect(jwtSignedBy(oldToken, newPub)).toBe(false);
  const newTokenConfig = await tokenKubeconfig(lab, 'new-token', newToken);
  expect(await whoami(newTokenConfig)).toMatchObject({ username: SA_USER });
  expect(await whoami(oldTokenConfig)).toMatchObject({ username: SA_USER });

  // finish: the admin and the new token through the rolling restart; the old token stops at it by design.
  const adminFinish = new ReadyzProbe(admin, lab.cp);
  const newTokenProbe = new ReadyzProbe(newTokenConfig, lab.cp);
  try {
    await phase(lab, 'finish');
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
  const current = await readFile(join(lab.out, lab.pub));
  expect(current.equals(newPub)).toBe(true);
  expect(jwtSignedBy(await createToken(admin), current)).toBe(true);
  // What every control plane holds: the new pair under the current names (the old one archived in the admin's folder).
  for (const node of [first, second]) expect((await readFile(lab.nodePub(node))).equals(newPub), node).toBe(true);

  // finish left the new pair's copy on the nodes (a component restarted with promote's flags still starts).
  for (const node of [first, second]) expect((await readFile(lab.nodeNew(node))).equals(newPub), node).toBe(true);
  if (!lab.distribute) return;
  // Once every component runs with finish's flags the copy may go: deleted here, distribute removes it from the nodes.
  await rm(join(lab.out, lab.newKey));
  await rm(join(lab.out, lab.newPub));
  await lab.distribute();
  for (const node of [first, second]) await expect(stat(lab.nodeNew(node)), node).rejects.toThrow();
  expect(await whoami(newTokenConfig)).toMatchObject({ username: SA_USER });
}

describe('rotate-sa on a running hard-way control plane (2 nodes, haproxy in front, --distribute over SSH)', () => {
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

  it('an old token lives through promote and dies at finish; a new token is signed by the new key only; no request fails', async () => {
    await scenario({
      config: plane.config,
      out: plane.out,
      cp: plane.cp,
      dir,
      admin: join(plane.dirOf('master-1'), 'admin.kubeconfig'),
      ca: join(plane.out, 'ca.crt'),
      pub: 'service-account.crt',
      newPub: 'service-account-new.crt',
      newKey: 'service-account-new.key',
      nodePub: (node) => join(plane.dirOf(node), 'service-account.crt'),
      nodeNew: (node) => join(plane.dirOf(node), 'service-account-new.crt'),
      run: async (name) => {
        const r = await kubePki(['rotate-sa', name, '--config', plane.config, '--out', plane.out, '--distribute', '--known-hosts', plane.knownHosts], { env: { SSH_AUTH_SOCK: '' } });
        expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
        expect(r.stdout).toContain('Restart, one node at a time');
      },
      distribute: () => plane.distribute(),
    });
  }, 1_200_000);
});

describe('rotate-sa on a running kubeadm-layout control plane (2 nodes from their trees, haproxy in front)', () => {
  let plane: KubeadmPlane;
  let cleanup: () => Promise<void>;
  let dir: string;

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('kube-pki-cp-rotate-sa-kubeadm-'));
    plane = await startKubeadmPlane({ net: 32, masters: 2, workers: [], dir });
    await plane.cp.startAll();
  }, 300_000);
  afterAll(async () => {
    await plane?.stop();
    await cleanup?.();
  });

  it('the same with sa.key / sa.pub: old token refused after finish, new token the new key\'s, no request fails', async () => {
    await scenario({
      config: plane.config,
      out: plane.out,
      cp: plane.cp,
      dir,
      // admin.conf is kubeadm:cluster-admins (needs the binding kube-pki manifests prints); super-admin.conf is system:masters.
      admin: join(plane.out, 'cp-1', 'super-admin.conf'),
      ca: join(plane.out, '_cluster/pki/ca.crt'),
      pub: '_cluster/pki/sa.pub',
      newPub: '_cluster/pki/sa-new.pub',
      newKey: '_cluster/pki/sa-new.key',
      nodePub: (node) => join(plane.out, node, 'pki/sa.pub'),
      nodeNew: (node) => join(plane.out, node, 'pki/sa-new.pub'),
      run: async (name) => {
        const r = await kubePki(['rotate-sa', name, '--config', plane.config, '--out', plane.out]);
        expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
      },
    });
  }, 1_200_000);
});
