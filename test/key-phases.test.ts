import { describe, expect, it } from 'vitest';
import { UserError } from '../src/errors.js';
import type { KeyRotationPhase, KeyRotationState } from '../src/model/key-rotation.js';
import { assertKeyPhaseOrder, nextKeyPhase, recordSteps } from '../src/rotate/key-phases.js';

// The phase machinery every phased key rotation shares (rotate-sa now): which phase may run from which
// state, what it says to run instead, and the record's steps (no key material in it).

const outcome = (phase: KeyRotationPhase, state: KeyRotationState, complete: boolean, ended = false): string => {
  try {
    assertKeyPhaseOrder('sa', phase, state, complete, ended);
    return 'ok';
  } catch (err) {
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).exitCode).toBe(2);
    return (err as Error).message;
  }
};

describe('key rotation phases', () => {
  it('allows start from none, each next phase once the one before is complete, and the same phase again', () => {
    expect(outcome('start', 'none', true)).toBe('ok');
    expect(outcome('start', 'start', false)).toBe('ok');
    expect(outcome('promote', 'start', true)).toBe('ok');
    expect(outcome('promote', 'promote', true)).toBe('ok');
    expect(outcome('finish', 'promote', true)).toBe('ok');
    expect(outcome('finish', 'finish', false)).toBe('ok');
    expect(outcome('finish', 'none', true, true)).toBe('ok');
  });

  it('refuses out of order, naming what to run', () => {
    expect(outcome('promote', 'none', true)).toBe('rotate-sa promote: no rotation under way: run kube-pki rotate-sa start first');
    expect(outcome('finish', 'none', true)).toBe('rotate-sa finish: no rotation under way: run kube-pki rotate-sa start first');
    expect(outcome('promote', 'start', false)).toBe('rotate-sa promote: the start phase is not complete: run kube-pki rotate-sa start again first');
    expect(outcome('finish', 'start', true)).toBe('rotate-sa finish: the rotation is in the start phase: run kube-pki rotate-sa promote first');
    expect(outcome('start', 'promote', true)).toBe('rotate-sa start: the rotation is already in the promote phase: run kube-pki rotate-sa finish');
    expect(outcome('start', 'finish', false)).toBe('rotate-sa start: the rotation is already in the finish phase (not complete): run kube-pki rotate-sa finish');
  });

  it('says what to run next', () => {
    expect(nextKeyPhase('sa', 'none', true)).toBe('no rotation under way (kube-pki rotate-sa start begins one)');
    expect(nextKeyPhase('sa', 'start', true)).toBe('distribute, restart as listed, then kube-pki rotate-sa promote');
    expect(nextKeyPhase('sa', 'promote', false)).toBe('kube-pki rotate-sa promote again to complete the promote phase');
  });

  it('writes the record through the temp folder, 0600, with the phase and a fingerprint only', () => {
    const steps = recordSteps('sa', 'promote', 'ab'.repeat(32));
    expect(steps).toEqual([
      { op: 'write', file: '.kube-pki-rotate-sa.json', content: `${JSON.stringify({ kind: 'sa', phase: 'promote', newKey: 'ab'.repeat(32) })}\n` },
      { op: 'install', file: '.kube-pki-rotate-sa.json', mode: 0o600 },
    ]);
  });
});
