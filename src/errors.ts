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

/** Shows a value in an error message so that hidden characters (newline, spaces) are visible. */
export function showValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === undefined) return 'nothing';
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
