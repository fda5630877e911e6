import { execa } from 'execa';
import { join } from 'node:path';
import { ROOT } from './cli.js';

// dependency-cruiser reads the imports (type-only ones included) and applies the rules of
// .dependency-cruiser.cjs; this file only groups its module graph into rooms to name room cycles.

interface Dependency {
  resolved: string;
  couldNotResolve: boolean;
  dependencyTypes: string[];
}

interface Module {
  source: string;
  dependencies: Dependency[];
}

export interface Violation {
  from: string;
  to: string;
  rule: { name: string; severity: string };
  cycle?: { name: string }[];
}

export interface CruiseResult {
  modules: Module[];
  summary: { violations: Violation[] };
}

/** Runs dependency-cruiser with the repository's rule set over `dir`/src. */
export async function cruise(dir = ROOT): Promise<CruiseResult> {
  const { stdout, stderr } = await execa(
    join(ROOT, 'node_modules', '.bin', 'depcruise'),
    ['src', '--config', join(ROOT, '.dependency-cruiser.cjs'), '--output-type', 'json'],
    { cwd: dir, reject: false },
  );
  if (!stdout.trim()) throw new Error(`dependency-cruiser printed nothing: ${stderr}`);
  return JSON.parse(stdout) as CruiseResult;
}

/** The room of a file: src/<folder> or src/<file>. */
export const roomOf = (file: string): string => file.split('/').slice(0, 2).join('/');

/** Imports of our own files that could not be resolved: invisible to every rule, so an error themselves. */
export function unresolved(result: CruiseResult): string[] {
  return result.modules.flatMap((m) =>
    m.dependencies.filter((d) => d.couldNotResolve && d.dependencyTypes.includes('local')).map((d) => `${m.source} imports ${d.resolved}`),
  );
}

/** Room → room → the file imports behind that arrow. */
function roomGraph(result: CruiseResult): Map<string, Map<string, string[]>> {
  const edges = new Map<string, Map<string, string[]>>();
  for (const m of result.modules) {
    for (const d of m.dependencies) {
      const [from, to] = [roomOf(m.source), roomOf(d.resolved)];
      if (from === to || !d.resolved.startsWith('src/')) continue;
      const out = edges.get(from) ?? new Map<string, string[]>();
      out.set(to, [...(out.get(to) ?? []), `${m.source} imports ${d.resolved}${d.dependencyTypes.includes('type-only') ? ' (type only)' : ''}`]);
      edges.set(from, out);
    }
  }
  return edges;
}

/** The shortest way from `start` back to itself, as a list of rooms (start first), or null. */
function shortestCycle(edges: Map<string, Map<string, string[]>>, start: string): string[] | null {
  const cameFrom = new Map<string, string>();
  const queue = [start];
  while (queue.length) {
    const room = queue.shift()!;
    for (const next of edges.get(room)?.keys() ?? []) {
      if (next === start) {
        const path = [room];
        while (path[0] !== start) path.unshift(cameFrom.get(path[0]!)!);
        return path;
      }
      if (!cameFrom.has(next)) {
        cameFrom.set(next, room);
        queue.push(next);
      }
    }
  }
  return null;
}

/** Groups of rooms that reach one another (strongly connected components, Tarjan), two rooms or more. */
function tangles(edges: Map<string, Map<string, string[]>>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const found: string[][] = [];
  const visit = (room: string): void => {
    index.set(room, index.size);
    low.set(room, index.get(room)!);
    stack.push(room);
    for (const next of edges.get(room)?.keys() ?? []) {
      if (!index.has(next)) {
        visit(next);
        low.set(room, Math.min(low.get(room)!, low.get(next)!));
      } else if (stack.includes(next)) low.set(room, Math.min(low.get(room)!, index.get(next)!));
    }
    if (low.get(room) !== index.get(room)) return;
    const group: string[] = [];
    let r: string;
    do {
      r = stack.pop()!;
      group.push(r);
    } while (r !== room);
    if (group.length > 1) found.push(group.sort());
  };
  for (const room of [...edges.keys()].sort()) if (!index.has(room)) visit(room);
  return found;
}

/**
 * The cycles between rooms: for each group of rooms that reach one another, its shortest cycle, with
 * the file imports behind each arrow (the first two, and how many more): the lines that close it.
 */
export function roomCycles(result: CruiseResult): { rooms: string[]; imports: string[] }[] {
  const edges = roomGraph(result);
  return tangles(edges).map((group) => {
    const cycle = group
      .map((room) => shortestCycle(edges, room)!)
      .reduce((best, c) => (c.length < best.length ? c : best));
    const imports = cycle.flatMap((from, i) => {
      const all = edges.get(from)!.get(cycle[(i + 1) % cycle.length]!)!;
      return all.length > 2 ? [...all.slice(0, 2), `(and ${all.length - 2} more from ${from})`] : all;
    });
    return { rooms: [...cycle, cycle[0]!], imports };
  });
}

/** One readable paragraph per room cycle and per broken rule, for a failing assertion. */
export function describeProblems(result: CruiseResult): string {
  const cycles = roomCycles(result).map((c) => `rooms in a cycle: ${c.rooms.join(' → ')}\n${c.imports.map((i) => `    ${i}`).join('\n')}`);
  const rules = result.summary.violations.map(
    (v) => `${v.rule.name}: ${v.from} imports ${v.to}${v.cycle ? ` (cycle: ${v.cycle.map((c) => c.name).join(' → ')})` : ''}`,
  );
  return [...cycles, ...rules, ...unresolved(result).map((u) => `not resolved: ${u}`)].join('\n');
}
