/**
 * A bounded retry of work whose connection to a server (the PostgreSQL state) was lost: the server
 * restarted, failed over, or the network dropped for a moment. The work is a whole unit (a
 * transaction, or one statement outside any): it is run again from its start, never resumed half
 * way, so a retry repeats nothing that committed.
 */

/**
 * What a connection fault says about the work it struck:
 * - `not-run`: the server never ran it, or rolled it back (refused connections, a server starting
 *   up or shutting down, a session it ended with 57P01): running it again is always safe;
 * - `unknown`: the connection dropped with no answer, so the last statement may have committed:
 *   safe to run again only when that statement was a read, or inside a transaction before COMMIT.
 */
export type ConnectionFaultKind = 'not-run' | 'unknown';

/**
 * SQLSTATEs of a server that is going away or not there yet (PostgreSQL appendix A): 57P01
 * admin_shutdown (a fast shutdown, `pg_terminate_backend`), 57P02 crash_shutdown, 57P03
 * cannot_connect_now (starting up, in recovery), and class 08 (connection exceptions) but 08P01
 * protocol_violation, which a retry does not cure.
 */
const notRunSqlStates: ReadonlySet<string> = new Set(['57P01', '57P02', '57P03', '08000', '08001', '08004']);
const unknownSqlStates: ReadonlySet<string> = new Set(['08003', '08006', '08007']);

/** Socket errors before anything was sent: the server is down or not reachable. */
const notRunSocketCodes: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'ENETDOWN',
  'EAI_AGAIN',
]);
/** Socket errors of a connection that was up: what was in flight may or may not have run. */
const unknownSocketCodes: ReadonlySet<string> = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ECONNABORTED']);

/**
 * Whether `error` is a lost or refused connection, and what it says of the work (see
 * {@link ConnectionFaultKind}); undefined for every other error (SQL errors, bad passwords, a
 * missing database: a retry would not change them).
 */
export function connectionFaultKind(error: unknown): ConnectionFaultKind | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string') {
    if (notRunSqlStates.has(code) || notRunSocketCodes.has(code)) return 'not-run';
    if (unknownSqlStates.has(code) || unknownSocketCodes.has(code)) return 'unknown';
  }
  if (!(error instanceof Error)) return undefined;
  // pg's own errors carry no code: a client whose connection already broke refuses to send
  // ("... is not queryable"), a connection attempt that timed out, and a socket that closed.
  if (/not queryable|timeout expired|connection timeout/i.test(error.message)) return 'not-run';
  if (/^Connection terminated/i.test(error.message)) return 'unknown';
  return undefined;
}

/** How the retry waits: the defaults in {@link connectionFaultRetryDefaults}. */
export interface ConnectionFaultRetryPolicy {
  /** How long after the first fault to keep trying (ms); 0 never retries. */
  readonly boundMs: number;
  /** The first wait (ms); each next one doubles, up to `maxDelayMs`. */
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

export const connectionFaultRetryDefaults = {
  // A restart or a failover takes seconds; a minute covers a slow one without hiding an outage.
  boundMs: 60_000,
  baseDelayMs: 250,
  maxDelayMs: 5_000,
} satisfies ConnectionFaultRetryPolicy;

/**
 * The wait before attempt `attempt + 1` (`attempt` counts the failed ones, from 1), `elapsedMs`
 * after the first fault: exponential from `baseDelayMs`, capped at `maxDelayMs`, with jitter in
 * its upper half (`random` in [0, 1)), and never past the bound. 0: stop, the bound is reached.
 */
export function connectionFaultDelay(
  attempt: number,
  elapsedMs: number,
  random: number,
  policy: ConnectionFaultRetryPolicy = connectionFaultRetryDefaults,
): number {
  const left = policy.boundMs - elapsedMs;
  if (left <= 0) return 0;
  const exponential = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  const jittered = Math.max(1, Math.round(exponential / 2 + (exponential / 2) * random));
  return Math.min(jittered, left);
}

export interface ConnectionFaultRetryOptions {
  readonly policy?: Partial<ConnectionFaultRetryPolicy>;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
  /**
   * Whether `work` may run again after an `unknown` fault (see {@link ConnectionFaultKind}): a read,
   * or a unit whose commit was not in flight. Default false: only `not-run` faults are retried.
   */
  readonly retryUnknown?: boolean | ((error: unknown) => boolean);
  /** Called before each wait (for a progress line): the attempt that failed, its error, the wait. */
  readonly onRetry?: (fault: {
    readonly attempt: number;
    readonly error: unknown;
    readonly delayMs: number;
  }) => void;
}

/** Thrown when the bound ran out or the fault cannot be retried: the last error, with the time tried. */
export interface ConnectionFaultGiveUp {
  readonly error: unknown;
  /** How long the retries lasted (ms), 0 when the fault was not retried at all. */
  readonly retriedMs: number;
}

/**
 * Runs `work`, and runs it again from its start after a connection fault that allows it, waiting
 * {@link connectionFaultDelay} between attempts, until it succeeds or the bound is reached. Any
 * other error passes through at once. When it gives up, `giveUp` turns the last fault into the
 * error thrown (it receives how long the retries lasted), so the caller can say where and what to do.
 */
export async function retryConnectionFaults<T>(
  work: () => Promise<T>,
  options: ConnectionFaultRetryOptions = {},
  giveUp: (fault: ConnectionFaultGiveUp) => unknown = (fault) => fault.error,
): Promise<T> {
  const policy = { ...connectionFaultRetryDefaults, ...options.policy };
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const random = options.random ?? Math.random;
  let firstFaultAt: number | undefined;
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      const kind = connectionFaultKind(error);
      if (kind === undefined) throw error;
      const retryUnknown =
        typeof options.retryUnknown === 'function'
          ? options.retryUnknown(error)
          : options.retryUnknown === true;
      const startedAt = firstFaultAt ?? now();
      firstFaultAt = startedAt;
      const elapsed = now() - startedAt;
      const delayMs =
        kind === 'unknown' && !retryUnknown ? 0 : connectionFaultDelay(attempt, elapsed, random(), policy);
      if (delayMs === 0) throw giveUp({ error, retriedMs: elapsed });
      options.onRetry?.({ attempt, error, delayMs });
      await sleep(delayMs);
    }
  }
}

/**
 * `notify`, at most once every `everyMs` (default 10 s): one line per outage on a terminal, not one
 * per unit of work that retries it.
 */
export function throttledNotices(
  notify: (line: string) => void,
  everyMs = 10_000,
  now: () => number = Date.now,
): (line: string) => void {
  let last = Number.NEGATIVE_INFINITY;
  return (line) => {
    if (now() - last < everyMs) return;
    last = now();
    notify(line);
  };
}
