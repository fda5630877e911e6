import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type Handlebars from 'handlebars';
import handlebarsRuntime from 'handlebars/runtime.js';
import { projectFile } from '../util/project-file.js';
import type { CertInstance } from '../model/instances.js';
import { COMPILE_OPTIONS, PRECOMPILED } from './precompiled.js';
import { INTERMEDIATE_PATHLEN } from '../catalog/root.js';

const TEMPLATE = 'templates/openssl.cnf.hbs';

let compiled: Handlebars.TemplateDelegate | undefined;

/**
 * The openssl.cnf template, read from templates/ on every run. dist/ carries it compiled at build
 * time, used while the file is unchanged; an edited template (or a run from src/) is compiled here
 * with the full Handlebars, which only this case loads.
 */
function template(): Handlebars.TemplateDelegate {
  if (compiled) return compiled;
  const source = readFileSync(projectFile(TEMPLATE), 'utf8');
  const built = PRECOMPILED[TEMPLATE]?.source === source ? PRECOMPILED[TEMPLATE] : undefined;
  const hb = (built ? (handlebarsRuntime as typeof Handlebars) : fullHandlebars()).create();
  hb.registerHelper('join', (items: string[]) => items.join(', '));
  hb.registerHelper('inc', (i: number) => i + 1);
  compiled = built ? hb.template(built.spec) : hb.compile(source, { ...COMPILE_OPTIONS });
  return compiled;
}

const fullHandlebars = (): typeof Handlebars => createRequire(import.meta.url)('handlebars') as typeof Handlebars;

/** The extensions section: the lab's name for leaves, the usual one for CAs. */
export function extensionSection(cert: CertInstance): string {
  return cert.usages.ca ? 'v3_ca' : 'v3_req';
}

// Values reaching the file were validated by the cluster schema; this re-check is the last line of
// defence: nothing that could end a line, open a section or start a directive gets through.
const SAFE_VALUE = /^[A-Za-z0-9.:*_-]+$/;

function assertSafe(values: string[], what: string): void {
  for (const v of values) {
    if (!SAFE_VALUE.test(v)) throw new Error(`refusing to write ${JSON.stringify(v)} into ${what}`);
  }
}

/**
 * `skid`: the subject key identifier to write as it is (hex, colon-separated), for a CA renewed with its
 * key (renew-ca keeps the identifier its leaves name); otherwise openssl's hash of the public key.
 */
export function renderCnf(cert: CertInstance, { skid }: { skid?: string } = {}): string {
  const { dns, ip } = cert.sans;
  assertSafe([...dns, ...ip, ...cert.name.split('/'), ...(skid ? [skid] : [])], `openssl.cnf of ${cert.name}`);
  return template()({
    name: cert.name,
    kind: cert.spec.kind,
    section: extensionSection(cert),
    ca: cert.usages.ca,
    // An intermediate under the root signs leaves only (a string: Handlebars treats 0 as false).
    pathLen: cert.root ? String(INTERMEDIATE_PATHLEN) : '',
    keyUsage: cert.usages.keyUsage,
    extendedKeyUsage: cert.usages.extendedKeyUsage,
    hasSans: dns.length + ip.length > 0,
    dns,
    ip,
    skid: skid ?? '',
    // A CA renewed without an identifier (none before, none after) cannot name its own: keyid where there is one.
    skidNone: skid === 'none',
  });
}
