import type { LockHolderRecord } from './lock-store';

export interface StalenessCheck {
  readonly now: number;
  /** This machine's host name. */
  readonly hostname: string;
  /** A heartbeat older than this (ms) marks its holder stale, on any host. */
  readonly staleAfterMs: number;
  /** Whether a process of this host exists. */
  readonly isProcessAlive: (pid: number) => boolean;
}

/**
 * Why `holder` no longer holds its lock, or undefined while it does. On this host a holder whose
 * process is gone is stale at once. On any host a holder whose heartbeat is older than the bound is
 * stale: another host's processes cannot be asked, and on this host the pid may have been reused
 * (a restarted container gets the same pid and host name).
 */
export function staleReason(holder: LockHolderRecord, check: StalenessCheck): string | undefined {
  if (holder.hostname === check.hostname && !check.isProcessAlive(holder.pid)) {
    return `process ${holder.pid} on ${holder.hostname} no longer exists`;
  }
  const silentMs = check.now - holder.heartbeatAt;
  if (silentMs > check.staleAfterMs) {
    return `no heartbeat from pid ${holder.pid} on ${holder.hostname} for ${Math.round(silentMs / 1000)}s`;
  }
  return undefined;
}

/** Whether a process with `pid` exists on this host (EPERM means it exists as another user). */
export function isProcessAlive(pid: number): boolean {
  // kill(0) and kill(-n) signal process groups: never ask about those.
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The pause before the `attempt`-th retry of a held lock (0-based): 25 ms doubling to a 500 ms cap,
 * then ±20% `jitter` (a number in [0, 1), 0.5 = none) so waiters on one lock do not poll in step.
 */
export function lockRetryDelay(attempt: number, jitter: number): number {
  const base = Math.min(500, 25 * 2 ** Math.min(attempt, 10));
  return Math.round(base * (0.8 + 0.4 * jitter));
}
