import { resolve } from 'node:path';
import { writeFileAtomic } from '../files/atomic.js';
import { MODE } from '../model/files.js';

/**
 * Writes the metrics for node_exporter's textfile collector: a temporary file in the same folder, then a
 * rename and the folder synced, so the collector never reads half a file. Readable by all (0644): the
 * collector may run as another user, and certificate dates are no secret.
 */
export async function writeMetricsFile(file: string, text: string): Promise<string> {
  const path = resolve(file);
  await writeFileAtomic(path, text, MODE.public);
  return path;
}
