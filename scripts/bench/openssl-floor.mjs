// The floor of any executor of `kube-pki script` (stdin): the same openssl commands with nothing
// around them (no Node, no fsync, no kubeconfigs, no checks), on one lane per core by xargs.
// Writes into the current folder the openssl.cnf files and two lists of job files, read by
// floor.sh: keys.txt (the CA's key and certificate first, then every other key) and signs.txt (each
// leaf's request and certificate, once the CA is there). Serials are fixed here: the floor does not
// pay for `openssl rand`; x509 skips the trust store, as kube-pki does. Each signing job has its own
// `openssl ca` database folder, made here beside the current folder (floor-db/), and the start date
// is fixed here (5 minutes ago).
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { readFileSync } from 'node:fs';

const script = readFileSync(0, 'utf8');
for (const m of script.matchAll(/^cat > (\S+) <<'KUBE_PKI_EOF'\n([\s\S]*?)\nKUBE_PKI_EOF$/gm)) writeFileSync(m[1], `${m[2]}\n`);
// openssl ca's own configuration, as the script writes it into its temporary folder (an unquoted heredoc).
const caConfig = `${/^cat > "\$KUBE_PKI_CA_DB\/\.ca-config\.cnf" <<KUBE_PKI_EOF\n([\s\S]*?)\nKUBE_PKI_EOF$/m.exec(script)[1]}\n`;
const notBefore = new Date(Date.now() - 300_000).toISOString().replace(/[-:T]/g, '').replace(/\.\d{3}Z$/, 'Z');
const keys = [];
const signs = [];
for (const section of script.split(/^# --- /m).slice(1)) {
  const head = /^(\S+) \((ca|cert)\) ---/.exec(section);
  if (!head) continue;
  const [, name, kind] = head;
  const lines = section
    .split('\n')
    .filter((l) => l.startsWith('openssl '))
    .map((l) => l.replace('"0x$(openssl rand -hex 16)"', `0x${randomBytes(15).toString('hex')}`));
  if (lines.length !== 3 || /\$\(|passin|passout/.test(lines.join('\n'))) throw new Error(`${name}: not the three plain steps`);
  const db = `${dirname(process.cwd())}/floor-db/${name.replace(/\//g, '_')}`;
  mkdirSync(db, { recursive: true });
  writeFileSync(`${db}/.ca-index`, '');
  writeFileSync(`${db}/.ca-config.cnf`, caConfig.replaceAll('$KUBE_PKI_CA_DB', db));
  const env = `export SSL_CERT_FILE=/dev/null KUBE_PKI_CA_DB=${db} KUBE_PKI_NOT_BEFORE=${notBefore}`;
  const job = (file, body) => writeFileSync(file, `set -e\n${env}\n${body.join('\n')}\n`);
  if (kind === 'ca') {
    job(`key-${name}.sh`, lines);
    keys.unshift(`key-${name}.sh`);
  } else {
    job(`key-${name}.sh`, lines.slice(0, 1));
    job(`sign-${name}.sh`, lines.slice(1));
    keys.push(`key-${name}.sh`);
    signs.push(`sign-${name}.sh`);
  }
}
writeFileSync('keys.txt', `${keys.join('\n')}\n`);
writeFileSync('signs.txt', `${signs.join('\n')}\n`);
