import { readFileSync } from 'node:fs';
import Handlebars from 'handlebars';
import { projectFile } from '../util/project-file.js';
import type { CertInstance } from '../plan/instances.js';


let compiled: Handlebars.TemplateDelegate | undefined;

function template(): Handlebars.TemplateDelegate {
  if (compiled) return compiled;
  const hb = Handlebars.create();
  hb.registerHelper('join', (items: string[]) => items.join(', '));
  hb.registerHelper('inc', (i: number) => i + 1);
  // noEscape: openssl.cnf is not HTML. strict: a misspelt field fails instead of rendering empty.
  compiled = hb.compile(readFileSync(projectFile('templates/openssl.cnf.hbs'), 'utf8'), { noEscape: true, strict: true });
  return compiled;
}

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

export function renderCnf(cert: CertInstance): string {
  const { dns, ip } = cert.sans;
  assertSafe([...dns, ...ip, ...cert.name.split('/')], `openssl.cnf of ${cert.name}`);
  return template()({
    name: cert.name,
    kind: cert.spec.kind,
    section: extensionSection(cert),
    ca: cert.usages.ca,
    keyUsage: cert.usages.keyUsage,
    extendedKeyUsage: cert.usages.extendedKeyUsage,
    hasSans: dns.length + ip.length > 0,
    dns,
    ip,
  });
}
