import pg from 'pg';
import { connectionFaultRetryDefaults } from '../../net';
import type { Clock, Sleep } from '../clock';
import type { TokenLockOptions } from '../connection-tokens';
import {
  connectionFailed,
  connectionRetryNotice,
  isConnectionError,
  postgresClientConfig,
} from './postgres-connection';
import { migratePostgres, type PostgresMigration } from './postgres-migrations';
import { PostgresStateContext } from './postgres-state-context';
import { PostgresStateStore } from './postgres-state-store';
import type { PostgresLocation } from './postgres-state-url';

export interface OpenPostgresStateOptions {
  readonly clock: Clock;
  readonly sleep: Sleep;
  readonly random: () => number;
  readonly hostname: string;
  readonly heartbeatIntervalMs: number;
  readonly tokenLocks: TokenLockOptions;
  /** EXPORTCTL_SECRET_KEY, if set. */
  readonly secretKey: string | undefined;
  readonly migrations: readonly PostgresMigration[];
  /**
   * How long work whose connection broke is retried once the state is open (ms; see
   * `retryConnectionFaults`); default 60 s, 0 never retries. Opening itself is never retried.
   */
  readonly connectionFaultRetryMs?: number;
  /** Told, with a line to show (no password), when a broken connection is being retried. */
  readonly onConnectionFault?: (notice: string) => void;
}

/**
 * Connects to the state at `location` (a pool of connections on its schema), creates the schema if
 * missing and migrates it (see `migratePostgres`). A connection or login failure throws
 * `state-open-failed` saying where and what to do, without the password; nothing is left open.
 */
export async function openPostgresState(
  location: PostgresLocation,
  options: OpenPostgresStateOptions,
): Promise<PostgresStateStore> {
  const config = postgresClientConfig(location);
  const pool = new pg.Pool({ ...config, max: 10, idleTimeoutMillis: 10_000, allowExitOnIdle: true });
  // An idle connection the server drops (restart, network) must not crash the process: the next
  // query opens a new one.
  pool.on('error', () => {});
  try {
    const client = await pool.connect().catch((error: unknown) => {
      throw connectionFailed(location, error);
    });
    try {
      await migratePostgres(client, location.schema, options.migrations, location.location, () =>
        options.clock.now(),
      );
    } finally {
      client.release();
    }
  } catch (error) {
    await pool.end().catch(() => {});
    throw isConnectionError(error) ? connectionFailed(location, error) : error;
  }
  const boundMs = options.connectionFaultRetryMs ?? connectionFaultRetryDefaults.boundMs;
  const notify = options.onConnectionFault;
  const context = new PostgresStateContext(pool, options.clock, location, {
    policy: { boundMs },
    ...(notify === undefined
      ? {}
      : { onRetry: (fault) => notify(connectionRetryNotice(location, fault, boundMs)) }),
  });
  return new PostgresStateStore({
    context,
    secretKey: options.secretKey,
    locks: {
      pid: process.pid,
      hostname: options.hostname,
      heartbeatIntervalMs: options.heartbeatIntervalMs,
      sleep: options.sleep,
      random: options.random,
      // pg's own error when it fails: the store retries a connection fault, then says where.
      connect: async () => {
        const client = new pg.Client(config);
        client.on('error', () => {});
        await client.connect();
        return client;
      },
    },
    tokenLocks: options.tokenLocks,
  });
}
