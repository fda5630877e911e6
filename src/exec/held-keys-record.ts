import { X509Certificate, createPublicKey } from 'node:crypto';
import { join } from 'node:path';
import { writeFileAtomic } from '../files/atomic.js';
import { readPkiFile } from '../files/read.js';
import { recordedFingerprints, spkiFingerprint } from '../inspect/held-keys.js';
import { privateKey } from '../inspect/x509.js';
import { HELD_KEYS_RECORD, MODE } from '../model/files.js';
import type { Instances } from '../model/instances.js';

/**
 * Under the lock, before and after a run: adds to the record every CA whose key is here beside its
 * certificate (matching), so that a later run knows that key was kube-pki's when it is gone. Entries
 * are never removed: a key once held here stays "held", whatever happens to the record's neighbours.
 */
export async function recordHeldKeys(outDir: string, instances: Instances): Promise<void> {
  const known = await recordedFingerprints(outDir);
  const seen = new Set(known);
  for (const ca of instances.certs.filter((c) => c.spec.kind === 'ca')) {
    const [certPem, keyPem] = await Promise.all([readPkiFile(join(outDir, ca.certPath)).catch(() => null), readPkiFile(join(outDir, ca.keyPath)).catch(() => null)]);
    const key = keyPem ? privateKey(keyPem) : null;
    if (!certPem || !key) continue;
    try {
      const cert = new X509Certificate(certPem);
      if (cert.checkPrivateKey(key)) seen.add(spkiFingerprint(createPublicKey(key)));
    } catch {
      /* an unreadable certificate records nothing */
    }
  }
  if (seen.size === known.size) return;
  await writeFileAtomic(join(outDir, HELD_KEYS_RECORD), `${JSON.stringify({ caKeys: [...seen].sort() }, null, 2)}\n`, MODE.secret);
}
