import { controlPlanePostgresMigrations } from './control-plane-postgres-migrations';
import type { PostgresMigration } from './postgres-migrations';
import { requestPermitWindowsMigration } from './postgres-request-permits';
import { sourceSecretsPostgresMigration } from './source-secrets-postgres-migration';

/**
 * The migrations of the modules that own tables in the PostgreSQL state besides the control plane,
 * handed over by the wiring (`src/wiring`): this module imports none of them.
 */
export interface PostgresStateModuleMigrations {
  /** The run engine's (`run-engine-N-…`), in its order; new ones are appended to its list. */
  readonly runEngine: readonly PostgresMigration[];
}

/** The run engine's migrations that come before the request permits' table: versions 2 and 3. */
const runEngineMigrationsBeforePermits = 2;

/**
 * Every migration of the PostgreSQL state, in the one order they run: the control plane's, then the
 * run engine's (whose tables refer to `resources`), then later steps of either. As with
 * `sqliteStateMigrations`, released versions never move: later steps of either module go at the END.
 */
export function postgresStateMigrations(
  modules: PostgresStateModuleMigrations,
): readonly PostgresMigration[] {
  return [
    ...controlPlanePostgresMigrations,
    ...modules.runEngine.slice(0, runEngineMigrationsBeforePermits),
    requestPermitWindowsMigration,
    sourceSecretsPostgresMigration,
    // Released steps end here (`test/unit/state/migration-order.test.ts` pins them); what follows is
    // in the order it is released: the run engine's later steps (from `run-engine-3-…`, version 6),
    // then any new control-plane one (which then takes a fixed place here).
    ...modules.runEngine.slice(runEngineMigrationsBeforePermits),
  ];
}
