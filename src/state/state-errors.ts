import { type ErrorContext, ExportctlError, type ExportctlErrorOptions } from '../errors';

/**
 * Every failure of the state store, with a stable code. Tests and scripts match on these codes,
 * never on message text; docs/troubleshooting.md explains each.
 */
export const stateErrorCodes = {
  'state-url-invalid': 'the --state / EXPORTCTL_STATE URL is not one exportctl understands',
  'state-backend-unsupported':
    "the state was opened without its backend's migrations, or lacks what the caller needs",
  'state-open-failed':
    'the state database cannot be opened, is not a SQLite database, or its PostgreSQL server cannot be reached or logged in to',
  'state-schema-too-new': 'the state was written by a newer exportctl; upgrade to use it',
  'state-schema-mismatch': 'the applied migrations differ from the ones this exportctl knows',
  'state-closed': 'the store was used after close()',
  'state-connection-lost':
    'the connection to the PostgreSQL state broke during a command and did not come back within the retry bound (60 s), or broke while a commit was in flight',
  'owned-by-other':
    'a write to a resource that another owner manages: exportctl, Pulumi, or another Pulumi stack',
  'resource-not-found': 'a status write to a resource that is not in the state',
  'run-not-found': 'an update of a run id that does not exist',
  'run-already-finished': 'an update or finish of a run that has already finished',
  'lock-timeout': 'a lock stayed held by another process for longer than the wait allowed',
  'lock-lost': 'a lock was taken over (its holder looked stale) while this process held it',
  'secret-key-invalid': 'EXPORTCTL_SECRET_KEY or the key file is not a 32-byte key in base64 or hex',
  'secret-key-mismatch': 'the state was encrypted with another key than the one given',
  'secret-key-missing':
    'the state holds encrypted values but no key is available to read them (or, on PostgreSQL, EXPORTCTL_SECRET_KEY is unset)',
  'secret-undecryptable': 'a stored value fails its integrity check (altered or moved between rows)',
  'state-migrate-refused':
    '`exportctl state migrate` refused: an unfinished run in the source, a missing or empty source, a target that is not empty, or one state named twice',
} as const;

export type StateErrorCode = keyof typeof stateErrorCodes;

/** A failure of the state store; `code` is one of {@link stateErrorCodes}. */
export class StateError extends ExportctlError<StateErrorCode> {}

/**
 * A write to a resource owned by another owner: exportctl never changes what Pulumi manages, and
 * the reverse (DESIGN.md "State"); one Pulumi stack never touches another's. Code `owned-by-other`.
 */
export class OwnershipError extends StateError {
  constructor(message: string, options: ExportctlErrorOptions = {}) {
    super('owned-by-other', message, options);
  }
}

/** The key is malformed, absent, or not the one the state was encrypted with. */
export class SecretKeyError extends StateError {
  constructor(
    code: 'secret-key-invalid' | 'secret-key-mismatch' | 'secret-key-missing' | 'secret-undecryptable',
    message: string,
    options: ExportctlErrorOptions = {},
  ) {
    super(code, message, options);
  }
}

/** Who holds a lock, as recorded in the state (see `LockHolderRecord`). */
export interface LockHolderDescription {
  readonly identity: string;
  readonly command: string;
  readonly pid: number;
  readonly hostname: string;
  /** When the lock was taken (epoch ms). */
  readonly since: number;
}

/**
 * A lock stayed held past the caller's timeout. The message names the holder, so the waiter knows
 * whom to ask: "the control-plane lock is held by ops@example.com running `apply` (pid 4242 on
 * host-a) since 2026-11-22T10:00:00Z; waited 30s". Code `lock-timeout`.
 */
export class LockTimeoutError extends StateError {
  readonly lockName: string;
  readonly holder: LockHolderDescription;
  readonly waitedMs: number;

  /** `hint` replaces the default one, which explains heartbeat-based takeover (`staleAfterMs`). */
  constructor(
    lockName: string,
    holder: LockHolderDescription,
    waitedMs: number,
    staleAfterMs: number,
    hint?: string,
  ) {
    const context: ErrorContext = {
      lock: lockName,
      holderIdentity: holder.identity,
      holderCommand: holder.command,
      holderPid: holder.pid,
      holderHostname: holder.hostname,
      holderSince: isoSeconds(holder.since),
      waitedMs,
    };
    super(
      'lock-timeout',
      `the ${lockName} lock is held by ${holder.identity} running \`${holder.command}\` ` +
        `(pid ${holder.pid} on ${holder.hostname}) since ${isoSeconds(holder.since)}; waited ${formatWait(waitedMs)}`,
      {
        context,
        hint:
          hint ??
          `wait for it to finish and retry; a holder that died is taken over automatically ` +
            `(at once on the same host, after ${formatWait(staleAfterMs)} without a heartbeat from another host)`,
      },
    );
    this.lockName = lockName;
    this.holder = holder;
    this.waitedMs = waitedMs;
  }
}

/** An epoch-ms time as ISO 8601 to the second, the way messages print times. */
export function isoSeconds(epochMs: number): string {
  return new Date(epochMs).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function formatWait(ms: number): string {
  if (ms < 10_000) return `${Number((ms / 1000).toFixed(1))}s`;
  return `${Math.round(ms / 1000)}s`;
}
