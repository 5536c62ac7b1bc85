import { runEngineMigrations } from '../../engine/run-engine-sqlite-migrations';
import { controlPlaneMigrations } from './control-plane-migrations';
import { ownerStackMigration } from './owner-stack-migration';
import type { SqliteMigration } from './sqlite-migrations';
import { stateSerialMigration } from './state-serial-migration';

/**
 * Every migration of the SQLite state, in the one order they run, whichever module owns the
 * tables. Every process that opens the state must know all of them (a state with an unknown one is
 * "too new"), so this list is the single place they are composed.
 *
 * To add tables from another module (the run engine's membership snapshots and checkpoints):
 * 1. write `src/<module>/<module>-sqlite-migrations.ts` exporting `readonly SqliteMigration[]`,
 *    ids prefixed by the module (`run-engine-1-snapshots`), importing only types from `src/state`;
 * 2. append its entries at the END of this array (never between released ones);
 * 3. reach the database through `SqliteStateStore.sqlite` to read and write those tables.
 */
export const sqliteStateMigrations: readonly SqliteMigration[] = [
  ...controlPlaneMigrations,
  ...runEngineMigrations,
  // Entries after the spreads above: a migration appended to `runEngineMigrations` from now on would
  // land before these, so a module's later migrations are appended here, one by one, instead.
  stateSerialMigration,
  ownerStackMigration,
];
