import type pg from 'pg';
import { PostgresRunStore, postgresRunEngineTransfer, runEnginePostgresMigrations } from '../engine/postgres';
import type { RunEngineTransfer } from '../engine/run-engine-transfer';
import type { RunStore } from '../engine/run-store';
import type { PostgresMigration, PostgresStateStore } from '../state';

/** What the run engine brings to a PostgreSQL state: its tables, and the store on them. */
export interface PostgresRunEngine {
  /** The run engine's migrations, after the control plane's (see `postgresStateMigrations`). */
  readonly migrations: readonly PostgresMigration[];
  /**
   * The run store on the state's pool (its connections already on the state's schema), retrying
   * work whose connection broke as the state does.
   */
  runStore(state: PostgresStateStore, now: () => number): RunStore;
  /** Its half of a state copy (`exportctl state migrate`), on a transaction of the state's. */
  readonly transfer: RunEngineTransfer<pg.ClientBase>;
}

/**
 * The run engine's PostgreSQL half: its migrations, appended after the control plane's in every
 * PostgreSQL state the first time a new exportctl opens it, and its run store on the state's pool.
 */
export const postgresRunEngine: PostgresRunEngine = {
  migrations: runEnginePostgresMigrations,
  runStore: (state, now) =>
    new PostgresRunStore({
      pool: state.pool,
      now,
      faultRetry: state.faultRetry,
      location: state.connectionSettings,
    }),
  transfer: postgresRunEngineTransfer,
};
