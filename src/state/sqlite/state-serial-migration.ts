import type { SqliteMigration } from './sqlite-migrations';
import { initStateSerial } from './sqlite-state-serial';

/**
 * Gives the state a lineage and a serial (see `StateSerial`) for saved plans. A state made before
 * this migration starts at serial 0 with a new lineage: a plan file made by an older exportctl has
 * neither and cannot be applied anyway. It belongs to the control plane but runs after the run
 * engine's first migrations, because released migrations are never reordered.
 */
export const stateSerialMigration: SqliteMigration = {
  id: 'control-plane-2-state-serial',
  up(db) {
    initStateSerial(db);
  },
};
