import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { EXIT, UserError } from '../errors.js';

/** The PKI folder --out names, absolute; the rotations and renew-ca work on one gen made, never make it. */
export async function existingPkiFolder(out: string): Promise<string> {
  const outDir = resolve(out);
  if (!(await stat(outDir).catch(() => null))?.isDirectory()) throw new UserError(`--out ${JSON.stringify(out)}: no such folder (${outDir}); kube-pki gen makes the PKI first`, EXIT.badInput);
  return outDir;
}
