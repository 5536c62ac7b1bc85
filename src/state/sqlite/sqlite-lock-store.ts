import { randomUUID } from 'node:crypto';
import type { Sleep } from '../clock';
import { type LockRow, toRecord } from '../lock-rows';
import { lockRetryDelay, staleReason } from '../lock-staleness';
import type {
  AcquireLockOptions,
  LockHandle,
  LockHolder,
  LockHolderRecord,
  LockName,
  LockStore,
  StaleHolderTakenOver,
} from '../lock-store';
import { LockTimeoutError, StateError } from '../state-errors';
import type { SqliteStateContext } from './sqlite-state-context';

/** How locks behave; every field has a default in `openStateStore`. */
export interface SqliteLockOptions {
  /** This process, as recorded in lock rows and compared to decide staleness. */
  readonly pid: number;
  readonly hostname: string;
  /** A holder whose heartbeat is older than this (ms) is stale, on any host. */
  readonly staleAfterMs: number;
  /** How often a holder refreshes its heartbeat (ms); well under staleAfterMs. */
  readonly heartbeatIntervalMs: number;
  readonly isProcessAlive: (pid: number) => boolean;
  readonly sleep: Sleep;
  /** A number in [0, 1) for jittering the retry pause. */
  readonly random: () => number;
}

/**
 * {@link LockStore} on the `locks` table. Each attempt is one IMMEDIATE transaction (read the row,
 * judge its holder, write ours), so two processes can never both take a lock. Held locks refresh
 * their heartbeat on an unref'd timer and are released at process exit if still held.
 */
export class SqliteLockStore implements LockStore {
  private readonly held = new Set<SqliteLockHandle>();
  private readonly releaseAtExit = () => {
    for (const handle of this.held) handle.releaseNow();
  };

  constructor(
    private readonly context: SqliteStateContext,
    private readonly options: SqliteLockOptions,
  ) {}

  async acquire(name: LockName, holder: LockHolder, options: AcquireLockOptions = {}): Promise<LockHandle> {
    const timeoutMs = Math.max(0, options.timeoutMs ?? 0);
    const startedAt = this.context.clock.now();
    for (let attempt = 0; ; attempt++) {
      const outcome = this.tryAcquire(name, holder);
      if (outcome.acquired) return this.track(outcome.handle);
      const waited = this.context.clock.now() - startedAt;
      if (waited >= timeoutMs) {
        throw new LockTimeoutError(name, toRecord(outcome.heldBy), waited, this.options.staleAfterMs);
      }
      await this.options.sleep(Math.min(lockRetryDelay(attempt, this.options.random()), timeoutMs - waited));
    }
  }

  async withLock<T>(
    name: LockName,
    holder: LockHolder,
    options: AcquireLockOptions,
    work: (handle: LockHandle) => Promise<T>,
  ): Promise<T> {
    const handle = await this.acquire(name, holder, options);
    try {
      return await work(handle);
    } finally {
      await handle.release();
    }
  }

  async holder(name: LockName): Promise<LockHolderRecord | undefined> {
    const row = this.context.database().prepare('SELECT * FROM locks WHERE name = ?').get(name) as
      | LockRow
      | undefined;
    return row === undefined ? undefined : toRecord(row);
  }

  async list(): Promise<LockHolderRecord[]> {
    const rows = this.context.database().prepare('SELECT * FROM locks ORDER BY name').all() as LockRow[];
    return rows.map(toRecord);
  }

  /** Releases every lock this store holds (on close). */
  releaseAll(): void {
    this.releaseAtExit();
  }

