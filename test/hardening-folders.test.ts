import { execa } from 'execa';
import { chmod, mkdir, readFile, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { CLI, kubePki, tempDir } from './helpers/cli.js';

/** Every entry below a folder (backups and temporary files included) with its mode and bytes. */
async function snapshot(dir: string, rel = ''): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const e of await readdir(join(dir, rel), { withFileTypes: true })) {
    const path = join(rel, e.name);
    const st = await stat(join(dir, path)).catch(() => null);
    if (e.isDirectory()) {
      out.set(`${path}/`, (st!.mode & 0o7777).toString(8));
      for (const [k, v] of await snapshot(dir, path)) out.set(k, v);
    } else if (e.isFile()) out.set(path, `${(st!.mode & 0o777).toString(8)} ${(await readFile(join(dir, path))).toString('base64')}`);
    else out.set(path, e.isSymbolicLink() ? 'link' : 'special');
  }
  return out;
}

const noCrash = (r: { stderr: string }) => {
  expect(r.stderr).not.toContain('unexpected error');
  expect(r.stderr).not.toMatch(/\n\s+at /);
};

describe('folders that are not ours', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => ({ dir, cleanup } = await tempDir()));
  afterAll(() => cleanup());

  it('a non-empty folder without a kube-pki PKI is refused (exit 2) and left exactly as it was', async () => {
    const project = join(dir, 'project');
    await mkdir(join(project, 'src'), { recursive: true, mode: 0o755 });
    await chmod(project, 0o755);
    await writeFile(join(project, 'README.md'), '# my project\n');
    await writeFile(join(project, 'src', 'main.c'), 'int main(void) { return 0; }\n');
    const before = await snapshot(project);
    for (const args of [['gen'], ['gen', '--dry-run'], ['gen', '--force']]) {
      const r = await kubePki([...args, '--out', project]);
      expect(r.exitCode, r.stderr).toBe(2);
      expect(r.stderr).toContain(`--out ${project}: the folder holds other things (README.md, src) and no kube-pki PKI`);
      expect(r.stderr).toContain(`e.g. ${join(project, 'pki')}`);
      noCrash(r);
    }
    expect(await snapshot(project)).toEqual(before);
    expect((await stat(project)).mode & 0o777).toBe(0o755);
  });

  it('an empty folder is used as it is: its mode is never changed, a note says what to do', async () => {
    const empty = join(dir, 'empty');
    await mkdir(empty);
    await chmod(empty, 0o755);
    const r = await kubePki(['gen', '--out', empty]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain(`note: ${empty} has mode 755 and holds private keys (each 0600); kube-pki leaves the mode of a folder it did not create as it is: run chmod 700 ${empty}`);
    expect((await stat(empty)).mode & 0o777).toBe(0o755);
    expect((await stat(join(empty, 'ca.key'))).mode & 0o777).toBe(0o600);
    // Its own PKI, with other files beside it now, is still its own.
    await writeFile(join(empty, 'NOTES.txt'), 'mine\n');
    const again = await kubePki(['gen', '--out', empty]);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stdout).toContain('0 created, 0 re-issued, 18 kept');
  });

  it('a PKI made by kube-pki script is kube-pki\'s own', async () => {
    const script = await kubePki(['script']);
    await writeFile(join(dir, 'gen-pki.sh'), script.stdout);
    const byHand = join(dir, 'by-hand');
    await mkdir(byHand, { mode: 0o700 });
    expect((await execa('bash', [join(dir, 'gen-pki.sh')], { cwd: byHand, reject: false })).exitCode).toBe(0);
    await rm(join(byHand, 'admin.crt'));
    const r = await kubePki(['gen', '--out', byHand]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^admin: created/m);
  });
});

// Something other than a readable file where a certificate, key or kubeconfig should be.
const UNUSABLE: [string, string, (path: string) => Promise<void>, RegExp][] = [
  ['a folder', 'admin.key', (p) => mkdir(p), /cannot be read \(EISDIR: a folder, not a file\)/],
  ['a symbolic link loop', 'ca.crt', (p) => symlink('ca.crt', p), /cannot be read \(ELOOP: a symbolic link loop\)/],
  ['a named pipe', 'admin.kubeconfig', async (p) => void (await execa('mkfifo', [p])), /cannot be read \(a named pipe \(FIFO\), not a file\)/],
  ['a dangling symbolic link', 'kube-proxy.key', (p) => symlink('/mnt/not-mounted/kube-proxy.key', p), /cannot be read \(ENOENT: a symbolic link to \/mnt\/not-mounted\/kube-proxy\.key, which does not exist\)/],
];

