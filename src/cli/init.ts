import { existsSync } from 'node:fs';
import { DEFAULT_CLUSTER_YAML } from '../cluster/default.js';
import { EXIT, UserError } from '../errors.js';
import { writeFileAtomic } from '../files/atomic.js';

/** Writes the built-in lab description for editing; never overwrites without --force. */
export async function init(file: string, force: boolean): Promise<void> {
  if (existsSync(file) && !force) throw new UserError(`${file} already exists; give --force to overwrite it`, EXIT.badInput);
  await writeFileAtomic(file, DEFAULT_CLUSTER_YAML, 0o644);
  process.stdout.write(`wrote ${file}: edit it, then run: npm run certs -- --config ${file}\n`);
}
