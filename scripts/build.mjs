// Builds dist/: one ESM bundle for the CLI, with lazily loaded chunks per command.
// Why a bundle: `npm run certs` starts a fresh Node process each time, and loading a few hundred
// small modules (zod, yaml, execa, handlebars…) cost more CPU than the bundle's single parse.
// Type-checking is tsc's job (`npm run typecheck`), so this only transpiles.
import { build } from 'esbuild';
import { rm } from 'node:fs/promises';

await rm(new URL('../dist', import.meta.url), { recursive: true, force: true });
await build({
  entryPoints: ['src/cli.ts'],
  outdir: 'dist',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  // ssh2 loads optional native helpers at run time: leave it (and them) to node_modules.
  external: ['ssh2', 'cpu-features'],
  // Bundled CommonJS packages (handlebars, commander…) call require(): give ESM one.
  banner: { js: "import { createRequire as __kubePkiRequire } from 'node:module'; const require = __kubePkiRequire(import.meta.url);" },
  logLevel: 'warning',
});
