// The rooms of src/ and their order: arrows point down only (docs/architecture.md, "Rooms").
// A room is a folder directly under src/ or a file directly in src/. A room may import the rooms of
// the rows below its own, never a room of its own row or above; type-only imports count too
// (`import type` disappears from the bundle but still ties the code together).
// Checked by test/layering.test.ts in `npm test`; `npx depcruise src` shows the same verdict.
/** @type {string[][]} bottom first */
const LAYERS = [
  ['model', 'errors.ts'], // plain types and constants; import nothing of ours
  ['util'], // small helpers: IP addresses, dates and durations, plurals, shell quoting, a limiter
  ['cluster'], // cluster.yaml → Cluster (YAML, zod schema, defaults)
  ['catalog'], // the tables (hardway, kubeadm) and lookups in them: placement, restart lists, names
  ['openssl', 'kubeconfig', 'files', 'ssh', 'encryption'], // building blocks: argv builders and runner, kubeconfig text, atomic files, SSH, the EncryptionConfiguration text
  ['inspect'], // what is on disk and how it differs from the catalog
  ['plan'], // instances and the pure planner
  ['pki.ts'], // catalog → instances → disk → plan, in one call
  ['tasks', 'script'], // progress views and summaries; the plan as a bash script
  ['exec'], // the runner: lock, temporary folder, items in a bounded window
  ['bootstrap'], // kubelet TLS bootstrap: tokens kept in the folder, the serving-CSR approver
  ['gen', 'csr', 'check', 'renew', 'explain', 'distribute', 'rotate', 'manifests', 'metrics', 'alerts', 'systemd', 'user', 'rotate-encryption', 'root'], // the verbs; none imports another
  ['restart'], // a verb's restart list carried out over SSH, node by node, with health checks (--restart)
  ['graph'], // one view of the PKI from check, gen's plan and distribute's placement; tree, dot, mermaid
  ['report'], // that view (and explain's texts) as one self-contained HTML page
  ['cli'], // commander commands: flags and options, lazy-loading their verb (and the small ones: init, flags…)
  ['cli.ts'], // the entry point
];

const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** A pattern that matches the files of these rooms. */
const rooms = (names) => `^src/(${names.map(escape).join('|')})(/|$)`;
const allRooms = LAYERS.flat();

const layerRules = LAYERS.flatMap((row, i) =>
  row.map((room) => {
    const notBelow = [...LAYERS.slice(i).flat()].filter((r) => r !== room);
    return {
      name: `down-only:${room}`,
      comment: `${room} may only import rooms below its row (${LAYERS.slice(0, i).flat().join(', ') || 'none'}), never ${notBelow.join(', ')}`,
      severity: 'error',
      from: { path: rooms([room]) },
      to: { path: rooms(notBelow) },
    };
  }),
);

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    ...layerRules,
    {
      name: 'room-not-in-layers',
      comment: 'every room of src/ has a row in LAYERS (.dependency-cruiser.cjs): place a new room before using it',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^src/', pathNot: rooms(allRooms) },
    },
    {
      name: 'room-not-in-layers-importing',
      comment: 'every room of src/ has a row in LAYERS (.dependency-cruiser.cjs): place a new room before using it',
      severity: 'error',
      from: { path: '^src/', pathNot: rooms(allRooms) },
      to: {},
    },
    {
      name: 'no-circular',
      comment: 'no import cycle between files either',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    includeOnly: '^src/',
    // Type-only imports are dependencies too.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    moduleSystems: ['es6'],
    doNotFollow: { path: 'node_modules' },
  },
};
