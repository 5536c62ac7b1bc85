import { describe, expect, it } from 'vitest';
import { exportctlPostgresMigrations, exportctlSqliteMigrations } from '../../../src/wiring/state-migrations';

// A state records each migration it ran by its version (its place in the list) and refuses to open
// when the id at a version differs from this build's: a released step that moves strands every
// state written before. These are the steps as released, in order; a new one is appended here when
// it is released, and the lists may only grow at their end.
const releasedSqlite = [
  'control-plane-1-initial',
  'run-engine-1-snapshots-and-checkpoints',
  'run-engine-2-removal-submissions',
  'run-engine-3-claimed-activities',
  'run-engine-4-list-baselines',
  'control-plane-2-state-serial',
  'control-plane-3-owner-stack',
  'run-engine-5-compact-snapshots',
  'run-engine-6-row-issues',
  'control-plane-4-source-secrets',
];
const releasedPostgres = [
  'control-plane-1-initial',
  'run-engine-1-postgres-tables',
  'run-engine-2-row-issues',
  'control-plane-2-request-permit-windows',
  'control-plane-2-source-secrets',
  'run-engine-3-folded-batches',
  'run-engine-4-staging-without-foreign-key',
];

describe('the state migrations as composed by the wiring', () => {
  it.each([
    ['SQLite', exportctlSqliteMigrations, releasedSqlite],
    ['PostgreSQL', exportctlPostgresMigrations, releasedPostgres],
  ] as const)(
    '%s: the released steps keep their versions; new ones only follow them',
    (_name, list, released) => {
      const ids = list.map((migration) => migration.id);
      expect(ids.slice(0, released.length)).toEqual(released);
      expect(new Set(ids).size).toBe(ids.length);
    },
  );
});
