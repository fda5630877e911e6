// Turns the output of `kube-pki script` (stdin) into the same certificates for cfssl, the Go tool of
// the original "Kubernetes the hard way": one NAME-csr.json per certificate (subject, RSA-2048), a
// ca-config.json with one profile per extended key usage, and certs.txt ("name profile hosts" lines,
// hosts comma-separated or "-"), read by gen-cfssl.sh. Written into the current folder.
import { readFileSync, writeFileSync } from 'node:fs';

const script = readFileSync(0, 'utf8');
const sections = script.split(/^# --- /m).slice(1);
const certs = [];
for (const section of sections) {
  const head = /^(\S+) \((ca|cert)\) ---/.exec(section);
  if (!head) continue;
  const [, name, kind] = head;
  const subj = /^openssl req .* -subj (\S+) /m.exec(section)?.[1];
  if (!subj) throw new Error(`no -subj for ${name}`);
  const fields = Object.fromEntries(subj.split('/').slice(1).map((kv) => kv.split('=')));
  const csr = { CN: fields.CN, key: { algo: 'rsa', size: 2048 }, ...(fields.O ? { names: [{ O: fields.O }] } : {}) };
  writeFileSync(`${name}-csr.json`, JSON.stringify(csr));
  if (kind === 'ca') continue;
  const hosts = [...section.matchAll(/^(?:DNS|IP)\.\d+ = (\S+)$/gm)].map((m) => m[1]);
  const eku = /^extendedKeyUsage = (.*)$/m.exec(section)?.[1] ?? '';
  const profile = eku.includes('serverAuth') ? (eku.includes('clientAuth') ? 'peer' : 'server') : 'client';
  certs.push(`${name} ${profile} ${hosts.join(',') || '-'}`);
}
const usages = { client: ['client auth'], server: ['server auth'], peer: ['server auth', 'client auth'] };
const profiles = Object.fromEntries(
  Object.entries(usages).map(([p, u]) => [p, { usages: ['digital signature', 'key encipherment', ...u], expiry: '24000h' }]),
);
writeFileSync('ca-config.json', JSON.stringify({ signing: { default: { expiry: '24000h' }, profiles } }));
writeFileSync('certs.txt', `${certs.join('\n')}\n`);
