import { join } from 'node:path';
import { afterEach } from 'vitest';
import { type OpenStateStoreOptions, openStateStore, SqliteStateStore } from '../../src/state';
import { exportctlSqliteMigrations } from '../../src/wiring/state-migrations';
import { tempFolder } from './temp-folder';

const opened: SqliteStateStore[] = [];

/**
 * Opens a SQLite state (a real file in a fresh temp folder unless `url` is given), closed after the
 * current test. `env` defaults to empty, so the machine's EXPORTCTL_* variables never leak in.
 */
export async function openTestState(
  options: Partial<OpenStateStoreOptions> & { url?: string; folder?: string } = {},
): Promise<SqliteStateStore> {
  const folder = options.folder ?? tempFolder();
  const store = await openStateStore(options.url ?? `sqlite:${join(folder, 'state.db')}`, {
    env: {},
    cwd: folder,
    migrations: exportctlSqliteMigrations,
    ...options,
  });
  if (!(store instanceof SqliteStateStore)) throw new Error('expected a SQLite state');
  opened.push(store);
  return store;
}

afterEach(async () => {
  for (const store of opened.splice(0)) await store.close();
});
