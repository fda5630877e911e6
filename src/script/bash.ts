import { dirname } from 'node:path';
import { renderKubeconfig } from '../kubeconfig/render.js';
import { usesPassphrase, usesToken, type Arg, type Plan, type PlanItem, type Step } from '../model/steps.js';
import { shellQuote } from '../util/shell.js';
import { renderEncryptionConfig } from '../encryption/config.js';
import { ENCRYPTION_KEY_BYTES } from '../model/encryption.js';
import { caConfig, CA_CONFIG_FILE, CA_INDEX } from '../openssl/commands.js';
import { BACKDATE_MS } from '../model/time.js';

const EOF_MARK = 'KUBE_PKI_EOF';

/** Every certificate's start (openssl ca -startdate): 5 minutes before the script runs, as kubeadm backdates. */
const NOT_BEFORE_VAR = 'KUBE_PKI_NOT_BEFORE';
/** The temporary folder of `openssl ca`'s configuration and database, removed when the script ends. */
const CA_DB_VAR = 'KUBE_PKI_CA_DB';

/** The variable that names the root CA key's passphrase file, in the script as for the tool. */
export const PASSPHRASE_VAR = 'KUBE_PKI_CA_PASSPHRASE_FILE';

/** One argument as a learner would type it; the serial is drawn by openssl at run time. */
export function argText(arg: Arg): string {
  if (typeof arg === 'string') return shellQuote(arg);
  if ('in' in arg) return shellQuote(arg.in);
  if ('out' in arg) return shellQuote(arg.out);
  // The passphrase stays in its file: openssl reads the file this variable names.
  if ('passphrase' in arg) return `"file:$${PASSPHRASE_VAR}"`;
  if ('token' in arg) return shellQuote(arg.token);
  if ('notBefore' in arg) return `"$${NOT_BEFORE_VAR}"`;
  if ('caConfig' in arg) return `"$${CA_DB_VAR}/${CA_CONFIG_FILE}"`;
  return '"0x$(openssl rand -hex 16)"';
}

/** The variable that names the token's PIN file, in the script as for the tool. */
export const PIN_VAR = 'KUBE_PKI_CA_PIN_FILE';
/** The variable that names the token's PKCS#11 module in the script. */
export const MODULE_VAR = 'KUBE_PKI_PKCS11_MODULE';
/** The script's function that prints the engine's configuration (module, PIN) for descriptor 3. */
const ENGINE_CONF_FN = 'kube_pki_engine_conf';

/**
 * An openssl command line. One that signs with the key in a token reads its engine's configuration
 * (the module, the PIN) from descriptor 3, as kube-pki hands it over: the PIN is never an argument.
 */
export function opensslLine(args: Arg[]): string {
  const line = ['openssl', ...args.map(argText)].join(' ');
  return usesToken({ op: 'openssl', args }) ? `OPENSSL_CONF=/dev/fd/3 ${line} 3< <(${ENGINE_CONF_FN})` : line;
}

function heredoc(file: string, content: string, quoted: boolean): string[] {
  if (content.split('\n').includes(EOF_MARK)) throw new Error(`content of ${file} contains the heredoc marker`);
  const body = content.endsWith('\n') ? content.slice(0, -1) : content;
  return [`cat > ${shellQuote(file)} <<${quoted ? `'${EOF_MARK}'` : EOF_MARK}`, body, EOF_MARK];
}

