// Phased rotation of a key that every control plane uses (rotate-sa; the encryption key can reuse it):
// start (the new key made, verified beside the old one), promote (the new key signs or encrypts, both
// still accepted), finish (only the new key; the old one archived). Plain data: phases, states and the
// record that marks a rotation under way. See docs/key-rotation.md.

export const KEY_ROTATION_PHASES = ['start', 'promote', 'finish'] as const;
export type KeyRotationPhase = (typeof KEY_ROTATION_PHASES)[number];

/** 'none': no rotation under way; else the last phase begun (complete or not). */
export type KeyRotationState = 'none' | KeyRotationPhase;

/** A command of a phased key rotation, as the user types it. */
export type KeyRotationCommand = KeyRotationPhase | 'status';

/**
 * The kinds of key kube-pki rotates in phases, with the command that does it. Each kind keeps its
 * record in OUT/.kube-pki-rotate-<kind>.json from the first step of start to the last of finish, so
 * that every other operation can see that the rotation is unfinished (src/exec/unfinished.ts).
 */
export const KEY_ROTATION_KINDS = {
  sa: { command: 'rotate-sa', what: 'service-account key rotation' },
} as const satisfies Record<string, { command: string; what: string }>;
export type KeyRotationKind = keyof typeof KEY_ROTATION_KINDS;

/** The record's name, relative to the PKI folder (a name kube-pki keeps: it starts with .kube-pki). */
export const keyRotationRecord = (kind: string): string => `.kube-pki-rotate-${kind}.json`;

/** What the record holds: the phase begun, and the new key's fingerprint (SHA-256 of its public key, hex). */
export interface KeyRotationRecord {
  kind: string;
  phase: KeyRotationPhase;
  newKey: string;
}
