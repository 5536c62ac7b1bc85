import { controlPlaneMigrations } from './control-plane-migrations';
import { ownerStackMigration } from './owner-stack-migration';
import { sourceSecretsMigration } from './source-secrets-migration';
import type { SqliteMigration } from './sqlite-migrations';
import { stateSerialMigration } from './state-serial-migration';

/**
 * The migrations of the modules that own tables in the SQLite state besides the control plane,
 * handed over by the wiring (`src/wiring`): this module imports none of them.
 */
export interface SqliteStateModuleMigrations {
  /** The run engine's (`run-engine-N-…`), in its order; new ones are appended to its list. */
  readonly runEngine: readonly SqliteMigration[];
}

/** The run engine's migrations that come before the state serial's: they keep versions 2 to 5. */
const runEngineMigrationsBeforeSerial = 4;
/**
 * The run engine's migrations released before the source secrets' (versions 8 and 9, up to
 * `run-engine-6-row-issues`); its later ones come after every released step.
 */
const runEngineMigrationsBeforeSourceSecrets = 6;

/**
 * Every migration of the SQLite state, in the one order they run, whichever module owns the
 * tables. Every process that opens the state must know all of them (a state with an unknown one is
 * "too new"), so this is the single place they are composed; the wiring passes the result to
 * `openStateStore`.
 *
 * To add tables from another module: it exports `readonly SqliteMigration[]` (ids prefixed by the
 * module), the wiring hands them over through {@link SqliteStateModuleMigrations}, and they are
 * placed here. Released versions never move: a module's later migrations, and new control-plane
 * ones, go at the END.
 */
export function sqliteStateMigrations(modules: SqliteStateModuleMigrations): readonly SqliteMigration[] {
  return [
    ...controlPlaneMigrations,
    ...modules.runEngine.slice(0, runEngineMigrationsBeforeSerial),
    stateSerialMigration,
    ownerStackMigration,
    ...modules.runEngine.slice(runEngineMigrationsBeforeSerial, runEngineMigrationsBeforeSourceSecrets),
    sourceSecretsMigration,
    // Released steps end here (`test/unit/state/migration-order.test.ts` pins them); what follows is
    // in the order it is released: the run engine's later steps, then any new control-plane one
    // (which then takes a fixed place here, as the source secrets' did).
    ...modules.runEngine.slice(runEngineMigrationsBeforeSourceSecrets),
  ];
}
