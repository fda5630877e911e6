import type { Cluster, ClusterNode, RestartComponent } from '../model/cluster.js';
import { RESTART_COMPONENTS } from '../model/cluster.js';

/** Where kubeadm's kubelet reads its static pods; a manifest moved out stops the pod, moved back starts it. */
export const KUBEADM_MANIFESTS = '/etc/kubernetes/manifests';
/**
 * How long a static pod's manifest stays out of the folder: the kubelet looks at the folder every 20 s
 * (fileCheckFrequency), so the pod is surely gone before it comes back (kubeadm's certificate docs).
 */
export const STATIC_POD_PAUSE_SECONDS = 20;

const STATIC_PODS = new Set(['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler']);

/** The command and where it came from (for --dry-run and messages). */
export interface RestartCommand {
  argv: string[];
  from: string;
}

const isKnown = (c: string): c is RestartComponent => (RESTART_COMPONENTS as readonly string[]).includes(c);

/**
 * The default: the hard way runs every component as a systemd unit of its name (`systemctl restart
 * etcd`); kubeadm runs the control plane as static pods: the manifest moved out, a pause, moved back
 * (`sh -c`, one word: the remote shell gets it quoted); the kubelet (and anything else) is a unit.
 * With ssh.sudo, through `sudo -n` (never a password prompt).
 */
function defaultCommand(cluster: Cluster, node: ClusterNode, component: string): string[] {
  let argv = ['systemctl', 'restart', component];
  if (cluster.profile === 'kubeadm' && STATIC_PODS.has(component)) {
    const manifest = `${KUBEADM_MANIFESTS}/${component}.yaml`;
    const aside = `/etc/kubernetes/${component}.yaml.kube-pki-restart`;
    argv = ['sh', '-c', `mv ${manifest} ${aside} && sleep ${STATIC_POD_PAUSE_SECONDS} && mv ${aside} ${manifest}`];
  }
  return (node.ssh?.sudo ?? cluster.ssh?.sudo) ? ['sudo', '-n', ...argv] : argv;
}

/** The command that restarts a component on a node: nodes[].restart.commands, then restart.commands, then the default. */
export function restartCommand(cluster: Cluster, node: ClusterNode, component: string): RestartCommand {
  const index = cluster.nodes.indexOf(node);
  if (isKnown(component)) {
    const own = node.restart?.commands?.[component];
    if (own) return { argv: own, from: `${cluster.source}: nodes[${index}].restart.commands.${component}` };
    const shared = cluster.restart?.commands?.[component];
    if (shared) return { argv: shared, from: `${cluster.source}: restart.commands.${component}` };
  }
  return { argv: defaultCommand(cluster, node, component), from: `the ${cluster.profile} default` };
}

/** restart.skip (top level or the node's): a component kube-pki neither restarts nor waits for there. */
export function skipped(cluster: Cluster, node: ClusterNode, component: string): boolean {
  if (!isKnown(component)) return false;
  return !!(node.restart?.skip?.includes(component) || cluster.restart?.skip?.includes(component));
}
