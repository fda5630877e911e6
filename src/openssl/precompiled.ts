import type Handlebars from 'handlebars';

/**
 * Templates compiled ahead of time: scripts/build.mjs replaces this module in dist/ with the
 * compiled templates/ files and their source text. Run from src/ (tests), there are none and every
 * template is compiled when first used.
 */
export interface PrecompiledTemplate {
  source: string;
  spec: ReturnType<typeof Handlebars.precompile>;
}

export const PRECOMPILED: Record<string, PrecompiledTemplate> = {};

/**
 * Compile-time options, the same for build-time and run-time compilation. noEscape: openssl.cnf is
 * not HTML. strict: a misspelt field fails instead of rendering empty.
 */
export const COMPILE_OPTIONS = { noEscape: true, strict: true } as const;
