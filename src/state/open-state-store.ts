import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { type Clock, realSleep, type Sleep, systemClock } from './clock';
import { isProcessAlive } from './lock-staleness';
import { openPostgresState } from './postgres/open-postgres-state';
import type { PostgresMigration } from './postgres/postgres-migrations';
import type { PostgresLocation } from './postgres/postgres-state-url';
import { SECRET_KEY_ENV } from './secret-key';
import { openSqliteDatabase } from './sqlite/open-sqlite-database';
import type { SecretKeySource } from './sqlite/sqlite-encryption';
import { migrateSqlite, type SqliteMigration } from './sqlite/sqlite-migrations';
import { SqliteStateContext } from './sqlite/sqlite-state-context';
import { SqliteStateStore } from './sqlite/sqlite-state-store';
import { StateError } from './state-errors';
import type { StateStore } from './state-store';
import { parseStateUrl, resolveStateUrl, type SqliteLocation, type StateLocation } from './state-url';

/** The key file's name, in the folder of the SQLite database. */
export const SECRET_KEY_FILE = 'secret.key';

export interface LockTimingOptions {
  /** A lock whose holder's heartbeat is older than this (ms) is stale, on any host. Default 120 s. */
  readonly staleAfterMs?: number;
  /** How often held locks refresh their heartbeat (ms). Default 10 s. */
  readonly heartbeatIntervalMs?: number;
  /** How long a token refresh waits for another refresh of its connection (ms). Default 60 s. */
  readonly tokenRefreshTimeoutMs?: number;
  /** This machine's name in lock rows; default os.hostname(). Tests set it to play another host. */
  readonly hostname?: string;
}

export interface OpenStateStoreOptions {
  /** Relative sqlite: paths resolve against it; default process.cwd(). */
  readonly cwd?: string;
  /** Read for EXPORTCTL_STATE and EXPORTCTL_SECRET_KEY; default process.env. */
  readonly env?: NodeJS.ProcessEnv;
  readonly clock?: Clock;
  /** Used between lock attempts. */
  readonly sleep?: Sleep;
  /** In [0, 1): jitter of lock retries. */
  readonly random?: () => number;
  /** Who this process acts as, recorded on the token-refresh locks it takes. Default `exportctl`. */
  readonly actor?: string;
  readonly locks?: LockTimingOptions;
  /**
   * The migrations the state must have, in order: `sqliteStateMigrations` composed with the other
   * modules' by the wiring (`exportctlSqliteMigrations`); tests add steps after them.
   */
  readonly migrations: readonly SqliteMigration[];
  /**
   * The migrations of a PostgreSQL state, in order: `postgresStateMigrations` composed with the
   * other modules' by the wiring (`exportctlPostgresMigrations`). Without them a postgres:// URL
   * throws `state-backend-unsupported`.
   */
  readonly postgresMigrations?: readonly PostgresMigration[];
  /**
   * PostgreSQL: how long a command retries work whose connection to the server broke (a restart, a
   * failover) before it gives up with `state-connection-lost` (ms); default 60 s, 0 never retries.
   */
  readonly connectionFaultRetryMs?: number;
  /**
   * PostgreSQL: told when a broken connection is being retried, with a line to show (it names the
   * state, never the password); the CLI prints it on stderr.
   */
  readonly onConnectionFault?: (notice: string) => void;
}

const lockDefaults = {
  staleAfterMs: 120_000,
  heartbeatIntervalMs: 10_000,
  tokenRefreshTimeoutMs: 60_000,
  hostname: hostname(),
} satisfies Required<LockTimingOptions>;

/**
 * Opens the state at `url` (`--state`; when undefined, EXPORTCTL_STATE, else
 * `sqlite:.exportctl/state.db`), creating and migrating it as needed.
 *
 * SQLite: the secret key is read on first use: EXPORTCTL_SECRET_KEY if set, else `secret.key`
 * beside the database (created 0600 when the state has no encrypted value yet), else for
 * `sqlite::memory:` a key that lives as long as the store.
 *
 * PostgreSQL (`postgres://`, `postgresql://`; libpq's PG* variables from `env` fill the gaps): the
 * schema (default `exportctl`) is created and migrated; the key is EXPORTCTL_SECRET_KEY only, and
 * its absence is `secret-key-missing` at the first use of a secret, before anything is written.
 *
 * Throws `StateError`: `state-url-invalid`, `state-backend-unsupported`, `state-open-failed`,
 * `state-schema-too-new`, `state-schema-mismatch`.
 */
