import { runEngineSqliteMigrations } from '../engine/sqlite/run-engine-sqlite-migrations';
import {
  type PostgresMigration,
  postgresStateMigrations,
  type SqliteMigration,
  sqliteStateMigrations,
} from '../state';
import { postgresRunEngine } from './postgres-run-engine';

/**
 * Every migration of exportctl's SQLite state: the control plane's and the run engine's, composed
 * by the state in their one order. Whatever opens a SQLite state passes this list (a state opened
 * with fewer would look "too new" or mismatched to the next exportctl).
 */
export const exportctlSqliteMigrations: readonly SqliteMigration[] = sqliteStateMigrations({
  runEngine: runEngineSqliteMigrations,
});

/** Every migration of exportctl's PostgreSQL state, as {@link exportctlSqliteMigrations} for SQLite. */
export const exportctlPostgresMigrations: readonly PostgresMigration[] = postgresStateMigrations({
  runEngine: postgresRunEngine?.migrations ?? [],
});
