import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { connectionFaultDelay, connectionFaultKind, connectionFaultRetryDefaults } from '../../net';
import type { Sleep } from '../clock';
import { type LockRow, toRecord } from '../lock-rows';
import { lockRetryDelay } from '../lock-staleness';
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
import { advisoryKey } from './postgres-migrations';
import type { PostgresStateContext } from './postgres-state-context';

export interface PostgresLockOptions {
  readonly pid: number;
  readonly hostname: string;
  /** How often held locks refresh the heartbeat in their row (ms), for `status`. */
  readonly heartbeatIntervalMs: number;
  readonly sleep: Sleep;
  readonly random: () => number;
  /** Opens the store's lock session: a connection of its own, on the state's schema. */
  readonly connect: () => Promise<pg.Client>;
}

/** Whether the advisory lock of `key` (a bigint) is granted to some session, in this database. */
const LOCK_IS_GRANTED = `EXISTS (
  SELECT 1 FROM pg_locks l
  WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
    AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
    AND l.classid::bigint = ((KEY >> 32) & 4294967295) AND l.objid::bigint = (KEY & 4294967295))`;

const pgLockKey = (name: string, schema: string) => advisoryKey('lock', schema, name);

/**
 * {@link LockStore} on session-level advisory locks, with a `locks` row per held lock naming its
 * holder.
 *
 * Why advisory locks and not leases: the server itself ends a lock with the session that holds it.
 * A holder killed with `kill -9` (its socket closed by the kernel) releases at once, on any host;
 * a holder cut off from the network releases when the server's TCP keepalives give up (about 25 s,
 * see postgres-connection.ts), within the 60 s promised. No heartbeat is compared across machines'
 * clocks, and a slow-but-alive holder is never taken over. The key is a hash of the schema and the
 * lock's name, so two states (schemas) in one database never block each other (Terraform's pg
 * backend keys on the name alone).
 *
 * All the locks of one store are held by one dedicated connection (the lock session), outside the
 * pool so that held locks never starve queries. Advisory locks are re-entrant within a session, so
 * the store keeps what it holds and makes a second acquire of it wait, as the interface says.
 *
 * If the lock session breaks (the server restarted, the network dropped), the server has ended its
 * locks, and every handle is interrupted: the next `assertHeld` (or heartbeat) takes the lock again
 * on a new session, retrying the connection for up to the state's retry bound, when the lock's row
 * still holds this handle's token: nobody took the lock meanwhile (a taker writes its own token,
 * and its release deletes the row). If someone did, or the bound runs out, the handle is lost:
 * `assertHeld` throws `lock-lost`.
 */
