// CA rotation (rotate-ca) as plain data: the phases and the files each CA has while one is under way.
// Layout (docs/ca-rotation.md): the signing pair keeps the CA's own names (ca.crt/ca.key) all along,
// one matching pair at every moment; the trust locations name a separate bundle (ca-bundle.crt,
// old + new) only during the overlap; the new CA waits as ca-new.* until reissue makes it the signer,
// and the old one waits as ca-old.* until finish archives it.

export const ROTATION_PHASES = ['start', 'reissue', 'finish'] as const;
export type RotationPhase = (typeof ROTATION_PHASES)[number];

/** Where one CA stands: 'none' (no rotation under way), or the last phase begun (complete or not). */
export type RotationState = 'none' | RotationPhase;

/** The files of one CA during a rotation, relative to the PKI folder (or to a node's folder). */
export interface RotationFiles {
  /** The signing pair: the CA's own files, always one certificate and its key. */
  crt: string;
  key: string;
  /** Old + new CA certificates: what trust flags and kubeconfigs name during the overlap. */
  bundle: string;
  /** The new CA between start and reissue. */
  newCrt: string;
  newKey: string;
  /** The old CA between reissue and finish (then archived in the backup folder). */
  oldCrt: string;
  oldKey: string;
}

const stem = (crt: string) => crt.replace(/\.crt$/, '');

/** The bundle that stands for a CA certificate file during the overlap: ca.crt → ca-bundle.crt. */
export const bundleOf = (crt: string): string => `${stem(crt)}-bundle.crt`;

export function rotationFiles(crt: string, key: string): RotationFiles {
  const s = stem(crt);
  return { crt, key, bundle: bundleOf(crt), newCrt: `${s}-new.crt`, newKey: `${s}-new.key`, oldCrt: `${s}-old.crt`, oldKey: `${s}-old.key` };
}

/** A trust flag verifies others with a CA certificate; a signing flag signs with the CA's pair. */
export const isSigningFlag = (flag: string): boolean => flag.startsWith('--cluster-signing-');
