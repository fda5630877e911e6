/** Exit codes are part of the interface: scripts depend on them. */
export const EXIT = {
  ok: 0,
  failed: 1, // work was attempted and failed (openssl error, unreachable node, problems found)
  badInput: 2, // bad description, flag or file: nothing was written
  stale: 3, // gen finished but left certificates that no longer match the description (use --force)
} as const;

/** An error a user can act on: printed as one line, no stack trace. */
export class UserError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.badInput,
  ) {
    super(message);
    this.name = 'UserError';
  }
}

/** A validation problem at a field path, e.g. nodes[1].address. */
export interface FieldIssue {
  path: string;
  message: string;
}

export class ValidationError extends UserError {
  constructor(
    readonly source: string,
    readonly issues: FieldIssue[],
  ) {
    super(issues.map((i) => `${source}: ${i.path || '(top level)'}: ${i.message}`).join('\n'), EXIT.badInput);
    this.name = 'ValidationError';
  }
}

const SHOWN_MAX = 80;

/**
 * Shows a value in an error message so that hidden characters (newline, spaces) are visible.
 * Never key material: a file given by mistake (a PEM key as --config) must not end up in a log, so
 * anything that looks like PEM is withheld and long values are cut.
 */
export function showValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  if (/-----BEGIN [A-Z ]+-----|PRIVATE KEY/.test(text)) return '(PEM data, not shown)';
  return text.length > SHOWN_MAX ? `${text.slice(0, SHOWN_MAX)}… (${text.length} characters)` : text;
}
