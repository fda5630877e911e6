import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EncryptionReport } from '../src/rotate-encryption/rotate.js';
import { copyPki, genPki, labCluster } from './check-fixtures.js';
import { kubePki, tempDir } from './helpers/cli.js';
import { KUBEADM_YAML } from './helpers/rotation.js';
import { SMALL_CLUSTER } from './helpers/small-cluster.js';

// Each phase of rotate-encryption-key killed after the Nth rename (the executor's test hook
// KUBE_PKI_TEST_STOP_AFTER_RENAME), then run again: it completes, the keys are the phase's, every tree's
// copy equals the source, and check is clean. Hard way: one file; kubeadm: the source and a copy per
// control plane (cp-1, cp-2), so a kill can fall between them.

const WANT = { start: ['key1', 'key2'], promote: ['key2', 'key1'], finish: ['key2'] } as const;
const PHASES = ['start', 'promote', 'finish'] as const;

const secrets = (yaml: string) => [...yaml.matchAll(/secret: (\S+)/g)].map((m) => m[1]);
const keyNames = (yaml: string) => [...yaml.matchAll(/- name: (key\d+)/g)].map((m) => m[1]);

for (const [profile, yaml, copies, kills] of [
  ['hardway', SMALL_CLUSTER, [] as string[], [1]],
  ['kubeadm', `${KUBEADM_YAML}encryption: { provider: secretbox }\n`, ['cp-1/pki/encryption-config.yaml', 'cp-2/pki/encryption-config.yaml'], [1, 2]],
] as const) {
  describe(`rotate-encryption-key killed at any moment completes when run again (${profile})`, () => {
    let dir: string;
    let config: string;
    let cleanup: () => Promise<void>;
    const bases: Record<string, string> = {};
    const source = profile === 'kubeadm' ? '_cluster/encryption-config.yaml' : 'encryption-config.yaml';
    const rotate = (phase: string, pki: string, env: Record<string, string> = {}) => kubePki(['rotate-encryption-key', phase, '--config', config, '--out', pki, '--json'], { env });

    beforeAll(async () => {
      ({ dir, cleanup } = await tempDir());
      ({ config } = await labCluster(dir, yaml));
      bases.start = await genPki(dir, config, 'base-start');
      bases.promote = await copyPki(bases.start, join(dir, 'base-promote'));
      expect((await rotate('start', bases.promote)).exitCode).toBe(0);
      bases.finish = await copyPki(bases.promote, join(dir, 'base-finish'));
      expect((await rotate('promote', bases.finish)).exitCode).toBe(0);
    }, 120_000);
    afterAll(() => cleanup());

    for (const phase of PHASES) {
      it(`${phase}: killed after rename ${kills.join(', ')}`, async () => {
        const before = await readFile(join(bases[phase]!, source), 'utf8');
        for (const n of kills) {
          const pki = await copyPki(bases[phase]!, join(dir, `${phase}-${n}`));
          const killed = await rotate(phase, pki, { KUBE_PKI_TEST_STOP_AFTER_RENAME: String(n) });
          expect(killed.signal, `${phase} kill point ${n}`).toBe('SIGKILL');
          // Killed after the source moved: it is this phase's file already, whole.
          expect(keyNames(await readFile(join(pki, source), 'utf8'))).toEqual(WANT[phase]);
          const status = JSON.parse((await kubePki(['rotate-encryption-key', 'status', '--config', config, '--out', pki, '--json'])).stdout) as EncryptionReport;
          // Parallel copies: a rename already under way in another thread may land before the kill does.
          const killedText = await readFile(join(pki, source), 'utf8');
          const equal = await Promise.all(copies.map(async (c) => (await readFile(join(pki, c), 'utf8')) === killedText));
          expect(status.complete, `${phase} ${n}`).toBe(equal.every(Boolean));
          if (n === 1 && copies.length) expect(equal.some((e) => !e), `${phase}: a copy is left to do after the first rename`).toBe(true);
          const again = await rotate(phase, pki);
          expect(again.exitCode, `${again.stdout}\n${again.stderr}`).toBe(0);
          const report = JSON.parse(again.stdout) as EncryptionReport;
          expect(report.state).toBe(phase === 'finish' ? 'none' : phase);
          expect(report.complete).toBe(true);
          expect(report.keys).toEqual(WANT[phase]);
          const text = await readFile(join(pki, source), 'utf8');
          // The keys kept are the same keys: only their order and number change.
          if (phase === 'start') expect(secrets(text)[0]).toBe(secrets(before)[0]);
          else for (const kept of secrets(text)) expect(secrets(before)).toContain(kept);
          for (const c of copies) expect(await readFile(join(pki, c), 'utf8'), c).toBe(text);
          const check = await kubePki(['check', '--config', config, '--out', pki]);
          expect(check.exitCode, `${phase} ${n}: ${check.stdout}`).toBe(0);
          // A second run changes nothing.
          const third = await rotate(phase, pki);
          expect((JSON.parse(third.stdout) as EncryptionReport).result).toBe('nothing');
        }
      }, 240_000);
    }
  });
}
