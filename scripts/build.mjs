// Builds dist/: one ESM bundle for the CLI, with lazily loaded chunks per command.
// Why a bundle: `npm run certs` starts a fresh Node process each time, and loading a few hundred
// small modules (zod, yaml, execa, handlebars…) cost more CPU than the bundle's single parse.
// Type-checking is tsc's job (`npm run typecheck`), so this only transpiles.
import { build, transform } from 'esbuild';
import Handlebars from 'handlebars';
import { readFile, readdir, rm } from 'node:fs/promises';

const root = new URL('..', import.meta.url);

/**
 * src/openssl/precompiled.ts, filled in: each templates/*.hbs file's text and its compiled form, keyed
 * by its path from the project root (as src/ names it), so that a
 * run needs only the Handlebars runtime (the compiler and its first compilation cost ~15 ms on
 * every start). The run still reads templates/ and compiles an edited file itself.
 */
const precompiledTemplates = {
  name: 'precompiled-templates',
  setup(b) {
    b.onLoad({ filter: /src[\\/]openssl[\\/]precompiled\.ts$/ }, async (args) => {
      // The module's own COMPILE_OPTIONS, so that build and run compile alike.
      const { code } = await transform(await readFile(args.path, 'utf8'), { loader: 'ts', format: 'esm' });
      const { COMPILE_OPTIONS } = await import(`data:text/javascript,${encodeURIComponent(code)}`);
      const entries = [];
      const files = (await readdir(new URL('templates', root))).filter((f) => f.endsWith('.hbs')).map((f) => `templates/${f}`);
      for (const file of files) {
        const source = await readFile(new URL(file, root), 'utf8');
        entries.push(`${JSON.stringify(file)}: { source: ${JSON.stringify(source)}, spec: ${Handlebars.precompile(source, { ...COMPILE_OPTIONS })} }`);
      }
      const contents = `export const COMPILE_OPTIONS = ${JSON.stringify(COMPILE_OPTIONS)};\nexport const PRECOMPILED = {\n${entries.join(',\n')}\n};\n`;
      return { contents, loader: 'js' };
    });
  },
};

await rm(new URL('dist', root), { recursive: true, force: true });
await build({
  entryPoints: ['src/cli.ts'],
  outdir: 'dist',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  // Less to parse on every start; names are kept so that stack traces stay readable.
  minifyWhitespace: true,
  minifySyntax: true,
  // ssh2 loads optional native helpers at run time: leave it (and them) to node_modules.
  external: ['ssh2', 'cpu-features'],
  // Bundled CommonJS packages (handlebars, commander…) call require(): give ESM one.
  banner: { js: "import { createRequire as __kubePkiRequire } from 'node:module'; const require = __kubePkiRequire(import.meta.url);" },
  plugins: [precompiledTemplates],
  logLevel: 'warning',
});
