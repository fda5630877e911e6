import type { RootInitResult } from './init.js';

/** What root init did (or would do), as lines a person reads. */
export function rootInitText(r: RootInitResult): string {
  const key = r.key === 'made' ? `made in the token (${r.kind}; private, sensitive, never extractable)` : `found in the token (${r.kind}; made by its own tools)`;
  const lines =
    r.result === 'dry-run'
      ? [`dry run: nothing written`, `root CA key ${r.uri} (module ${r.module}): would be ${r.key === 'made' ? 'made' : 'certified as it is'}`, `would write ${r.certificate}`]
      : r.result === 'ok'
        ? [`root CA key ${r.uri} (module ${r.module}): ${key}`, `written: ${r.certificate} (self-signed)`, 'next: kube-pki gen --ca-pin-file FILE signs the intermediates through the token; no file holds the root key']
        : [`root init failed: ${r.errors.join('; ')}`];
  return `${lines.join('\n')}\n`;
}