  private tryAcquire(
    name: LockName,
    holder: LockHolder,
  ): { acquired: true; handle: SqliteLockHandle } | { acquired: false; heldBy: LockRow } {
    const db = this.context.database();
    return db
      .transaction(() => {
        const now = this.context.clock.now();
        const current = db.prepare('SELECT * FROM locks WHERE name = ?').get(name) as LockRow | undefined;
        let tookOver: StaleHolderTakenOver | undefined;
        if (current !== undefined) {
          const reason = staleReason(toRecord(current), {
            now,
            hostname: this.options.hostname,
            staleAfterMs: this.options.staleAfterMs,
            isProcessAlive: this.options.isProcessAlive,
          });
          if (reason === undefined) return { acquired: false as const, heldBy: current };
          tookOver = { holder: toRecord(current), reason };
        }
        const row: LockRow = {
          name,
          token: randomUUID(),
          identity: holder.identity,
          command: holder.command,
          pid: this.options.pid,
          hostname: this.options.hostname,
          since: now,
          heartbeat_at: now,
        };
        db.prepare(
          `INSERT OR REPLACE INTO locks (name, token, identity, command, pid, hostname, since, heartbeat_at)
           VALUES (@name, @token, @identity, @command, @pid, @hostname, @since, @heartbeat_at)`,
        ).run(row);
        return { acquired: true as const, handle: new SqliteLockHandle(this, row, tookOver) };
      })
      .immediate();
  }

  private track(handle: SqliteLockHandle): SqliteLockHandle {
    if (this.held.size === 0) process.on('exit', this.releaseAtExit);
    this.held.add(handle);
    handle.startHeartbeat(this.options.heartbeatIntervalMs);
    return handle;
  }

  /** @internal called by a handle when it stops holding. */
  untrack(handle: SqliteLockHandle): void {
    this.held.delete(handle);
    if (this.held.size === 0) process.off('exit', this.releaseAtExit);
  }

  /** @internal deletes the row if `token` still holds it; resolves whether it did. */
  deleteRow(name: string, token: string): boolean {
    if (!this.context.isOpen) return false;
    return (
      this.context.database().prepare('DELETE FROM locks WHERE name = ? AND token = ?').run(name, token)
        .changes > 0
    );
  }

  /** @internal refreshes the heartbeat; false when the row is no longer this token's. */
  beat(name: string, token: string): boolean {
    if (!this.context.isOpen) return false;
    return (
      this.context
        .database()
        .prepare('UPDATE locks SET heartbeat_at = ? WHERE name = ? AND token = ?')
        .run(this.context.clock.now(), name, token).changes > 0
    );
  }
}

class SqliteLockHandle implements LockHandle {
  readonly holder: LockHolderRecord;
  private timer: NodeJS.Timeout | undefined;
  private state: 'held' | 'released' | 'lost' = 'held';

  constructor(
    private readonly store: SqliteLockStore,
    private readonly row: LockRow,
    readonly tookOver: StaleHolderTakenOver | undefined,
  ) {
    this.holder = toRecord(row);
  }

  startHeartbeat(intervalMs: number): void {
    this.timer = setInterval(() => {
      try {
        if (!this.store.beat(this.row.name, this.row.token)) this.stop('lost');
      } catch {
        // SQLITE_BUSY past busy_timeout: the next beat tries again, well before the stale bound.
      }
    }, intervalMs);
    this.timer.unref();
  }

  async release(): Promise<void> {
    this.releaseNow();
  }

  /** Synchronous, so it can run in a process 'exit' handler. */
  releaseNow(): void {
    if (this.state !== 'held') return;
    this.stop('released');
    try {
      this.store.deleteRow(this.row.name, this.row.token);
    } catch {
      // Releasing is best effort: a row left behind is stale once this process is gone.
    }
  }

  async assertHeld(): Promise<void> {
    if (this.state === 'held' && !this.store.beat(this.row.name, this.row.token)) this.stop('lost');
    if (this.state === 'held') return;
    throw new StateError(
      'lock-lost',
      this.state === 'released'
        ? `the ${this.row.name} lock was already released by this process`
        : `the ${this.row.name} lock was taken over by another process while this one held it`,
      {
        context: { lock: this.row.name },
        hint: 'another process judged this one stale (no heartbeat); stop and run the command again',
      },
    );
  }

  private stop(state: 'released' | 'lost'): void {
    this.state = state;
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.store.untrack(this);
  }
}
