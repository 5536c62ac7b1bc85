import type pg from 'pg';
import type { RunStore } from '../engine/run-store';
import type { PostgresMigration } from '../state';

/** What the run engine brings to a PostgreSQL state: its tables, and the store on them. */
export interface PostgresRunEngine {
  /** The run engine's migrations, after the control plane's (see `postgresStateMigrations`). */
  readonly migrations: readonly PostgresMigration[];
  /** The run store on `pool`, whose connections are already on the state's schema. */
  runStore(pool: pg.Pool, now: () => number): RunStore;
}

/**
 * The run engine's PostgreSQL half, or undefined while the engine has none: then a PostgreSQL state
 * holds the control plane (plan, apply, destroy, status, runs) and `run` says it cannot run there.
 * To plug it in, this one line becomes:
 *
 *     export const postgresRunEngine: PostgresRunEngine | undefined = { migrations: runEnginePostgresMigrations, runStore: (pool, now) => new PostgresRunStore({ pool, now }) };
 *
 * (importing both from '../engine/postgres'). Its migrations are then appended after the control
 * plane's in every PostgreSQL state, the first time a new exportctl opens it.
 */
export const postgresRunEngine: PostgresRunEngine | undefined = undefined;
