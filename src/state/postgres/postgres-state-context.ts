import type pg from 'pg';
import type { Clock } from '../clock';
import { StateError } from '../state-errors';
import { connectionFailed, isConnectionError } from './postgres-connection';
import type { PostgresLocation } from './postgres-state-url';

/** What every part of one PostgreSQL state shares: the pool while open, the clock, the location. */
export class PostgresStateContext {
  private open = true;

  constructor(
    private readonly connections: pg.Pool,
    readonly clock: Clock,
    readonly settings: PostgresLocation,
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

  /** One statement on a pooled connection; losing the server is `state-open-failed` (see {@link reachable}). */
  async query<R extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<pg.QueryResult<R>> {
    return this.reachable(() => this.pool().query<R>(sql, params));
  }

  /**
   * Runs `work`, turning a lost or refused connection into a `state-open-failed` StateError that
   * names the server (never the password) and says what to do; SQL errors pass through.
   */
  async reachable<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      throw isConnectionError(error) ? connectionFailed(this.settings, error) : error;
    }
  }

  /**
   * Runs `work` in one transaction on one connection: committed when it resolves, rolled back when
   * it throws. With `serialized`, it first locks the state's serial row, so writes of what a plan
   * reads follow each other as SQLite's IMMEDIATE transactions do (and the serial moves with them).
   */
  async transaction<T>(work: (client: pg.PoolClient) => Promise<T>, serialized = true): Promise<T> {
    const client = await this.reachable(() => this.pool().connect());
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      if (serialized) await client.query(`SELECT value FROM state_meta WHERE key = 'serial' FOR UPDATE`);
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      if (!isConnectionError(error)) throw error;
      broken = error as Error;
      throw connectionFailed(this.settings, error);
    } finally {
      // A connection that broke is dropped, not handed to the next caller.
      client.release(broken);
    }
  }

  async close(): Promise<void> {
    if (!this.open) return;
    this.open = false;
    await this.connections.end();
  }
}
