/**
 * The named locks: `control-plane` (apply, destroy, Pulumi), `destination:<name>` (a run of that
 * destination), `token:<connection>` (an OAuth refresh of that connection).
 */
export type LockName = 'control-plane' | `destination:${string}` | `token:${string}`;

/** Held by apply, destroy and the Pulumi provider: one control-plane change at a time. */
export const CONTROL_PLANE_LOCK = 'control-plane' satisfies LockName;

/** The lock a run of `destination` holds, so two runs of one destination never overlap. */
export function destinationLock(destination: string): LockName {
  return `destination:${destination}`;
}

/** The lock an OAuth refresh of `connection` holds (a rotated refresh token is single-use). */
export function tokenLock(connection: string): LockName {
  return `token:${connection}`;
}

/** Who asks for a lock; the store adds the process id, host name and times. */
export interface LockHolder {
  /** The acting identity (`--as`, EXPORTCTL_ACTOR, git user.email), or a service name. */
  readonly identity: string;
  /** What it is doing, as a user would type it: `apply`, `run vip-newsletter`. */
  readonly command: string;
}

/** A holder as the state records it. */
export interface LockHolderRecord extends LockHolder {
  readonly lock: LockName;
  readonly pid: number;
  readonly hostname: string;
  /** When the lock was taken (epoch ms). */
  readonly since: number;
  /** When the holder last proved it is alive (epoch ms). */
  readonly heartbeatAt: number;
}

export interface AcquireLockOptions {
  /**
   * How long to wait for a held lock (ms), polling with a growing pause; 0 (the default) tries
   * once. Past it, `acquire` throws `LockTimeoutError` naming the holder.
   */
  readonly timeoutMs?: number;
}

/** A stale holder whose lock was taken over, with why it was judged stale. */
export interface StaleHolderTakenOver {
  readonly holder: LockHolderRecord;
  readonly reason: string;
}

/** A held lock. Release it in a `finally`; it is also released when the process exits normally. */
export interface LockHandle {
  readonly holder: LockHolderRecord;
  /** Set when this lock was taken over from a stale holder, so the command can say so. */
  readonly tookOver: StaleHolderTakenOver | undefined;
  /** Releases the lock if this handle still holds it; later calls do nothing. */
  release(): Promise<void>;
  /**
   * Throws `lock-lost` if the lock was released or taken over (another process judged this holder
   * stale), so work that must not overlap can check before it commits.
   */
  assertHeld(): Promise<void>;
}

/**
 * Named locks shared by every process that opens the same state. Taking one is atomic across
 * processes. A lock whose holder is gone is taken over: on the same host when its process no longer
 * exists; on any host when its heartbeat (refreshed while held) is older than the stale bound.
 */
export interface LockStore {
  /**
   * Takes `name` for `holder`, waiting up to `timeoutMs`. Not re-entrant: a second acquire of a
   * lock this process holds waits like any other. Throws `LockTimeoutError` (`lock-timeout`).
   */
  acquire(name: LockName, holder: LockHolder, options?: AcquireLockOptions): Promise<LockHandle>;
  /** Runs `work` holding `name`, releasing it however `work` ends. */
  withLock<T>(
    name: LockName,
    holder: LockHolder,
    options: AcquireLockOptions,
    work: (handle: LockHandle) => Promise<T>,
  ): Promise<T>;
  /**
   * The current holder of `name`, or undefined if free. SQLite shows a stale holder until it is
   * taken over; PostgreSQL shows only a holder whose session still holds the lock.
   */
  holder(name: LockName): Promise<LockHolderRecord | undefined>;
  /** Every held lock (as {@link holder} judges it), sorted by name, for `status`. */
  list(): Promise<LockHolderRecord[]>;
}

/**
 * `handle.assertHeld`, made at most once every `everyMs` (default 1 s): for a check before each of
 * many short steps (an apply of 1,000 resources), where each check costs a write (SQLite's
 * heartbeat) or a round trip (PostgreSQL).
 */
export function lockCheck(
  handle: LockHandle,
  everyMs = 1_000,
  now: () => number = Date.now,
): () => Promise<void> {
  let checkedAt = Number.NEGATIVE_INFINITY;
  return async () => {
    if (now() - checkedAt < everyMs) return;
    await handle.assertHeld();
    checkedAt = now();
  };
}
