import { type OpenStateStoreOptions, openStateStore, type StateStore } from '../state';
import { exportctlPostgresMigrations, exportctlSqliteMigrations } from './state-migrations';

/**
 * Opens exportctl's state at `url` (see `openStateStore`) with every module's migrations, for
 * either backend: the one way the CLI, watch mode, the export worker and the Pulumi provider open it.
 */
export function openExportctlState(
  url: string | undefined,
  options: Omit<OpenStateStoreOptions, 'migrations'> & {
    readonly migrations?: OpenStateStoreOptions['migrations'];
  } = {},
): Promise<StateStore> {
  return openStateStore(url, {
    postgresMigrations: exportctlPostgresMigrations,
    ...options,
    migrations: options.migrations ?? exportctlSqliteMigrations,
  });
}
