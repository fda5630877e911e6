import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { genPki, labCluster } from './check-fixtures.js';
import { kubePki, tempDir } from './helpers/cli.js';

// rotate-ca's "Changed files (kube-pki distribute sends these)" lists only what distribute sends: the
// new CA's key waits in the folder and never goes to a node.

describe('rotate-ca names the changed files that distribute sends', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let config: string;
  let out: string;
  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('kube-pki-rotate-sent-'));
    ({ config } = await labCluster(dir));
    out = await genPki(dir, config);
  });
  afterAll(() => cleanup());

  it('start: the bundle is sent, ca-new.* stay here (said so on a line of their own)', async () => {
    const r = await kubePki(['rotate-ca', 'start', '--config', config, '--out', out]);
    expect(r.exitCode, r.stderr).toBe(0);
    const sent = /^Changed files \(kube-pki distribute sends these\): (.*)$/m.exec(r.stdout)?.[1]?.split(', ');
    expect(sent, r.stdout).toContain('ca-bundle.crt');
    expect(sent).not.toContain('ca-new.key');
    expect(sent).not.toContain('ca-new.crt');
    const kept = /^Changed here only \(never sent to a node\): (.*)$/m.exec(r.stdout)?.[1]?.split(', ');
    expect(kept, r.stdout).toEqual(expect.arrayContaining(['ca-new.crt', 'ca-new.key']));
    const reissue = await kubePki(['rotate-ca', 'reissue', '--config', config, '--out', out]);
    expect(reissue.exitCode, reissue.stderr).toBe(0);
    const sentNow = /^Changed files \(kube-pki distribute sends these\): (.*)$/m.exec(reissue.stdout)?.[1]?.split(', ') ?? [];
    expect(sentNow.filter((f) => /-(old|new)\.key$/.test(f)), reissue.stdout).toEqual([]);
    expect(sentNow).toContain('ca.key');
  });

  it('renew: a certificate no node receives (admin.crt: only admin.kubeconfig goes out) is named apart', async () => {
    const fresh = await genPki(dir, config, 'renew-pki');
    const r = await kubePki(['renew', 'admin', '--config', config, '--out', fresh]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Changed files \(kube-pki distribute sends only these\): admin\.kubeconfig$/m);
    expect(r.stdout).toMatch(/^Changed here only \(never sent to a node\): admin\.crt$/m);
  });
});
