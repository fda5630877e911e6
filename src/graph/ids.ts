import { KIND_TEXT, expiryText, stateReason, subjectText, type Judged } from './describe.js';
import type { NodeFile, NodeView, PkiView, State } from './model.js';

// The graph's vertices and edges, named once for dot and mermaid: CAs, certificates, kubeconfigs,
// key pairs, and per node one vertex per item whose files it receives.

export type VertexKind = 'ca' | 'cert' | 'kubeconfig' | 'keypair' | 'files';

export interface Vertex {
  id: string;
  kind: VertexKind;
  /** Lines of the label (plain text; each renderer escapes). */
  lines: string[];
  state: State;
}

export interface Edge {
  from: string;
  to: string;
  kind: 'signs' | 'embeds' | 'placed';
}

export interface NodeGroup {
  id: string;
  node: NodeView;
  title: string;
  vertices: Vertex[];
}

export interface GraphModel {
  vertices: Vertex[];
  groups: NodeGroup[];
  edges: Edge[];
}

export const vertexId = {
  ca: (name: string) => `ca:${name}`,
  cert: (name: string) => `cert:${name}`,
  kubeconfig: (name: string) => `kubeconfig:${name}`,
  keypair: (name: string) => `keypair:${name}`,
  files: (node: string, owner: string) => `files:${node}:${owner}`,
  node: (node: string) => `node:${node}`,
};

/** Not ok: the state and its first reason, as a last label line. */
const stateLine = (item: Judged) => {
  const reason = stateReason(item);
  return reason ? [reason] : [];
};

/** The file vertices of one node: one per item (certificate, key pair, kubeconfig) it receives files of. */
function fileVertices(node: NodeView, ownerId: Map<string, string>): { vertices: Vertex[]; edges: Edge[] } {
  const byOwner = new Map<string, NodeFile[]>();
  for (const f of [...node.files].sort((a, b) => a.remote.localeCompare(b.remote))) byOwner.set(f.owner, [...(byOwner.get(f.owner) ?? []), f]);
  const vertices: Vertex[] = [];
  const edges: Edge[] = [];
  for (const [owner, files] of byOwner) {
    const id = vertexId.files(node.name, owner);
    const worst = files.find((f) => f.state !== 'ok' && f.state !== 'planned')?.state ?? files[0]!.state;
    vertices.push({ id, kind: 'files', lines: files.map((f) => `${f.remote}  0${f.mode.toString(8)}${f.part === 'key' ? '  key' : ''}${f.state === 'missing' ? '  MISSING' : ''}`), state: worst });
    const from = ownerId.get(owner);
    if (from) edges.push({ from, to: id, kind: 'placed' });
  }
  return { vertices, edges };
}

export function graphModel(view: PkiView): GraphModel {
  const vertices: Vertex[] = [];
  const edges: Edge[] = [];
  const ownerId = new Map<string, string>();
  for (const ca of view.cas) {
    const id = vertexId.ca(ca.name);
    ownerId.set(ca.name, id);
    vertices.push({ id, kind: 'ca', lines: [ca.certPath, subjectText(ca), `CA · ${expiryText(ca, view.now)}`, ...stateLine(ca)], state: ca.state });
    // An intermediate: the root CA signs it.
    if (ca.ca && view.cas.some((c) => c.name === ca.ca)) edges.push({ from: vertexId.ca(ca.ca), to: id, kind: 'signs' });
  }
  for (const cert of view.certs) {
    const id = vertexId.cert(cert.name);
    ownerId.set(cert.name, id);
    vertices.push({ id, kind: 'cert', lines: [cert.certPath, subjectText(cert), `${KIND_TEXT[cert.kind]} · ${expiryText(cert, view.now)}`, ...stateLine(cert)], state: cert.state });
    if (cert.ca && view.cas.some((c) => c.name === cert.ca)) edges.push({ from: vertexId.ca(cert.ca), to: id, kind: 'signs' });
  }
  for (const kc of view.kubeconfigs) {
    const id = vertexId.kubeconfig(kc.name);
    ownerId.set(kc.name, id);
    vertices.push({ id, kind: 'kubeconfig', lines: [kc.path, `server ${kc.server}`, ...stateLine(kc)], state: kc.state });
    if (view.certs.some((c) => c.name === kc.cert)) edges.push({ from: vertexId.cert(kc.cert), to: id, kind: 'embeds' });
  }
  for (const kp of view.keyPairs) {
    const id = vertexId.keypair(kp.name);
    ownerId.set(kp.name, id);
    vertices.push({ id, kind: 'keypair', lines: [kp.keyPath, kp.pubPath, 'key pair (no certificate)', ...stateLine(kp)], state: kp.state });
  }
  const groups = view.nodes.map((node): NodeGroup => {
    const files = fileVertices(node, ownerId);
    edges.push(...files.edges);
    const empty: Vertex = { id: vertexId.files(node.name, ''), kind: 'files', lines: ['no files'], state: view.folder === 'present' ? 'ok' : 'planned' };
    return { id: vertexId.node(node.name), node, title: `${node.name} (${node.role}, ${node.address})`, vertices: files.vertices.length ? files.vertices : [empty] };
  });
  return { vertices, groups, edges };
}
