import type { EncryptionState } from '../inspect/encryption.js';
import { ENCRYPTION_CONFIG, keyName, type EncryptionInstance, type EncryptionKeyRef } from '../model/encryption.js';
import { MODE } from '../model/files.js';
import type { PlanItem, Step } from '../model/steps.js';

// gen's part of the EncryptionConfiguration (docs/encryption.md): made once with a fresh key, never
// made again while it exists (a new key would make every Secret in etcd unreadable), and copied into
// each control plane's tree (kubeadm). Rotation is rotate-encryption-key's, never gen's.

const item = (name: string, action: PlanItem['action'], reasons: string[], rest: Partial<PlanItem> = {}): PlanItem => ({
  name, group: 'keypair', action, reasons, needs: [], keySteps: [], steps: [], outputs: [], ...rest,
});

/** The item that writes a configuration with these keys to `file` (0600), backing up what is there. */
export function configSteps(instance: EncryptionInstance, keys: EncryptionKeyRef[], backup: boolean): Step[] {
  return [
    ...(backup ? [{ op: 'backup', file: instance.path } as const] : []),
    { op: 'encryption-config', file: instance.path, provider: instance.provider, keys },
    { op: 'install', file: instance.path, mode: MODE.secret },
  ];
}

/** The copies of the source into the trees that differ from it (all of them when `all`). */
export function copyItems(instance: EncryptionInstance, state: EncryptionState | undefined, all: boolean, needs: string[], force = false): PlanItem[] {
  return instance.copies.map((c) => {
    const s = state?.copies.get(c.path) ?? { exists: false, same: false };
    const name = `${c.node}/${ENCRYPTION_CONFIG}`;
    if (!all && s.same) return item(name, 'keep', ['kept']);
    if (!all && s.exists && !force) return item(name, 'stale', [`${c.path} differs from ${instance.path}; kept as it is (--force copies ${instance.path} over it)`]);
    return item(name, s.exists ? 'reissue' : 'create', [`${s.exists ? 'updated' : 'copied'} from ${instance.path}`], {
      needs,
      steps: [...(s.exists ? [{ op: 'backup', file: c.path } as const] : []), { op: 'copy', from: instance.path, to: c.path, mode: MODE.secret }],
      outputs: [c.path],
    });
  });
}

export function planEncryption(instance: EncryptionInstance, state: EncryptionState | undefined, force = false): PlanItem[] {
  const copied = [...(state?.copies.values() ?? [])].some((c) => c.exists);
  if (!state?.exists) {
    // A node's copy holds the key the cluster encrypts with: a new key here would replace it on every node.
    if (copied)
      return [item(ENCRYPTION_CONFIG, 'stale', [`${instance.path} is missing but the nodes' trees hold copies of it: restore it from one of them (cp ${instance.copies[0]!.path} ${instance.path}); a new key would make every Secret unreadable`])];
    return [
      item(ENCRYPTION_CONFIG, 'create', [`new, ${instance.provider} with a fresh 32-byte key (openssl rand)`], {
        steps: configSteps(instance, [{ name: keyName(1), fresh: true }], false),
        outputs: [instance.path],
      }),
      ...copyItems(instance, state, true, [ENCRYPTION_CONFIG]),
    ];
  }
  const warnings =
    state.config && state.config.provider !== instance.provider
      ? [`${instance.path} uses ${state.config.provider}, the description says ${instance.provider}: kept (gen never replaces a key; see docs/encryption.md)`]
      : [];
  const source = item(ENCRYPTION_CONFIG, state.problem ? 'stale' : 'keep', state.problem ? [state.problem, 'never rewritten by gen: it holds the key of every Secret'] : ['kept (a key is never made again)'], warnings.length ? { warnings } : {});
  return [source, ...copyItems(instance, state, false, [], force && !state.problem)];
}
