import { chmod, chown, cp, mkdir, readdir, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubePki, tempDir } from './helpers/cli.js';
import { SMALL_CLUSTER } from './helpers/small-cluster.js';
import { writeFile } from 'node:fs/promises';

// An output folder that another user could have filled is refused (exit 2), as OpenSSH refuses such key
// files: a planted ca.key would sign every leaf (gen) or go to the control-plane nodes (distribute).
// The tests run as root: "another user" is nobody.

const NOBODY = 65534;

describe('an output folder (or a key in it) another user controls', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let config: string;
  let genuine: string;
  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('kube-pki-owner-'));
    config = join(dir, 'cluster.yaml');
    await writeFile(config, SMALL_CLUSTER);
    genuine = join(dir, 'genuine');
    expect((await kubePki(['gen', '--config', config, '--out', genuine])).exitCode).toBe(0);
  });
  afterAll(() => cleanup());

  /** A copy of the genuine PKI, its CA pair "planted": the folder and the pair given to `owner`, the folder mode `mode`. */
  async function planted(name: string, owner: number, mode: number, keyOwner = owner): Promise<string> {
    const pki = join(dir, name);
    await cp(genuine, pki, { recursive: true });
    for (const f of ['ca.crt', 'ca.key']) await chown(join(pki, f), keyOwner, keyOwner);
    await chown(pki, owner, owner);
    await chmod(pki, mode);
    return pki;
  }

  const refused = async (args: string[], pki: string, path: string, why: RegExp) => {
    const before = await readdir(pki);
    const r = await kubePki([...args, '--config', config, '--out', pki]);
    expect(r.exitCode, `${args.join(' ')}: ${r.stdout}${r.stderr}`).toBe(2);
    expect(r.stderr).toContain(`--out: ${path} `);
    expect(r.stderr).toMatch(why);
    expect(r.stdout).not.toContain('ca: kept');
    expect(await readdir(pki)).toEqual(before); // no lock, nothing written
  };

  it("another user's world-writable folder with a planted CA pair: gen, renew, distribute refuse it, and a link to it too", async () => {
    const pki = await planted('theirs', NOBODY, 0o777);
    const owned = /is owned by uid 65534, not by this user \(uid 0\) or root/;
    for (const args of [['gen'], ['renew', '--all'], ['distribute', '--dry-run'], ['rotate-ca', 'start']]) await refused(args, pki, pki, owned);
    const link = join(dir, 'link-to-theirs');
    await symlink(pki, link);
    await refused(['gen'], pki === link ? pki : link, link, owned);
  });

  it('a folder of this user that others may write, or a CA key in it owned by another user or writable by others, is refused', async () => {
    const open = await planted('open', 0, 0o777);
    await refused(['gen'], open, open, /is writable by others \(mode 777\)/);
    // Group-writable: refused when the group has other members (nogroup: nobody's), not when only the owner is in it.
    const shared = await planted('shared-group', 0, 0o770);
    await chown(shared, 0, NOBODY);
    await refused(['gen'], shared, shared, /is writable by its group \(mode 770\)/);
    const privateGroup = await planted('private-group', 0, 0o770);
    const upg = await kubePki(['gen', '--config', config, '--out', privateGroup]);
    expect(upg.exitCode, upg.stderr).toBe(0);
    const theirKey = await planted('their-key', 0, 0o700, NOBODY);
    await refused(['gen'], theirKey, join(theirKey, 'ca.key'), /is owned by uid 65534/);
    const writableKey = await planted('writable-key', 0, 0o700);
    await chmod(join(writableKey, 'ca.key'), 0o666);
    await chown(join(writableKey, 'ca.key'), 0, NOBODY);
    await refused(['distribute', '--dry-run'], writableKey, join(writableKey, 'ca.key'), /is writable by its group and others \(mode 666\)/);
    // Its own folder, its own keys: fine.
    const mine = await planted('mine', 0, 0o700);
    const ok = await kubePki(['gen', '--config', config, '--out', mine]);
    expect(ok.exitCode, ok.stderr).toBe(0);
    expect(ok.stdout).toContain('ca: kept');
  });
});
