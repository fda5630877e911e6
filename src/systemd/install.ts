import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EXIT, UserError } from '../errors.js';
import { writeFileAtomic } from '../files/atomic.js';
import { MODE } from '../model/files.js';
import { SERVICE, TIMER, serviceUnit, timerUnit, type UnitInput } from './units.js';

export interface InstallResult {
  written: string[];
  unchanged: string[];
}

/**
 * Writes both units into `dir`, each atomically. A unit that exists with other contents is someone's
 * edit: without `force` nothing is written and both differing files are named.
 */
export async function installUnits(dir: string, input: UnitInput, force: boolean): Promise<InstallResult> {
  const units = [
    { path: join(dir, SERVICE), text: serviceUnit(input) },
    { path: join(dir, TIMER), text: timerUnit(input) },
  ];
  const existing = await Promise.all(units.map((u) => readFile(u.path, 'utf8').catch(() => null)));
  const differing = units.filter((u, i) => existing[i] !== null && existing[i] !== u.text);
  if (differing.length && !force)
    throw new UserError(`systemd: nothing written: ${differing.map((u) => u.path).join(' and ')} exist${differing.length === 1 ? 's' : ''} with other contents; --force replaces them`, EXIT.badInput);
  const result: InstallResult = { written: [], unchanged: [] };
  for (const [i, u] of units.entries()) {
    if (existing[i] === u.text) result.unchanged.push(u.path);
    else {
      await writeFileAtomic(u.path, u.text, MODE.public);
      result.written.push(u.path);
    }
  }
  return result;
}