describe('unusable files in the PKI', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let pristine: string;
  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    pristine = join(dir, 'pristine');
    expect((await kubePki(['gen', '--out', pristine])).exitCode).toBe(0);
  });
  afterAll(() => cleanup());

  it.each(UNUSABLE)('%s at %s: gen, renew and check name the path and the reason, exit 1, change nothing', async (label, file, make, reason) => {
    const pki = join(dir, label.replace(/ /g, '-'));
    await execa('cp', ['-a', pristine, pki]);
    await rm(join(pki, file));
    await make(join(pki, file));
    const before = await snapshot(pki);

    for (const args of [['gen'], ['gen', '--force'], ['gen', '--dry-run'], ['renew', '--all']]) {
      const r = await kubePki([...args, '--out', pki]);
      expect(r.exitCode, `${args.join(' ')}: ${r.stderr}`).toBe(1);
      const line = r.stderr.split('\n').find((l) => l.includes(join(pki, file)));
      expect(line, r.stderr).toMatch(reason);
      noCrash(r);
    }
    expect(await snapshot(pki)).toEqual(before);

    const check = await kubePki(['check', pki, '--json']);
    expect(check.exitCode, check.stderr).toBe(1);
    noCrash(check);
    const report = JSON.parse(check.stdout);
    const messages = [...report.cas, ...report.certificates, ...report.kubeconfigs, ...report.files, ...report.keyPairs]
      .flatMap((r: { problems: { code: string; message: string }[] }) => r.problems)
      .filter((p: { code: string }) => p.code === 'unreadable')
      .map((p: { message: string }) => p.message);
    // The same words as gen: the path, then the reason.
    expect(messages.some((m: string) => m.startsWith(`${file}`) && reason.test(m)), messages.join('\n')).toBe(true);
  });

  it('a file root cannot read, as another user: gen --dry-run and check say EACCES for it (exit 1)', async () => {
    const pki = join(dir, 'other-user');
    await execa('cp', ['-a', pristine, pki]);
    await chmod(dir, 0o711);
    await chmod(pki, 0o755); // listable by anyone; the keys stay 0600 root's
    const asNobody = (args: string[]) => execa('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'node', CLI, ...args], { reject: false, env: { CI: '1' } });
    const dry = await asNobody(['gen', '--dry-run', '--out', pki]);
    expect(dry.exitCode, dry.stderr).toBe(1);
    expect(dry.stderr).toMatch(/: cannot be read \(EACCES: permission denied\)/);
    noCrash(dry);
    const check = await asNobody(['check', pki]);
    expect(check.exitCode).toBe(1);
    expect(check.stdout).toMatch(/ca\.key.*cannot be read \(EACCES: permission denied\)/);
    noCrash(check);
  });
});

