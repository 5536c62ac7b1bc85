import type pg from 'pg';
import { type ConnectionFaultRetryOptions, connectionFaultKind, retryConnectionFaults } from '../../net';
import type { Clock } from '../clock';
import { StateError } from '../state-errors';
import { connectionFailed, connectionLost, isConnectionError, isRead } from './postgres-connection';
import type { PostgresLocation } from './postgres-state-url';

/**
 * What every part of one PostgreSQL state shares: the pool while open, the clock, the location, and
 * the bounded retry of work whose connection broke (`faultRetry`; default 60 s, real time).
 */
export class PostgresStateContext {
  private open = true;

  constructor(
    private readonly connections: pg.Pool,
    readonly clock: Clock,
    readonly settings: PostgresLocation,
    readonly faultRetry: ConnectionFaultRetryOptions = {},
  ) {}

  /** The URL without credentials, for messages. */
  get location(): string {
    return this.settings.location;
  }

  /** The pool (connections on the state's schema); throws `state-closed` after {@link close}. */
  pool(): pg.Pool {
    if (!this.open) {
      throw new StateError('state-closed', `the state ${this.location} was used after it was closed`, {
        context: { location: this.location },
        hint: 'this is a bug in exportctl: open the state again, or close it later',
      });
    }
    return this.connections;
  }

  get isOpen(): boolean {
    return this.open;
  }

  /**
   * One statement on a pooled connection, run again on a new one when the connection broke before
   * it ran (or, for a `SELECT`, whenever it broke): see {@link reachable}.
   */
  async query<R extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<pg.QueryResult<R>> {
    return this.reachable(() => this.pool().query<R>(sql, params), isRead(sql));
  }

  /**
   * Runs `work` (one statement or a whole transaction), again from its start after a connection
   * fault that allows it (`retryConnectionFaults`: the server restarting, failing over, the network
   * dropping), for up to the retry bound. A connection still refused or lost after it is a
   * StateError that names the server (never the password) and says what to do: `state-open-failed`
   * when it was never reached, `state-connection-lost` when it broke under the work. `rerunnable`
   * says that `work` may run again even if the connection dropped with no answer (a read). SQL
   * errors pass through at once.
   */
  async reachable<T>(work: () => Promise<T>, rerunnable = false): Promise<T> {
    return retryConnectionFaults(work, { ...this.faultRetry, retryUnknown: rerunnable }, (fault) =>
      this.gaveUp(fault.error, fault.retriedMs),
    );
  }

  /**
   * Runs `work` in one transaction on one connection: committed when it resolves, rolled back when
   * it throws. With `serialized`, it first locks the state's serial row, so writes of what a plan
   * reads follow each other as SQLite's IMMEDIATE transactions do (and the serial moves with them).
   * A connection that breaks before the COMMIT was sent runs the whole transaction again on a new
   * one (see {@link reachable}): never half of it. One that breaks during the COMMIT with no answer
   * is not retried (the commit may have happened): `state-connection-lost`.
   */
  async transaction<T>(work: (client: pg.PoolClient) => Promise<T>, serialized = true): Promise<T> {
    let committing = false;
    return retryConnectionFaults(
      () => {
        committing = false;
        return this.transactionOnce(work, serialized, () => {
          committing = true;
        });
      },
      { ...this.faultRetry, retryUnknown: () => !committing },
      (fault) => this.gaveUp(fault.error, fault.retriedMs),
    );
  }

  private async transactionOnce<T>(
    work: (client: pg.PoolClient) => Promise<T>,
    serialized: boolean,
    onCommit: () => void,
  ): Promise<T> {
    const client = await this.pool().connect();
    let broken: Error | undefined;
    // A connection cut while checked out: recorded (not an uncaught error), and never reused.
    const onError = (error: Error) => {
      broken = error;
    };
    client.on('error', onError);
    try {
      await client.query('BEGIN');
      if (serialized) await client.query(`SELECT value FROM state_meta WHERE key = 'serial' FOR UPDATE`);
      const result = await work(client);
      onCommit();
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch((rollbackError: unknown) => {
        broken ??= rollbackError as Error;
      });
      if (connectionFaultKind(error) !== undefined) broken ??= error as Error;
      throw error;
    } finally {
      client.off('error', onError);
      // A connection that broke is dropped, not handed to the next caller.
      client.release(broken);
    }
  }

  /** The error for a connection fault that was not (or no longer) retried. */
  private gaveUp(error: unknown, retriedMs: number): unknown {
    if (!isConnectionError(error)) return error;
    // Refused from the first attempt on (a server that never answered): as when opening.
    const refused = connectionFaultKind(error) === 'not-run' && retriedMs === 0;
    return refused ? connectionFailed(this.settings, error) : connectionLost(this.settings, error, retriedMs);
  }

  async close(): Promise<void> {
    if (!this.open) return;
    this.open = false;
    await this.connections.end();
  }
}