/** A step as bash lines. `made` tracks folders already created, for nested layouts. */
export function stepLines(step: Step, made: Set<string> = new Set()): string[] {
  const mkdir = (file: string): string[] => {
    const dir = dirname(file);
    if (dir === '.' || made.has(dir)) return [];
    made.add(dir);
    return [`mkdir -p -m 700 ${shellQuote(dir)}`];
  };
  switch (step.op) {
    case 'write':
      return [...mkdir(step.file), ...heredoc(step.file, step.content, true)];
    case 'openssl': {
      const outs = step.args.filter((a): a is { out: string } => typeof a === 'object' && 'out' in a);
      return [...outs.flatMap((o) => mkdir(o.out)), opensslLine(step.args)];
    }
    case 'install':
      return [`chmod ${step.mode.toString(8)} ${shellQuote(step.file)}`];
    case 'backup':
      return [`cp -p ${shellQuote(step.file)} ${shellQuote(`backup/${step.file}`)}`];
    case 'copy':
      return [...mkdir(step.to), `cp ${shellQuote(step.from)} ${shellQuote(step.to)}`, `chmod ${step.mode.toString(8)} ${shellQuote(step.to)}`];
    case 'concat':
      // awk 1, not cat: every line ends in a newline, so no two PEM blocks are glued together.
      return [...mkdir(step.to), `awk 1 ${step.from.map(shellQuote).join(' ')} > ${shellQuote(step.to)}`, `chmod ${step.mode.toString(8)} ${shellQuote(step.to)}`];
    case 'encryption-config': {
      // As both hard-way guides: the key is drawn by openssl rand when the script runs, never written into it.
      const fresh = step.keys.filter((k): k is { name: string; fresh: true } => 'fresh' in k);
      if (fresh.length !== step.keys.length) throw new Error(`${step.file}: a script writes new encryption keys only`);
      const variable = (name: string) => `ENCRYPTION_KEY_${name.toUpperCase()}`;
      const yaml = renderEncryptionConfig({ provider: step.provider, keys: fresh.map((k) => ({ name: k.name, secret: `\${${variable(k.name)}}` })) });
      return [
        ...mkdir(step.file),
        ...fresh.map((k) => `${variable(k.name)}=$(openssl rand -base64 ${ENCRYPTION_KEY_BYTES})`),
        ...heredoc(step.file, yaml, false),
        ...fresh.map((k) => `unset ${variable(k.name)}`),
      ];
    }
    case 'remove':
      return [`rm -f ${shellQuote(step.file)}`];
    case 'kubeconfig': {
      const k = step.kubeconfig;
      // openssl's base64 (-A: one line), not GNU `base64 -w0`: the script runs on macOS too.
      const b64 = (file: string) => `$(openssl base64 -A -in ${shellQuote(file)})`;
      // Same YAML as the tool writes, with the embedded data filled in by the shell.
      // Placeholders are plain words, so that YAML writes them (and so the base64) unquoted, as the tool does.
      const yaml = renderKubeconfig(k, { ca: 'KUBEPKICADATA', cert: 'KUBEPKICERTDATA', key: 'KUBEPKIKEYDATA' })
        .replace('KUBEPKICADATA', b64(k.caFile))
        .replace('KUBEPKICERTDATA', b64(k.certFile))
        .replace('KUBEPKIKEYDATA', b64(k.keyFile));
      return [...mkdir(step.file), ...heredoc(step.file, yaml, false)];
    }
  }
}

export function itemLines(item: PlanItem, made: Set<string> = new Set()): string[] {
  return [...item.keySteps, ...item.steps].flatMap((s) => stepLines(s, made));
}

/** The whole plan as a bash script that runs on its own in an empty folder. */
export function planToBash(plan: Plan, header: { source: string; passphraseFile?: string; pinFile?: string; module?: string }): string {
  const made = new Set<string>();
  const lines = [
    '#!/usr/bin/env bash',
    `# The ${plan.profile} PKI of ${header.source}, as plain openssl commands (written by kube-pki script).`,
    '# Run it in an empty folder: bash this-file.sh',
    '# Each certificate takes three steps: a key (genrsa), a signing request (req), a certificate signed by `openssl ca`.',
    'set -euo pipefail',
    'umask 077',
  ];
  if (plan.items.some((i) => [...i.keySteps, ...i.steps].some(signs))) lines.push(...signingLines());
  if (plan.items.some((i) => [...i.keySteps, ...i.steps].some(usesPassphrase))) lines.push(...passphraseLines(header.passphraseFile));
  if (plan.items.some((i) => [...i.keySteps, ...i.steps].some(usesToken))) lines.push(...tokenLines(header.pinFile, header.module));
  for (const item of plan.items) {
    const body = itemLines(item, made);
    if (body.length === 0) continue;
    lines.push('', `# --- ${item.name} (${item.group}) ---`, ...body);
  }
  lines.push('', 'echo "PKI written to $(pwd)"', '');
  return lines.join('\n');
}

const signs = (step: Step): boolean => step.op === 'openssl' && step.args[0] === 'ca';

/**
 * `openssl ca` keeps its database in a temporary folder (openssl.cnf reads KUBE_PKI_CA_DB), removed at
 * the end; every certificate starts 5 minutes before the script runs (date -d is GNU's, -r the BSDs').
 */
