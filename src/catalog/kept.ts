import type { CertInstance } from '../model/instances.js';
import { OWN_PREFIXES } from '../model/files.js';
import { rotationFiles } from '../model/rotation.js';
import { ROOT_CA_FILE } from './root.js';

// What kube-pki keeps in an output folder besides the catalog's files of this description: a node
// named like one of them would overwrite it or be taken for it (a worker "ca-new" for the new CA of a
// rotation, a kubeadm node "backup-x" for a backup folder). Reserved whether or not a rotation or a
// root CA is there now, so that a later rotate-ca or `rootCA:` cannot meet a node in its way.

/** Paths kube-pki keeps, relative to the output folder, with what keeps them (for the message). */
export function keptFiles(cas: readonly CertInstance[]): Map<string, string> {
  const kept = new Map<string, string>();
  for (const ext of ['crt', 'key']) kept.set(`${ROOT_CA_FILE}.${ext}`, 'for the root CA (rootCA)');
  for (const ca of cas) {
    // The CA's own pair (crt, key) is a catalog file: refused as such.
    for (const [part, path] of Object.entries(rotationFiles(ca.certPath, ca.keyPath)))
      if (part !== 'crt' && part !== 'key') kept.set(path, `for a rotation of ${ca.name} (rotate-ca)`);
  }
  return kept;
}

/** The prefix of names kube-pki keeps for itself (lock, temporary folder, records, backups) that `name` starts with. */
export function ownPrefixOf(name: string): string | undefined {
  return OWN_PREFIXES.find((p) => name.startsWith(p));
}
