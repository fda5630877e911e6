import { posix } from 'node:path';
import { nodeFolder } from '../catalog/flags.js';
import { landings } from '../catalog/placement.js';
import type { Cluster } from '../model/cluster.js';
import type { Instances } from '../model/instances.js';

/** A file of the PKI folder and, on each node that receives it, where it lands (node trees: its copy there). */
export interface ExplainedFile {
  path: string;
  mode: string;
  what: string;
  nodes: string[];
  onNodes: { node: string; file: string; remotePath: string }[];
}

/** One file (a certificate's or a key pair's) with its placement on the nodes, in the folder the flags name (kube-pki flags). */
export function explainedFile(cluster: Cluster, instances: Instances, path: string, mode: number, what: string, nodes: string[]): ExplainedFile {
  const { dir } = nodeFolder(cluster);
  const onNodes = landings(instances, path, nodes).map((l) => ({ node: l.node, file: l.file, remotePath: posix.join(dir, l.remote) }));
  return { path, mode: `0${mode.toString(8)}`, what, nodes: onNodes.map((l) => l.node), onNodes };
}
