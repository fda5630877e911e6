import { encryptionProblems, encryptionRotation, inspectEncryption } from '../inspect/encryption.js';
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
  const state = await inspectEncryption(outDir, instance);
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
