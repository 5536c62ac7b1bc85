import type pg from 'pg';
import { type ConnectionFaultRetryOptions, connectionFaultKind, retryConnectionFaults } from '../../net';
import { connectionLost, isRead, type PostgresLocation } from '../../state';
import { RunEngineError } from '../run-engine-errors';
import { claimRetentionMs } from '../run-store';

/**
 * What the parts of the PostgreSQL run store share: the pool (its connections already on the
 * state's schema), the clock, and the transactions every write goes through.
 *
 * Several processes on several hosts share the database, each under READ COMMITTED: where the
 * SQLite store relied on its single writer, a transaction here locks the rows it depends on (a
 * run's checkpoint, `FOR KEY SHARE` for a run's writes: the trigger that deletes it waits for them,
 * and they find it gone once it committed).
 */
export class PostgresRunContext {
  constructor(
    readonly pool: pg.Pool,
    readonly now: () => number,
    /** Where the state is, for the message of a connection that stayed lost (no password shown). */
    private readonly location: PostgresLocationForMessages | undefined,
    private readonly faultRetry: ConnectionFaultRetryOptions,
  ) {}

  /**
   * One query outside any transaction, run again on a new connection when its connection broke
   * before it ran (or, for a `SELECT`, whenever it broke): see {@link retriedOnFaults}.
   */
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(
    text: string,
    values: readonly unknown[] = [],
  ): Promise<pg.QueryResult<R>> {
    return this.retriedOnFaults(() => this.pool.query<R>(text, values as unknown[]), isRead(text));
  }

  /** As `query`, each row an array of its columns (no object per row: pages of 10,000). */
  queryArrays<R extends unknown[]>(
    text: string,
    values: readonly unknown[],
  ): Promise<pg.QueryArrayResult<R>> {
    return this.retriedOnFaults(
      () => this.pool.query<R>({ text, values: values as unknown[], rowMode: 'array' }),
      isRead(text),
    );
  }

  /**
   * `work` in one transaction on one connection: committed when it resolves, rolled back when it
   * throws. When the connection breaks before the COMMIT was sent (the server restarted, the
   * network dropped), the whole transaction runs again on a new connection, with backoff, for up to
   * the retry bound: never half of it, so a retried write is one that did not happen. One that
   * breaks during the COMMIT with no answer is not retried (it may have committed).
   */
  transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    let committing = false;
    return this.retriedOnFaults(
      () => {
        committing = false;
        return this.transactionOnce(work, () => {
          committing = true;
        });
      },
      () => !committing,
    );
  }

  /**
   * `attempt` again after a connection fault (`retryConnectionFaults`; `rerunnable`: whether it may
   * run again when the connection dropped with no answer); after the bound, `state-connection-lost`
   * naming the server. The run that gets it stops, and the next run resumes from its checkpoint.
   */
  private retriedOnFaults<T>(attempt: () => Promise<T>, rerunnable: boolean | (() => boolean)): Promise<T> {
    return retryConnectionFaults(
      attempt,
      {
        ...this.faultRetry,
        retryUnknown: typeof rerunnable === 'function' ? () => rerunnable() : rerunnable,
      },
      (fault) =>
        this.location === undefined
          ? fault.error
          : connectionLost(this.location, fault.error, fault.retriedMs),
    );
  }

  private async transactionOnce<T>(
    work: (client: pg.PoolClient) => Promise<T>,
    onCommit: () => void,
  ): Promise<T> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    // A connection cut while checked out: recorded (not an uncaught error), and never reused.
    const onError = (error: Error) => {
      broken = error;
    };
    client.on('error', onError);
    try {
      await client.query('BEGIN');
      const result = await work(client);
      onCommit();
      await client.query('COMMIT');
      return result;
    } catch (error) {
      try {
        await client.query('ROLLBACK');
      } catch (rollbackError) {
        // The connection is unusable (the server went away): the pool must not hand it out again.
        broken ??= rollbackError as Error;
      }
      if (connectionFaultKind(error) !== undefined) broken ??= error as Error;
      throw error;
    } finally {
      client.off('error', onError);
      client.release(broken);
    }
  }

  /**
   * `work` in one transaction, refused (`destination-replaced`) when the run's checkpoint is gone.
   * The checkpoint row stays locked against deletion until the transaction ends.
   */
  write<T>(runId: number, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    return this.transaction(async (client) => {
      const found = await client.query('SELECT 1 FROM export_checkpoints WHERE run_id = $1 FOR KEY SHARE', [
        runId,
      ]);
      if (found.rowCount === 0) {
        throw new RunEngineError(
          'destination-replaced',
          `run ${runId} lost its checkpoint: its destination was deleted or replaced while it ran`,
          {
            context: { run: runId },
            hint: 'the destination now points at another list (or is gone): run it again to export to the applied one',
          },
        );
      }
      return work(client);
    });
  }

  /** Moves the destination's snapshot revision to one it never had (its rows changed). */
  async bumpRevision(client: pg.ClientBase, destination: string): Promise<void> {
    await client.query(
      `INSERT INTO export_snapshot_revisions (destination, revision)
       VALUES ($1, nextval('export_snapshot_revision'))
       ON CONFLICT (destination) DO UPDATE SET revision = excluded.revision`,
      [destination],
    );
  }

  /** Records `activityId` as a run's for good, and forgets claims older than any activity kept. */
  async claimActivity(client: pg.ClientBase, activityId: string): Promise<void> {
    const now = this.now();
    await client.query(
      `INSERT INTO export_claimed_activities (activity_id, claimed_at) VALUES ($1, $2)
       ON CONFLICT (activity_id) DO NOTHING`,
      [activityId, now],
    );
    await client.query('DELETE FROM export_claimed_activities WHERE claimed_at < $1', [
      now - claimRetentionMs,
    ]);
  }
}

/** What a message about the state's server names: never its password. */
export type PostgresLocationForMessages = Pick<PostgresLocation, 'location' | 'host' | 'port' | 'password'>;