export class PostgresLockStore implements LockStore {
  private readonly held = new Map<string, PostgresLockHandle>();
  /** Names this store is taking right now: the session would grant them twice (re-entrant). */
  private readonly taking = new Set<string>();
  private session: Promise<pg.Client> | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly context: PostgresStateContext,
    private readonly options: PostgresLockOptions,
  ) {}

  async acquire(name: LockName, holder: LockHolder, options: AcquireLockOptions = {}): Promise<LockHandle> {
    const timeoutMs = Math.max(0, options.timeoutMs ?? 0);
    const startedAt = this.context.clock.now();
    for (let attempt = 0; ; attempt++) {
      const outcome = await this.tryAcquire(name, holder);
      if (outcome.acquired) return outcome.handle;
      const waited = this.context.clock.now() - startedAt;
      if (waited >= timeoutMs) {
        throw new LockTimeoutError(
          name,
          outcome.heldBy,
          waited,
          0,
          'wait for it to finish and retry; a holder that dies or loses its connection releases the lock ' +
            'by itself (at once when its process ends, within about 25 s when its network is cut)',
        );
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
    const { rows } = await this.context.query<LockRow>(
      `SELECT * FROM locks WHERE name = $1 AND ${LOCK_IS_GRANTED.replaceAll('KEY', '$2::bigint')}`,
      [name, pgLockKey(name, this.context.settings.schema)],
    );
    return rows[0] === undefined ? undefined : toRecord(rows[0]);
  }

  /** The locks whose holder's session still holds them (a dead holder's row is not a lock). */
  async list(): Promise<LockHolderRecord[]> {
    const { rows } = await this.context.query<LockRow>('SELECT * FROM locks ORDER BY name COLLATE "C"');
    const live: LockHolderRecord[] = [];
    for (const row of rows) {
      const record = await this.holder(row.name as LockName);
      if (record !== undefined) live.push(record);
    }
    return live;
  }

  /** Releases every lock this store holds and ends the lock session (on close). */
  async releaseAll(): Promise<void> {
    for (const handle of [...this.held.values()]) await handle.release();
    const session = this.session;
    this.session = undefined;
    this.stopHeartbeat();
    if (session !== undefined) await (await session.catch(() => undefined))?.end().catch(() => {});
  }

  private async tryAcquire(
    name: LockName,
    holder: LockHolder,
  ): Promise<{ acquired: true; handle: PostgresLockHandle } | { acquired: false; heldBy: LockHolderRecord }> {
    const key = pgLockKey(name, this.context.settings.schema);
    if (!this.held.has(name) && !this.taking.has(name)) {
      this.taking.add(name);
      try {
        const taken = await this.onSession(async (session) => {
          const { rows } = await session.query<{ got: boolean }>(
            'SELECT pg_try_advisory_lock($1::bigint) AS got',
            [key],
          );
          if (rows[0]?.got !== true) return undefined;
          try {
            return await this.record(session, name, holder);
          } catch (error) {
            await session.query('SELECT pg_advisory_unlock($1::bigint)', [key]).catch(() => {});
            throw error;
          }
        });
        if (taken !== undefined) return { acquired: true, handle: taken };
      } finally {
        this.taking.delete(name);
      }
    }
    const { rows } = await this.context.query<LockRow>('SELECT * FROM locks WHERE name = $1', [name]);
    const now = this.context.clock.now();
    return {
      acquired: false,
      // The holder took the lock a moment ago and has not written its row yet.
      heldBy:
        rows[0] === undefined
          ? {
              lock: name,
              identity: 'another exportctl process',
              command: 'unknown',
              pid: 0,
              hostname: 'unknown',
              since: now,
              heartbeatAt: now,
            }
          : toRecord(rows[0]),
    };
  }

  /** Writes the holder's row once the advisory lock is held; a row left by a dead holder is replaced. */
  private async record(session: pg.Client, name: LockName, holder: LockHolder): Promise<PostgresLockHandle> {
    const now = this.context.clock.now();
    const previous = await session.query<LockRow>('SELECT * FROM locks WHERE name = $1', [name]);
    const row: LockRow = {
      name,
      token: randomUUID(),
      identity: holder.identity,
      command: holder.command,
      pid: this.options.pid,
      hostname: this.options.hostname,
      since: String(now),
      heartbeat_at: String(now),
    };
    await session.query(
      `INSERT INTO locks (name, token, identity, command, pid, hostname, since, heartbeat_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (name) DO UPDATE SET token = excluded.token, identity = excluded.identity,
         command = excluded.command, pid = excluded.pid, hostname = excluded.hostname,
         since = excluded.since, heartbeat_at = excluded.heartbeat_at`,
      [row.name, row.token, row.identity, row.command, row.pid, row.hostname, now, now],
    );
    const dead = previous.rows[0];
    const tookOver: StaleHolderTakenOver | undefined =
      dead === undefined
        ? undefined
        : {
            holder: toRecord(dead),
            reason: `the session of pid ${dead.pid} on ${dead.hostname} ended (its process exited or lost its connection)`,
          };
    const handle = new PostgresLockHandle(this, row, tookOver);
    this.held.set(name, handle);
    this.startHeartbeat();
    return handle;
  }

  private lockSession(): Promise<pg.Client> {
    if (this.session === undefined) {
      this.context.pool();
      // Connecting is always safe to retry: through the state's bounded retry.
      const opening = this.context
        .reachable(() => this.options.connect())
        .then((client) => {
          client.on('error', () => this.sessionLost(opening));
          client.on('end', () => this.sessionLost(opening));
          return client;
        });
      opening.catch(() => {
        if (this.session === opening) this.session = undefined;
      });
      this.session = opening;
    }
    return this.session;
  }

  /**
   * `work` on the lock session, run again on a new session after a connection fault (the state's
   * bounded retry). Any fault ends the session and, with it, the locks it held (the handles are
   * interrupted), so running `work` again never finds half of it in force.
   */
  private onSession<T>(work: (session: pg.Client) => Promise<T>): Promise<T> {
    return this.context.reachable(async () => {
      const opening = this.lockSession();
      const session = await opening;
      try {
        return await work(session);
      } catch (error) {
        if (connectionFaultKind(error) !== undefined) {
          this.sessionLost(opening);
          await session.end().catch(() => {});
        }
        throw error;
      }
    }, true);
  }

  private sessionLost(session: Promise<pg.Client>): void {
    if (this.session !== session) return;
    this.session = undefined;
    for (const handle of [...this.held.values()]) handle.interrupt();
  }

  private startHeartbeat(): void {
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => void this.beatAll(), this.options.heartbeatIntervalMs);
    this.timer.unref();
  }

  private stopHeartbeat(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  private async beatAll(): Promise<void> {
    // Interrupted locks are taken again as soon as the server is back, not only at the next check.
    for (const handle of this.held.values()) if (handle.interrupted) void handle.resume();
    const tokens = [...this.held.values()]
      .filter((handle) => !handle.interrupted)
      .map((handle) => handle.token);
    if (tokens.length === 0 || this.session === undefined) return;
    try {
      const session = await this.session;
      await session.query('UPDATE locks SET heartbeat_at = $1 WHERE token = ANY($2::text[])', [
        this.context.clock.now(),
        tokens,
      ]);
    } catch {
      // A broken session is reported by its 'error' event; the next beat tries again otherwise.
    }
  }

  /**
   * @internal whether the session still holds `name` for `token`: `unknown` when the session is
   * gone or broke while asked (the lock may be taken again: {@link retake}).
   */
  async stillHolds(name: string, token: string): Promise<'yes' | 'no' | 'unknown'> {
    if (this.session === undefined) return 'unknown';
    try {
      const session = await this.session;
      return (await this.holdsOn(session, name, token)) ? 'yes' : 'no';
    } catch (error) {
      return connectionFaultKind(error) === undefined ? 'no' : 'unknown';
    }
  }

  private async holdsOn(session: pg.Client, name: string, token: string): Promise<boolean> {
    const { rows } = await session.query<{ ours: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM locks WHERE name = $1 AND token = $2)
         AND EXISTS (SELECT 1 FROM pg_locks l WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
               AND l.pid = pg_backend_pid()
               AND l.classid::bigint = (($3::bigint >> 32) & 4294967295) AND l.objid::bigint = ($3::bigint & 4294967295)) AS ours`,
      [name, token, pgLockKey(name, this.context.settings.schema)],
    );
    return rows[0]?.ours === true;
  }

  /**
   * @internal takes `name` again after its session broke, on a new session: resolves true when it
   * holds it again for `token`, false when someone else took it meanwhile (the row names another
   * token, or none), or the server stayed unreachable for the retry bound. While the advisory lock
   * is still granted to a session whose row is ours (the server has not noticed the old session's
   * end yet), it waits and tries again, within the same bound.
   */
  async retake(name: string, token: string): Promise<boolean> {
    const key = pgLockKey(name, this.context.settings.schema);
    const policy = { ...connectionFaultRetryDefaults, ...this.context.faultRetry.policy };
    const startedAt = Date.now();
    for (let attempt = 1; ; attempt++) {
      let outcome: 'ours' | 'theirs' | 'busy';
      try {
        outcome = await this.onSession(async (session) => {
          // Held on this very session already (it never broke): taking it again would count twice.
          if (await this.holdsOn(session, name, token)) return 'ours';
          const { rows } = await session.query<{ got: boolean }>(
            'SELECT pg_try_advisory_lock($1::bigint) AS got',
            [key],
          );
          const row = await session.query<{ token: string }>('SELECT token FROM locks WHERE name = $1', [
            name,
          ]);
          const ours = row.rows[0]?.token === token;
          if (rows[0]?.got !== true) return ours ? 'busy' : 'theirs';
          if (ours) {
            await session.query('UPDATE locks SET heartbeat_at = $1 WHERE name = $2 AND token = $3', [
              this.context.clock.now(),
              name,
              token,
            ]);
            return 'ours';
          }
          await session.query('SELECT pg_advisory_unlock($1::bigint)', [key]);
          return 'theirs';
        });
      } catch {
        return false;
      }
      if (outcome !== 'busy') return outcome === 'ours';
      const delayMs = connectionFaultDelay(attempt, Date.now() - startedAt, this.options.random(), policy);
      if (delayMs === 0) return false;
      await this.options.sleep(delayMs);
    }
  }

  /** @internal deletes the row, then frees the advisory lock (so the next taker finds no row). */
  async unlock(handle: PostgresLockHandle, interrupted: boolean): Promise<void> {
    if (this.held.get(handle.name) === handle) this.held.delete(handle.name);
    if (this.held.size === 0) this.stopHeartbeat();
    if (this.session === undefined || interrupted) {
      // Its session is gone (and the lock with it): only its row is left, which no one else's is.
      await this.context
        .pool()
        .query('DELETE FROM locks WHERE name = $1 AND token = $2', [handle.name, handle.token])
        .catch(() => {});
      return;
    }
    try {
      const session = await this.session;
      await session.query('DELETE FROM locks WHERE name = $1 AND token = $2', [handle.name, handle.token]);
      await session.query('SELECT pg_advisory_unlock($1::bigint)', [
        pgLockKey(handle.name, this.context.settings.schema),
      ]);
    } catch {
      // Releasing is best effort: the lock ends with the session anyway.
    }
  }

  /** @internal forgets a lost handle. */
  forget(handle: PostgresLockHandle): void {
    if (this.held.get(handle.name) === handle) this.held.delete(handle.name);
    if (this.held.size === 0) this.stopHeartbeat();
  }
}

class PostgresLockHandle implements LockHandle {
  readonly holder: LockHolderRecord;
  /** `interrupted`: its session broke; {@link resume} may take it again (see the store). */
  private state: 'held' | 'interrupted' | 'released' | 'lost' = 'held';
  private resuming: Promise<boolean> | undefined;

  constructor(
    private readonly store: PostgresLockStore,
    private readonly row: LockRow,
    readonly tookOver: StaleHolderTakenOver | undefined,
  ) {
    this.holder = toRecord(row);
  }

  get name(): string {
    return this.row.name;
  }

  get token(): string {
    return this.row.token;
  }

  get interrupted(): boolean {
    return this.state === 'interrupted';
  }

  async release(): Promise<void> {
    if (this.state !== 'held' && this.state !== 'interrupted') return;
    const interrupted = this.state === 'interrupted';
    this.state = 'released';
    await this.store.unlock(this, interrupted);
  }

  interrupt(): void {
    if (this.state === 'held') this.state = 'interrupted';
  }

  markLost(): void {
    if (this.state !== 'held' && this.state !== 'interrupted') return;
    this.state = 'lost';
    this.store.forget(this);
  }

  /** Takes the lock again after its session broke (one attempt at a time); true when held again. */
  resume(): Promise<boolean> {
    this.resuming ??= this.store.retake(this.row.name, this.row.token).then((again) => {
      this.resuming = undefined;
      if (this.state !== 'interrupted') return this.state === 'held';
      if (again) this.state = 'held';
      else this.markLost();
      return again;
    });
    return this.resuming;
  }

  async assertHeld(): Promise<void> {
    if (this.state === 'held') {
      const holds = await this.store.stillHolds(this.row.name, this.row.token);
      if (holds === 'no') this.markLost();
      else if (holds === 'unknown') this.interrupt();
    }
    if (this.state === 'interrupted') await this.resume();
    if (this.state === 'held') return;
    throw new StateError(
      'lock-lost',
      this.state === 'released'
        ? `the ${this.row.name} lock was already released by this process`
        : `the ${this.row.name} lock was lost: the connection that held it to the PostgreSQL state broke, and another process took the lock (or the server stayed unreachable) before it could be taken again`,
      {
        context: { lock: this.row.name },
        hint: 'another process may hold it now; stop and run the command again',
      },
    );
  }
}
