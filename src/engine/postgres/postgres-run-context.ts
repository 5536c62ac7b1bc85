import type pg from 'pg';
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
  ) {}

  /** One query outside any transaction (retried on a connection the server had ended: see `retried`). */
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(
    text: string,
    values: readonly unknown[] = [],
  ): Promise<pg.QueryResult<R>> {
    return retried(() => this.pool.query<R>(text, values as unknown[]));
  }

  /** As `query`, each row an array of its columns (no object per row: pages of 10,000). */
  queryArrays<R extends unknown[]>(
    text: string,
    values: readonly unknown[],
  ): Promise<pg.QueryArrayResult<R>> {
    return retried(() => this.pool.query<R>({ text, values: values as unknown[], rowMode: 'array' }));
  }

  /**
   * `work` in one transaction on one connection: committed when it resolves, rolled back when it
   * throws; run again from the start on a connection the server had ended (see `retried`).
   */
  transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    return retried(() => this.transactionOnce(work));
  }

  private async transactionOnce<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
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
      await client.query('COMMIT');
      return result;
    } catch (error) {
      try {
        await client.query('ROLLBACK');
      } catch (rollbackError) {
        // The connection is unusable (the server went away): the pool must not hand it out again.
        broken ??= rollbackError as Error;
      }
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

/**
 * SQLSTATEs with which the server ends a session without running the statement it answers (a
 * restart's fast shutdown, or crash recovery): the transaction did not commit, so it is run again
 * on a new connection. A connection that just drops (no SQLSTATE) may have committed: not retried.
 */
const endedSessionCodes: ReadonlySet<string> = new Set(['57P01', '57P02']);

/** `attempt`, run again (twice at most) when the server had ended its connection. */
async function retried<T>(attempt: () => Promise<T>): Promise<T> {
  for (let tries = 1; ; tries++) {
    try {
      return await attempt();
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (tries >= 3 || typeof code !== 'string' || !endedSessionCodes.has(code)) throw error;
    }
  }
}
