import { EXIT, UserError } from '../errors.js';
import { keyRotationRecordText } from '../files/key-rotation-record.js';
import { MODE } from '../model/files.js';
import { KEY_ROTATION_KINDS, KEY_ROTATION_PHASES, keyRotationRecord, type KeyRotationKind, type KeyRotationPhase, type KeyRotationState } from '../model/key-rotation.js';
import type { Step } from '../model/steps.js';

// The phase machinery every phased key rotation shares (rotate-sa; rotate-encryption-key can use the
// same): which phase may run now, what to run next, and the record's steps. A kind supplies its own
// plans (which files each phase writes) and restart lists; the order and the record are the same.
//
//   none ──start──▶ start ──promote──▶ promote ──finish──▶ none (record removed by finish's last step)
//
// start writes the record first, finish removes it last: a run killed anywhere leaves a record, so
// every other operation refuses until the rotation is rolled forward.

const command = (kind: KeyRotationKind, phase: string) => `kube-pki ${KEY_ROTATION_KINDS[kind].command} ${phase}`;

/** What to run next, for status and the report. */
export function nextKeyPhase(kind: KeyRotationKind, state: KeyRotationState, complete: boolean): string {
  const run = (p: string) => command(kind, p);
  if (state === 'none') return `no rotation under way (${run('start')} begins one)`;
  if (!complete) return `${run(state)} again to complete the ${state} phase`;
  if (state === 'finish') return 'rotation done';
  const after = KEY_ROTATION_PHASES[KEY_ROTATION_PHASES.indexOf(state) + 1]!;
  return `distribute, restart as listed, then ${run(after)}`;
}

/**
 * Refuses a phase out of order (exit 2), naming what to run instead. Running the phase under way again
 * completes it; finish after a finished rotation (state none, `ended`) is allowed and changes nothing.
 */
export function assertKeyPhaseOrder(kind: KeyRotationKind, phase: KeyRotationPhase, state: KeyRotationState, complete: boolean, ended = false): void {
  const run = (p: string) => command(kind, p);
  const refuse = (what: string) => {
    throw new UserError(`${KEY_ROTATION_KINDS[kind].command} ${phase}: ${what}`, EXIT.badInput);
  };
  const at = KEY_ROTATION_PHASES.indexOf(phase);
  if (state === 'none') {
    // ended: a rotation finished here before (finish again changes nothing).
    if (phase === 'promote' || (phase === 'finish' && !ended)) refuse(`no rotation under way: run ${run('start')} first`);
    return;
  }
  const now = KEY_ROTATION_PHASES.indexOf(state);
  if (now > at) refuse(`the rotation is already in the ${state} phase${complete ? '' : ' (not complete)'}: run ${run(complete && state !== 'finish' ? KEY_ROTATION_PHASES[now + 1]! : state)}`);
  if (now < at - 1) refuse(`the rotation is in the ${state} phase: run ${run(KEY_ROTATION_PHASES[now + 1]!)} first`);
  if (now === at - 1 && !complete) refuse(`the ${state} phase is not complete: run ${run(state)} again first`);
}

/** Steps that write the record (through the temp folder and a rename, like every file of a plan). */
export function recordSteps(kind: KeyRotationKind, phase: KeyRotationPhase, newKey: string): Step[] {
  const file = keyRotationRecord(kind);
  return [
    { op: 'write', file, content: keyRotationRecordText({ kind, phase, newKey }) },
    { op: 'install', file, mode: MODE.secret },
  ];
}

/** finish's last step: the rotation is over. */
export const clearRecordStep = (kind: KeyRotationKind): Step => ({ op: 'remove', file: keyRotationRecord(kind) });
