/** error and warning make `check` exit 1; a note is information only. */
export type Severity = 'error' | 'warning' | 'note';

export interface Problem {
  severity: Severity;
  /** Stable identifier for scripts, e.g. "san-missing", "key-mode", "expires-soon". */
  code: string;
  message: string;
}

export const problem = (severity: Severity, code: string, message: string): Problem => ({ severity, code, message });