function signingLines(): string[] {
  const stamp = '+%Y%m%d%H%M%SZ';
  return [
    `# openssl ca signs (its database in a temporary folder); certificates start 5 minutes ago, as kubeadm backdates them.`,
    `${CA_DB_VAR}="$(mktemp -d)"`,
    `trap 'rm -rf "$${CA_DB_VAR}"' EXIT`,
    ...heredoc(`$${CA_DB_VAR}/${CA_CONFIG_FILE}`, caConfig(`$${CA_DB_VAR}`), false).map((l, i) => (i === 0 ? l.replace(/^cat > '([^']*)'/, 'cat > "$1"') : l)),
    `: > "$${CA_DB_VAR}/${CA_INDEX}"`,
    `kube_pki_start=$(( $(date +%s) - ${BACKDATE_MS / 1000} ))`,
    `${NOT_BEFORE_VAR}="$(date -u -d "@$kube_pki_start" ${stamp} 2>/dev/null || date -u -r "$kube_pki_start" ${stamp})"`,
  ];
}

/**
 * The root CA key is encrypted: openssl reads its passphrase from the file KUBE_PKI_CA_PASSPHRASE_FILE
 * names (default: the file given to `kube-pki script --ca-passphrase-file`). The passphrase itself is
 * never in the script.
 */
function passphraseLines(file: string | undefined): string[] {
  return [
    '# The root CA key is encrypted (AES-256, PKCS#8); openssl reads the passphrase from the file this variable names.',
    file ? `: "\${${PASSPHRASE_VAR}:=${file.replace(/["\\$`]/g, '\\$&')}}"` : `: "\${${PASSPHRASE_VAR}:?name the file that holds the root CA key passphrase}"`,
    `[ -s "$${PASSPHRASE_VAR}" ] || { echo "$${PASSPHRASE_VAR}: no such file, or empty: it must hold the root CA key passphrase" >&2; exit 2; }`,
  ];
}

/** A value for a bash double-quoted default: what the shell would expand escaped. */
const dq = (v: string) => v.replace(/["\\$`]/g, '\\$&');

/**
 * The root CA key is in a PKCS#11 token: openssl's pkcs11 engine reads the module and the PIN from a
 * configuration printed by a shell function into descriptor 3 (bash builtins only: the PIN is in no
 * argument of any process, no environment variable, no file). The PIN is the first line of the file
 * KUBE_PKI_CA_PIN_FILE names (default: the file given to `kube-pki script --ca-pin-file`).
 */
function tokenLines(pinFile: string | undefined, module: string | undefined): string[] {
  return [
    "# The root CA key is in a PKCS#11 token (rootCA.pkcs11); openssl's pkcs11 engine (libengine-pkcs11-openssl) signs with it.",
    '# Its user PIN is the first line of the file this variable names; it goes to openssl on descriptor 3, never as an argument.',
    pinFile ? `: "\${${PIN_VAR}:=${dq(pinFile)}}"` : `: "\${${PIN_VAR}:?name the file whose first line is the token's user PIN}"`,
    module ? `: "\${${MODULE_VAR}:=${dq(module)}}"` : `: "\${${MODULE_VAR}:?name the token's PKCS#11 module}"`,
    `[ -s "$${PIN_VAR}" ] || { echo "$${PIN_VAR}: no such file, or empty: its first line must be the token's user PIN" >&2; exit 2; }`,
    `${ENGINE_CONF_FN}() {`,
    '  local pin module',
    `  IFS= read -r pin < "$${PIN_VAR}" || [ -n "$pin" ]`,
    '  pin=${pin%$\'\\r\'}',
    '  # openssl.cnf quoting: \\, ", $ and # escaped with a backslash',
    `  module=$${MODULE_VAR}`,
    '  for v in pin module; do',
    '    local x=${!v}',
    '    x=${x//\\\\/\\\\\\\\}; x=${x//\\"/\\\\\\"}; x=${x//\\$/\\\\\\$}; x=${x//#/\\\\#}',
    '    printf -v "$v" %s "$x"',
    '  done',
    '  printf \'openssl_conf = openssl_init\\n[openssl_init]\\nengines = engine_section\\n[engine_section]\\npkcs11 = pkcs11_section\\n\'',
    '  printf \'[pkcs11_section]\\nengine_id = pkcs11\\nMODULE_PATH = "%s"\\nPIN = "%s"\\ninit = 0\\n\' "$module" "$pin"',
    '}',
  ];
}