describe('kubeconfigs: gen and check compare what matters', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => ({ dir, cleanup } = await tempDir()));
  afterAll(() => cleanup());

  it('a namespace set with kubectl or a comment is not stale, and --force leaves it', async () => {
    const pki = join(dir, 'pki');
    expect((await kubePki(['gen', '--out', pki])).exitCode).toBe(0);
    const admin = join(pki, 'admin.kubeconfig');
    await execa('kubectl', ['config', 'set-context', '--current', '--namespace=x', '--kubeconfig', admin]);
    await writeFile(admin, `# my admin access\n${await readFile(admin, 'utf8')}`);
    const edited = await readFile(admin, 'utf8');
    expect(parse(edited).contexts[0].context.namespace).toBe('x');

    const r = await kubePki(['gen', '--out', pki]);
    expect(r.exitCode, r.stdout).toBe(0);
    expect(r.stdout).toContain('0 stale');
    const forced = await kubePki(['gen', '--out', pki, '--force']);
    expect(forced.exitCode).toBe(0);
    expect(await readFile(admin, 'utf8')).toBe(edited);
    const check = await kubePki(['check', pki]);
    expect(check.exitCode, check.stdout).toBe(0);
  });

  it('a changed server or context is stale for gen and reported by check; --force rewrites it', async () => {
    const pki = join(dir, 'pki2');
    expect((await kubePki(['gen', '--out', pki])).exitCode).toBe(0);
    const admin = join(pki, 'admin.kubeconfig');
    const doc = parse(await readFile(admin, 'utf8'));
    await execa('kubectl', ['config', 'set-cluster', doc.clusters[0].name, '--server=https://127.0.0.9:6443', '--kubeconfig', admin]);
    await execa('kubectl', ['config', 'rename-context', doc['current-context'], 'mine', '--kubeconfig', admin]);

    const r = await kubePki(['gen', '--out', pki]);
    expect(r.exitCode).toBe(3);
    expect(r.stdout).toMatch(/^stale: admin\.kubeconfig: current-context is "mine", expected .*; server is "https:\/\/127\.0\.0\.9:6443", expected https:\/\/192\.168\.5\.30:6443; differs from/m);
    const check = await kubePki(['check', pki, '--json']);
    const row = JSON.parse(check.stdout).kubeconfigs.find((k: { file: string }) => k.file === 'admin.kubeconfig');
    expect(row.problems.map((p: { code: string }) => p.code)).toEqual(expect.arrayContaining(['kubeconfig-server', 'kubeconfig-names']));
    expect((await kubePki(['gen', '--out', pki, '--force'])).exitCode).toBe(0);
    expect(parse(await readFile(admin, 'utf8')).clusters[0].cluster.server).toBe('https://192.168.5.30:6443');
  });

  it('check reads absolute paths in a kubeconfig as absolute', async () => {
    const pki = join(dir, 'pki3');
    expect((await kubePki(['gen', '--out', pki])).exitCode).toBe(0);
    const admin = join(pki, 'admin.kubeconfig');
    const doc = parse(await readFile(admin, 'utf8'));
    delete doc.clusters[0].cluster['certificate-authority-data'];
    doc.clusters[0].cluster['certificate-authority'] = join(pki, 'ca.crt');
    delete doc.users[0].user['client-certificate-data'];
    delete doc.users[0].user['client-key-data'];
    doc.users[0].user['client-certificate'] = join(pki, 'admin.crt');
    doc.users[0].user['client-key'] = join(pki, 'admin.key');
    await writeFile(admin, stringify(doc), { mode: 0o600 });
    const check = await kubePki(['check', pki, '--json']);
    const row = JSON.parse(check.stdout).kubeconfigs.find((k: { file: string }) => k.file === 'admin.kubeconfig');
    expect(row.problems.filter((p: { severity: string }) => p.severity === 'error'), JSON.stringify(row.problems)).toEqual([]);
    expect(row.user).toBe('admin');
  });
});

describe('backups hold keys', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => ({ dir, cleanup } = await tempDir()));
  afterAll(() => cleanup());

  it('are 0700, and check lists each with its age and the keys in it', async () => {
    const pki = join(dir, 'pki');
    expect((await kubePki(['gen', '--out', pki])).exitCode).toBe(0);
    expect((await kubePki(['gen', '--out', pki, '--replace-ca'])).exitCode).toBe(0);
    const [backup] = (await readdir(pki)).filter((f) => f.startsWith('backup-'));
    expect(backup).toBeDefined();
    expect((await stat(join(pki, backup!))).mode & 0o777).toBe(0o700);

    const check = await kubePki(['check', pki, '--json']);
    expect(check.exitCode).toBe(0); // a note: nothing is wrong
    const [row] = JSON.parse(check.stdout).backups;
    expect(row).toMatchObject({ dir: backup, ageDays: 0, mode: '700', status: 'note' });
    expect(row.privateKeys).toEqual(expect.arrayContaining(['ca.key', 'admin.kubeconfig']));
    const text = await kubePki(['check', pki]);
    expect(text.stdout).toContain(`note: ${backup}/: 0 days old`);
    expect(text.stdout).toContain(`rm -rf ${join(pki, backup!)}`);

    await chmod(join(pki, backup!), 0o755);
    const open = await kubePki(['check', pki]);
    expect(open.exitCode).toBe(1);
    expect(open.stdout).toContain(`warning: ${backup}/ has mode 755 but holds private keys: chmod 700 ${join(pki, backup!)}, or remove it`);
  });
});
