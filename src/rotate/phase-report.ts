import type { NodeRestart } from './restart.js';

/** What every phased rotation (rotate-ca, rotate-sa) reports about a run, beside its own state. */
export interface PhaseReport<Command extends string> {
  outDir: string;
  profile: string;
  source: string;
  command: Command;
  result: 'ok' | 'failed' | 'dry-run' | 'nothing';
  /** Files written or removed in the PKI folder: what distribution sends (or removes). */
  changed: string[];
  backupDir: string | null;
  /** Rolling restart after this phase: one node at a time, in this order. */
  restart: NodeRestart[];
  /** What the user should know next (when a retired bundle's name may go). */
  notes: string[];
  /** What the user should know although nothing failed (a leaf capped to the new CA's end). */
  warnings: string[];
  errors: { name: string; message: string }[];
}
