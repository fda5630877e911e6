import { encryptionProblems, encryptionRotation, inspectEncryption } from '../inspect/encryption.js';
import { relative } from 'node:path';
import { UnusableFile } from '../files/read.js';
import type { Instances } from '../model/instances.js';
import { problem } from '../model/problem.js';
import { statusOf, type EncryptionRow } from './report.js';

/**
 * The EncryptionConfiguration (description `encryption`): there, 0600, a configuration kube-pki
 * understands with keys of the right length, the trees' copies equal to it. Key names only, never a key.
 */
export async function encryptionRow(outDir: string, instances: Instances): Promise<EncryptionRow | null> {
  const instance = instances.encryption;
  if (!instance) return null;
  let state;
  try {
    state = await inspectEncryption(outDir, instance);
  } catch (err) {
    // A folder, a link loop, a file this user cannot read: reported as for every file of the folder.
    if (!(err instanceof UnusableFile)) throw err;
    const problems = [problem('error', 'unreadable', `${relative(outDir, err.path) || err.path}: ${err.reason}`)];
    return { file: instance.path, provider: instance.provider, keys: [], rotation: 'none', status: statusOf(problems), problems };
  }
  const rotation = encryptionRotation(instance, state);
  const problems = encryptionProblems(instance, state).map((message) =>
    problem(!state.exists ? 'warning' : 'error', !state.exists ? 'encryption-missing' : /mode/.test(message) ? 'encryption-mode' : /differs|is missing/.test(message) ? 'encryption-copy' : 'encryption-config', message),
  );
  if (rotation.state !== 'none')
    problems.push(problem('note', 'encryption-rotation', `a key rotation is under way (phase ${rotation.state}): kube-pki rotate-encryption-key status says what is next`));
  else if (state.config && rotation.broken) problems.push(problem('error', 'encryption-config', rotation.broken));
  return {
    file: instance.path,
    provider: state.config?.provider ?? instance.provider,
    keys: rotation.keys,
    rotation: rotation.state,
    status: statusOf(problems),
    problems,
  };
}
