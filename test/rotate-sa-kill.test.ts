import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyPki, genPki, labCluster } from './check-fixtures.js';
import { kubePki, tempDir } from './helpers/cli.js';
import { hashes, mismatchedPairs, KUBEADM_YAML } from './helpers/rotation.js';

// Each rotate-sa phase killed after every step boundary in turn (the Nth file renamed into place or
// removed: KUBE_PKI_TEST_STOP_AFTER_RENAME=N), from the first until a run is no longer killed, then
// run again: it completes, every other operation refused the folder in between (the record is there
// from start's first step to finish's last), and no key ever sits beside a public key or certificate
// of another key.

const spki = (pem: Buffer | KeyObject) => createPublicKey(pem).export({ type: 'spki', format: 'der' }).toString('base64');

/** sa.key/sa.pub style pairs whose public file is not the key's public half (.crt pairs: mismatchedPairs). */
async function mismatchedPubPairs(root: string): Promise<string[]> {
  const bad: string[] = [];
  for (const file of (await hashes(root)).keys()) {
    if (!file.endsWith('.pub') || file.startsWith('backup-')) continue;
    const key = await readFile(join(root, file.replace(/\.pub$/, '.key'))).catch(() => null);
    if (key && spki(await readFile(join(root, file))) !== spki(createPrivateKey(key))) bad.push(file);
  }
  return bad;
}

const PROFILES = [
  { profile: 'hardway', yaml: undefined, key: 'service-account.key', pub: 'service-account.crt', next: 'service-account-new.key', trees: [] as string[] },
  { profile: 'kubeadm', yaml: KUBEADM_YAML, key: '_cluster/pki/sa.key', pub: '_cluster/pki/sa.pub', next: '_cluster/pki/sa-new.key', trees: ['cp-1', 'cp-2'] },
];

for (const p of PROFILES) {
  describe(`rotate-sa (${p.profile}) killed at every step completes when run again`, () => {
    let dir: string;
    let config: string;
    const bases: Record<string, string> = {};
    let cleanup: () => Promise<void>;
    const rotate = (phase: string, pki: string, env: Record<string, string> = {}) => kubePki(['rotate-sa', phase, '--config', config, '--out', pki, '--json'], { env });
    const fp = async (pki: string, f: string) => spki(createPrivateKey(await readFile(join(pki, f))));

    beforeAll(async () => {
      ({ dir, cleanup } = await tempDir());
      ({ config } = await labCluster(dir, p.yaml));
      bases.start = await genPki(dir, config, 'base-start');
      bases.promote = await copyPki(bases.start, join(dir, 'base-promote'));
      expect((await rotate('start', bases.promote)).exitCode).toBe(0);
      bases.finish = await copyPki(bases.promote, join(dir, 'base-finish'));
      expect((await rotate('promote', bases.finish)).exitCode).toBe(0);
    }, 180_000);
    afterAll(() => cleanup());

    for (const phase of ['start', 'promote', 'finish'] as const) {
      it(`${phase}: killed after each step boundary`, async () => {
        let killedRuns = 0;
        for (let n = 1; n <= 40; n++) {
          const pki = await copyPki(bases[phase]!, join(dir, `${phase}-${n}`));
          const oldKey = await fp(pki, p.key);
          const killed = await rotate(phase, pki, { KUBE_PKI_TEST_STOP_AFTER_RENAME: String(n) });
          if (killed.signal !== 'SIGKILL') {
            // Fewer boundaries than n: this run completed on its own.
            expect(killed.exitCode, `${killed.stdout}\n${killed.stderr}`).toBe(0);
            break;
          }
          killedRuns++;
          expect(await mismatchedPairs(pki), `${phase} killed after ${n}`).toEqual([]);
          expect(await mismatchedPubPairs(pki), `${phase} killed after ${n}`).toEqual([]);
          // Killed anywhere before finish's last step (the record's removal), the rotation is unfinished: a signing operation is refused.
          const record = await readFile(join(pki, '.kube-pki-rotate-sa.json')).catch(() => null);
          if (record) {
            const renew = await kubePki(['renew', '--config', config, '--out', pki, p.profile === 'kubeadm' ? 'all' : 'admin', '--dry-run']);
            expect(renew.exitCode, `${phase} ${n}: ${renew.stderr}`).toBe(2);
            expect(renew.stderr).toContain('rotate-sa');
          } else expect(phase, `${phase} ${n}: only finish's last step removes the record`).toBe('finish');
          const again = await rotate(phase, pki);
          expect(again.exitCode, `${phase} ${n}: ${again.stdout}\n${again.stderr}`).toBe(0);
          const report = JSON.parse(again.stdout) as { state: string; complete: boolean };
          expect(report, `${phase} ${n}`).toMatchObject({ state: phase === 'finish' ? 'none' : phase, complete: true });
          expect(await mismatchedPairs(pki)).toEqual([]);
          expect(await mismatchedPubPairs(pki)).toEqual([]);
          const newKey = await fp(pki, p.next);
          if (phase === 'finish') {
            // The new key is the current one everywhere; the old one is in a backup folder.
            expect(newKey).not.toBe(oldKey);
            expect(await fp(pki, p.key)).toBe(newKey);
            for (const t of p.trees) expect(await fp(pki, p.key.replace('_cluster', t))).toBe(newKey);
            const backups = (await readdir(pki)).filter((f) => f.startsWith('backup-'));
            const archived = await Promise.all(backups.map((b) => fp(pki, join(b, p.key)).catch(() => null)));
            expect(archived, `${phase} ${n}: old key archived`).toContain(oldKey);
          } else {
            expect(newKey).not.toBe(oldKey);
            for (const t of p.trees) expect(await fp(pki, p.next.replace('_cluster', t))).toBe(newKey);
          }
          const check = await kubePki(['check', '--config', config, '--out', pki]);
          expect(check.exitCode, `${phase} ${n}: ${check.stdout}`).toBe(0);
        }
        expect(killedRuns, `${phase}: killed at least once`).toBeGreaterThan(0);
      }, 600_000);
    }
  });
}
