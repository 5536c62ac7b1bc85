/** Values that may describe where an error happened; never credentials. */
export type ErrorContext = Readonly<Record<string, string | number | boolean | null | undefined>>;

export interface ExportctlErrorOptions {
  /** The error that caused this one. */
  cause?: unknown;
  /** Where it happened (file, export, batch, request), for logs and `--output json`. */
  context?: ErrorContext;
  /** What the user can do about it, when that is known. */
  hint?: string;
}

/**
 * The base of every error exportctl raises on purpose. `code` is stable (tests and scripts match on
 * it; docs/troubleshooting.md lists each one); `message` says what happened and where; `hint` says
 * what to do. Messages and context never carry secrets: callers pass only redacted values.
 * A layer's errors narrow `code` to its registry: `class StateError extends ExportctlError<StateErrorCode> {}`.
 */
export class ExportctlError<Code extends string = string> extends Error {
  readonly code: Code;
  readonly context: ErrorContext;
  readonly hint: string | undefined;

  constructor(code: Code, message: string, options: ExportctlErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.context = options.context ?? {};
    this.hint = options.hint;
  }

  /** A plain object for `--output json` and structured logs. */
  toJSON(): { name: string; code: string; message: string; hint?: string; context: ErrorContext } {
    return {
      name: this.name,
      code: this.code,
      message: this.message,
      ...(this.hint === undefined ? {} : { hint: this.hint }),
      context: this.context,
    };
  }
}

/** Manifests or arguments that do not hold; details are in `problems` where there are several. */
export class ValidationError extends ExportctlError {}

/** The acting identity may not do what it asked (DESIGN.md role rules). */
export class PermissionError extends ExportctlError {}

/** The codes of command-line usage errors (docs/troubleshooting.md). */
export const usageErrorCodes = {
  'invalid-duration': 'a duration flag (--lock-timeout, ...) is not like 30s, 2m or 500ms',
  'invalid-option': 'a flag has a value the command cannot use',
  'path-not-found': 'watch was given a PATH that does not exist (it exits 1 at once)',
  'flag-not-used':
    "a common flag was given to a command that does not take it (--detailed-exitcode is plan's)",
  'confirmation-required':
    'a change was asked for without a terminal to confirm it and without --auto-approve',
  'saved-plan-arguments':
    'apply of a saved plan was also given a PATH, --prune or --no-refresh (the plan holds those), or destroy a plan',
  'unknown-connection': 'a command named a connection that is not applied in the state',
  'run-target': 'exportctl run was not told which destination to run, or was told two ways at once',
  'sandbox-host': 'the sandbox was asked to listen on an address that is not loopback',
} as const;

export type UsageErrorCode = keyof typeof usageErrorCodes;

/** Bad command-line usage: a missing argument, an unknown option value. */
export class UsageError extends ExportctlError<UsageErrorCode> {}
