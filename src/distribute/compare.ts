import { readFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { EXIT, UserError } from '../errors.js';
import type { ManifestFile, NodeManifest } from './manifest.js';
import { NODE_PROMISE } from './install.js';
import { sha256, TEMP_NAME, type FolderListing, type RemoteStore } from './store.js';

export interface LocalFile {
  data: Buffer;
  sha256: string;
}

/** Reads every file the selected nodes need, once each; a missing one is bad input (run gen first). */
export async function readLocalFiles(outDir: string, manifests: NodeManifest[]): Promise<Map<string, LocalFile>> {
  const paths = [...new Set(manifests.flatMap((m) => m.files.map((f) => f.local)))];
  const missing: string[] = [];
  const files = new Map<string, LocalFile>();
  await Promise.all(
    paths.map(async (p) => {
      try {
        const data = await readFile(join(outDir, p));
        files.set(p, { data, sha256: sha256(data) });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        missing.push(p);
      }
    }),
  );
  if (missing.length)
    throw new UserError(`${outDir} lacks ${missing.sort().join(', ')}: run kube-pki gen (with the same --config and --out) first`, EXIT.badInput);
  return files;
}

export type FileStatus = 'same' | 'missing' | 'different';

export interface FileState {
  file: ManifestFile;
  remotePath: string;
  status: FileStatus;
  /** Why it is different: "mode 644, want 600", "content differs", ... */
  reasons: string[];
}

export interface NodeInspection {
  files: FileState[];
  /** Files in the node's folders that are not in its manifest (paths under remoteDir). */
  extra: string[];
  /** The subset of `extra` that are temporary files of an interrupted kube-pki run (absolute). */
  leftovers: string[];
  /** Folders that do not exist yet (absolute). */
  missingFolders: string[];
  notes: string[];
  /** Files (under remoteDir) whose bytes are a secret that never goes to a node: the root CA key. */
  forbidden: string[];
}

/** A file no node may hold, known by its bytes (the root CA key: encrypted, so not by its public key). */
export interface ForbiddenFile {
  sha256: string;
  size: number;
}

/**
 * Compares a node's files with the local ones by bytes (SHA-256), mode and, for root-owned targets,
 * owner. Reads only. Extra files are looked for in the folders that hold manifest files.
 */
export async function inspectNode(store: RemoteStore, files: ManifestFile[], local: Map<string, LocalFile>, forbidden?: ForbiddenFile): Promise<NodeInspection> {
  const at = (f: ManifestFile) => posix.join(store.dir, f.remote);
  const folders = [...new Set(files.map((f) => posix.dirname(at(f))))].sort();
  const listing = await store.list(folders);
  const states: FileState[] = [];
  const toHash: FileState[] = [];
  for (const file of files) {
    const remotePath = at(file);
    const entry = listing.get(posix.dirname(remotePath))?.entries.get(posix.basename(remotePath));
    const want = local.get(file.local)!;
    const state: FileState = { file, remotePath, status: entry ? 'different' : 'missing', reasons: [] };
    states.push(state);
    if (!entry) continue;
    if (entry.type !== 'file') {
      state.reasons.push(`is a ${entry.type === 'dir' ? 'folder' : entry.type === 'link' ? 'symbolic link' : 'special file'}, not a regular file`);
      continue;
    }
    if (entry.mode !== file.mode) state.reasons.push(`mode ${entry.mode.toString(8)}, want ${file.mode.toString(8)}`);
    if (store.owner !== undefined && entry.uid !== store.owner) state.reasons.push(`owned by uid ${entry.uid}, want ${store.owner}`);
    if (entry.size !== want.data.length) state.reasons.push(`${entry.size} bytes, the local file has ${want.data.length}`);
    else toHash.push(state);
  }
  const sums = await store.hash(toHash.map((s) => s.remotePath));
  for (const s of toHash) if (sums.get(s.remotePath) !== local.get(s.file.local)!.sha256) s.reasons.push('content differs');
  for (const s of states) if (s.status === 'different' && s.reasons.length === 0) s.status = 'same';

  const expected = new Set(states.map((s) => s.remotePath));
  const extra: string[] = [];
  const leftovers: string[] = [];
  const notes: string[] = [];
  for (const folder of folders) {
    const l = listing.get(folder);
    if (!l) continue;
    if (l.entries.has(NODE_PROMISE) && folder === store.dir) notes.push(`${NODE_PROMISE}: an interrupted distribute promised files here; kube-pki distribute completes them`);
    if (l.mode & 0o077) notes.push(`folder ${folder} has mode ${l.mode.toString(8)}: others may enter it (the keys in it are 0600)`);
    for (const [name, entry] of l.entries) {
      const path = posix.join(folder, name);
      if (entry.type === 'dir' || expected.has(path)) continue;
      extra.push(posix.relative(store.dir, path));
      if (TEMP_NAME.test(name)) leftovers.push(path);
    }
  }
  return { files: states, extra: extra.sort(), leftovers, missingFolders: folders.filter((f) => !listing.get(f)), notes, forbidden: await forbiddenCopies(store, listing, forbidden) };
}

/** Files of the listed folders with the bytes of the forbidden file (same size first, then SHA-256). */
async function forbiddenCopies(store: RemoteStore, listing: Map<string, FolderListing | null>, forbidden: ForbiddenFile | undefined): Promise<string[]> {
  if (!forbidden) return [];
  const sameSize = [...listing].flatMap(([folder, l]) =>
    [...(l?.entries ?? [])].filter(([, e]) => e.type === 'file' && e.size === forbidden.size).map(([name]) => posix.join(folder, name)),
  );
  const sums = await store.hash(sameSize);
  return sameSize.filter((p) => sums.get(p) === forbidden.sha256).map((p) => posix.relative(store.dir, p)).sort();
}
