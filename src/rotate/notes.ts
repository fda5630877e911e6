import { bundleCopies, caFiles, type CaRotation } from '../inspect/rotation.js';
import type { Instances } from '../model/instances.js';

// What rotate-ca says comes next, beyond the restart list: when a kept bundle's name may go, and the
// second step of an abort from reissue.

/** When the bundle's name may go: after the restart, once nothing is started with it. */
export function retiredBundleNote(instances: Instances, caName: string, holds: string): string {
  const f = caFiles(instances.certs.find((c) => c.name === caName)!);
  const copies = bundleCopies(instances, caName).length ? ' (and its copies in the node trees)' : '';
  return (
    `${f.bundle}${copies} now holds only ${holds}, the same as ${f.crt}, and stays on the nodes: a component still started with it keeps working. ` +
    `Once every component runs with the flags \`kube-pki flags\` prints now (${f.crt}), after the restart below, its name may go: ` +
    `delete it here and run kube-pki distribute (it removes it from the nodes), or keep it: the next rotate-ca start reuses it`
  );
}

/** What the user does after abort: from reissue, a second abort once the nodes run with the old CA's files. */
export const backInStartNote = (r: CaRotation): string =>
  `${r.ca.name}: back in phase start (${r.files.crt} is the old CA again and signs every leaf; both CAs stay trusted): distribute, restart as listed, ` +
  'then run kube-pki rotate-ca abort again to end trust in the new CA (or kube-pki rotate-ca reissue to go forward after all)';