export async function openStateStore(
  url: string | undefined,
  options: OpenStateStoreOptions,
): Promise<StateStore> {
  const cwd = options.cwd ?? process.cwd();
  const env = options.env ?? process.env;
  const location = parseStateUrl(resolveStateUrl(url, env), cwd, env);
  // The opener is picked by the location's own backend, so the location is the one it takes.
  return stateOpeners[location.backend](location as never, options, env);
}

type StateOpener<L extends StateLocation> = (
  location: L,
  options: OpenStateStoreOptions,
  env: NodeJS.ProcessEnv,
) => Promise<StateStore>;

/** How each backend's location is opened: a new backend is a folder and a line here. */
const stateOpeners: {
  readonly [B in StateLocation['backend']]: StateOpener<Extract<StateLocation, { backend: B }>>;
} = {
  sqlite: openSqlite,
  postgres: openPostgres,
};

async function openSqlite(
  location: SqliteLocation,
  options: OpenStateStoreOptions,
  env: NodeJS.ProcessEnv,
): Promise<StateStore> {
  const clock = options.clock ?? systemClock;
  const locks = { ...lockDefaults, ...options.locks };

  const db = openSqliteDatabase(location.path);
  try {
    migrateSqlite(db, options.migrations, location.path, () => clock.now());
  } catch (error) {
    db.close();
    throw error;
  }

  const envKey = env[SECRET_KEY_ENV];
  const keySource: SecretKeySource =
    envKey !== undefined && envKey.trim() !== ''
      ? { kind: 'env', value: envKey }
      : location.path === ':memory:'
        ? { kind: 'ephemeral' }
        : { kind: 'key-file', path: join(dirname(location.path), SECRET_KEY_FILE) };

  return new SqliteStateStore({
    context: new SqliteStateContext(db, clock, location.path),
    keySource,
    locks: {
      pid: process.pid,
      hostname: locks.hostname,
      staleAfterMs: locks.staleAfterMs,
      heartbeatIntervalMs: locks.heartbeatIntervalMs,
      isProcessAlive,
      sleep: options.sleep ?? realSleep,
      random: options.random ?? Math.random,
    },
    tokenLocks: { identity: options.actor ?? 'exportctl', timeoutMs: locks.tokenRefreshTimeoutMs },
  });
}

async function openPostgres(
  location: PostgresLocation,
  options: OpenStateStoreOptions,
  env: NodeJS.ProcessEnv,
): Promise<StateStore> {
  if (options.postgresMigrations === undefined) {
    throw new StateError(
      'state-backend-unsupported',
      `the PostgreSQL state ${location.location} was opened without the PostgreSQL migrations`,
      {
        context: { url: location.location, backend: 'postgres' },
        hint: 'this is a bug in exportctl: open the state through openExportctlState',
      },
    );
  }
  const locks = { ...lockDefaults, ...options.locks };
  const envKey = env[SECRET_KEY_ENV];
  return openPostgresState(location, {
    clock: options.clock ?? systemClock,
    sleep: options.sleep ?? realSleep,
    random: options.random ?? Math.random,
    hostname: locks.hostname,
    heartbeatIntervalMs: locks.heartbeatIntervalMs,
    tokenLocks: { identity: options.actor ?? 'exportctl', timeoutMs: locks.tokenRefreshTimeoutMs },
    secretKey: envKey !== undefined && envKey.trim() !== '' ? envKey : undefined,
    migrations: options.postgresMigrations,
    ...(options.connectionFaultRetryMs === undefined
      ? {}
      : { connectionFaultRetryMs: options.connectionFaultRetryMs }),
    ...(options.onConnectionFault === undefined ? {} : { onConnectionFault: options.onConnectionFault }),
  });
}
