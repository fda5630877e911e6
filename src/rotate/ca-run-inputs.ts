import type { Cluster } from '../model/cluster.js';
import { passphraseFile } from '../exec/passphrase.js';
import { existingPkiFolder } from '../exec/pki-folder.js';
import { pinFile } from '../exec/token.js';
import { instancesFor } from '../pki.js';

/**
 * What rotate-ca and renew-ca read first: the PKI folder (gen made it), the clock, the catalog's
 * instances, and the root CA's passphrase and PIN files, checked by every run (a bad file is bad input
 * anywhere) although only signing under a root uses them.
 */
export async function caRunInputs(cluster: Cluster, options: { out: string; now?: Date; caPassphraseFile?: string; caPinFile?: string }) {
  const outDir = await existingPkiFolder(options.out);
  const now = options.now ?? new Date();
  const instances = instancesFor(cluster);
  const passphrase = await passphraseFile(options.caPassphraseFile);
  const pin = await pinFile(options.caPinFile);
  return { outDir, now, instances, passphrase, pin };
}
