import type { RunStore } from '../../src/engine';
import type { SqliteStateStore } from '../../src/state';
import { runStoreFor } from '../../src/wiring';
import { postgresRunStores } from './postgres-run-store';

/**
 * A run store implementation for the engine's integration tests, beside a SQLite control plane
 * (the engine takes the parts of its state separately): `open` gives a migrated, empty store that
 * belongs to `state`'s world.
 */
export interface RunStoreBackend {
  readonly name: string;
  open(state: SqliteStateStore): Promise<RunStore>;
}

/** The run store inside the SQLite state itself, as the wiring builds it. */
export const sqliteRunStoreBackend: RunStoreBackend = {
  name: 'SQLite',
  open: async (state) => runStoreFor(state),
};

/**
 * A PostgreSQL run store in a fresh schema of a real server (one per test file, started on first
 * use). Its trigger hangs on that schema's own `resources` table, not the SQLite control plane's:
 * deleting a destination in the SQLite state does not reach it (see postgres-run-store.test.ts for
 * the trigger).
 */
export const postgresRunStoreBackend: RunStoreBackend = {
  name: 'PostgreSQL',
  open: async () => (await postgresRunStores.open()).store,
};

/** Every backend the engine's tests run against. */
export const runStoreBackends: readonly RunStoreBackend[] = [sqliteRunStoreBackend, postgresRunStoreBackend];
