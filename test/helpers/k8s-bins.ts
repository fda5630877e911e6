import { access, constants } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { ROOT } from './cli.js';

/** The Kubernetes components and etcd that scripts/k8s-bins.sh built from their Go modules. */
export interface K8sBins {
  kubeApiserver: string;
  kubeControllerManager: string;
  kubeScheduler: string;
  kubelet: string;
  kubeadm: string;
  etcd: string;
  etcdctl: string;
}

let cached: Promise<K8sBins> | undefined;

/** Where the binaries are (scripts/test.sh builds them before npm test); a clear error if they are not. */
export function k8sBins(): Promise<K8sBins> {
  cached ??= (async () => {
    const { stdout } = await execa(join(ROOT, 'scripts/k8s-bins.sh'), ['--print'], { stdin: 'ignore' });
    const [k8s, etcd] = stdout.trim().split('\n') as [string, string];
    const bins: K8sBins = {
      kubeApiserver: join(k8s, 'kube-apiserver'),
      kubeControllerManager: join(k8s, 'kube-controller-manager'),
      kubeScheduler: join(k8s, 'kube-scheduler'),
      kubelet: join(k8s, 'kubelet'),
      kubeadm: join(k8s, 'kubeadm'),
      etcd: join(etcd, 'etcd'),
      etcdctl: join(etcd, 'etcdctl'),
    };
    for (const file of Object.values(bins)) {
      await access(file, constants.X_OK).catch(() => {
        throw new Error(`${file} is missing: run scripts/k8s-bins.sh (scripts/test.sh does) to build the control plane from its Go modules`);
      });
    }
    return bins;
  })();
  return cached;
}

/** test/k8s/cmd/bootstrap-sim as scripts/k8s-bins.sh built it (its own folder, keyed by its source). */
export async function bootstrapSimBin(): Promise<string> {
  const { stdout } = await execa(join(ROOT, 'scripts/k8s-bins.sh'), ['--print'], { stdin: 'ignore' });
  const dir = stdout.trim().split('\n')[2];
  const file = join(dir ?? '', 'bootstrap-sim');
  await access(file, constants.X_OK).catch(() => {
    throw new Error(`${file} is missing: run scripts/k8s-bins.sh (scripts/test.sh does) to build test/k8s/cmd/bootstrap-sim`);
  });
  return file;
}
