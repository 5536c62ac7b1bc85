import type Database from 'better-sqlite3';
import { StateError } from '../state-errors';

export type SqliteDatabase = Database.Database;

/**
 * One forward-only step of the SQLite schema. Released migrations are never edited, reordered or
 * removed: a change is a new migration appended to `sqliteStateMigrations`.
 */
export interface SqliteMigration {
  /**
   * Stable forever and unique across modules, prefixed by the module that owns the tables, e.g.
   * `control-plane-1-initial`, `run-engine-1-snapshots`. Recorded in `schema_migrations`.
   */
  readonly id: string;
  /** Applies the step. Runs inside the migration's own transaction: if it throws, nothing stays. */
  up(db: SqliteDatabase): void;
}

export interface AppliedMigration {
  /** 1-based position in the list. */
  readonly version: number;
  readonly id: string;
  readonly appliedAt: number;
}

const CREATE_SCHEMA_MIGRATIONS = `
  CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    applied_at INTEGER NOT NULL
  ) STRICT`;

/**
 * Brings the database to the end of `migrations`: each missing one runs in its own IMMEDIATE
 * transaction that also records it in `schema_migrations` and PRAGMA user_version, so two processes
 * opening a new state at once apply each step exactly once. An up-to-date database takes no write
 * lock. Throws `state-schema-too-new` when the database has migrations past the end of the list
 * (written by a newer exportctl), and `state-schema-mismatch` when an applied id differs from the
 * list's id at that version. Resolves the ids applied now.
 */
export function migrateSqlite(
  db: SqliteDatabase,
  migrations: readonly SqliteMigration[],
  location: string,
  now: () => number,
): string[] {
  const hasTable = db
    .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'")
    .get();
  if (hasTable !== undefined) {
    const applied = readAppliedMigrations(db);
    checkAppliedMigrations(db, applied, migrations, location);
    if (applied.length === migrations.length) return [];
  }

  const appliedNow: string[] = [];
  for (const [index, migration] of migrations.entries()) {
    const version = index + 1;
    const ran = db
      .transaction(() => {
        db.exec(CREATE_SCHEMA_MIGRATIONS);
        const applied = readAppliedMigrations(db);
        checkAppliedMigrations(db, applied, migrations, location);
        if (applied.length >= version) return false;
        migration.up(db);
        db.prepare('INSERT INTO schema_migrations (version, id, applied_at) VALUES (?, ?, ?)').run(
          version,
          migration.id,
          now(),
        );
        db.pragma(`user_version = ${version}`);
        return true;
      })
      .immediate();
    if (ran) appliedNow.push(migration.id);
  }
  return appliedNow;
}

/** The migrations recorded in the database, by version. */
export function readAppliedMigrations(db: SqliteDatabase): AppliedMigration[] {
  const rows = db
    .prepare('SELECT version, id, applied_at AS appliedAt FROM schema_migrations ORDER BY version')
    .all() as AppliedMigration[];
  return rows;
}

function checkAppliedMigrations(
  db: SqliteDatabase,
  applied: readonly AppliedMigration[],
  migrations: readonly SqliteMigration[],
  location: string,
): void {
  const userVersion = Number(db.pragma('user_version', { simple: true }));
  const newest = Math.max(userVersion, applied.at(-1)?.version ?? 0);
  if (newest > migrations.length) {
    const unknown = applied.filter((row) => row.version > migrations.length).map((row) => row.id);
    throw new StateError(
      'state-schema-too-new',
      `the state at ${location} has schema version ${newest}, newer than this exportctl knows ` +
        `(${migrations.length})${unknown.length > 0 ? `: it has migrations ${unknown.join(', ')}` : ''}`,
      {
        context: { location, schemaVersion: newest, knownVersion: migrations.length },
        hint: 'a newer exportctl wrote it: upgrade exportctl to use this state (it is never migrated backwards)',
      },
    );
  }
  for (const row of applied) {
    const expected = migrations[row.version - 1];
    if (expected === undefined || expected.id !== row.id || row.version !== applied.indexOf(row) + 1) {
      throw new StateError(
        'state-schema-mismatch',
        `the state at ${location} records migration ${row.version} as ${row.id}, but this exportctl's ` +
          `migration ${row.version} is ${expected?.id ?? 'missing'}`,
        {
          context: { location, version: row.version, applied: row.id, expected: expected?.id ?? null },
          hint: 'another build of exportctl wrote this state: use that build, or the release that follows it',
        },
      );
    }
  }
}
