import { createHash } from 'node:crypto';
import type pg from 'pg';
import { StateError } from '../state-errors';

/**
 * One forward-only step of the PostgreSQL schema, the counterpart of `SqliteMigration`. Released
 * migrations are never edited, reordered or removed: a change is a new one appended to
 * `postgresStateMigrations`. `up` runs on a client whose search_path is the state's schema, inside
 * the migration transaction: if it throws, nothing of it stays.
 */
export interface PostgresMigration {
  /** Stable forever, unique across modules, prefixed by the owning module; in `schema_migrations`. */
  readonly id: string;
  up(client: pg.ClientBase): Promise<void>;
}

interface AppliedRow {
  version: number;
  id: string;
}

/**
 * A 64-bit advisory-lock key for `purpose` in `schema`, as a decimal string for pg: the schema is
 * part of the key, so the locks of two states in one database never block each other.
 */
export function advisoryKey(purpose: string, schema: string, name = ''): string {
  const digest = createHash('sha256').update(`exportctl\0${purpose}\0${schema}\0${name}`).digest();
  return digest.readBigInt64BE(0).toString();
}

/**
 * Brings the state's schema to the end of `migrations`, creating the schema when it is missing. An
 * up-to-date state is only read. Otherwise, in one transaction holding a transaction-scoped advisory
 * lock keyed on the schema, it reads `schema_migrations` again and applies what is missing, so two
 * processes opening a fresh state at once apply each step exactly once (the second waits, then
 * finds nothing to do). Throws `state-schema-too-new` when the state has migrations past the end of
 * the list, `state-schema-mismatch` when an applied id differs from the list's. Resolves the ids
 * applied now.
 */
export async function migratePostgres(
  client: pg.ClientBase,
  schema: string,
  migrations: readonly PostgresMigration[],
  location: string,
  now: () => number,
): Promise<string[]> {
  const current = await readApplied(client, schema);
  if (current !== undefined) {
    checkApplied(current, migrations, location);
    if (current.length === migrations.length) return [];
  }
  const quoted = `"${schema.replaceAll('"', '""')}"`;
  await client.query('BEGIN');
  try {
    await client.query("SET LOCAL lock_timeout = '60s'");
    await client.query('SELECT pg_advisory_xact_lock($1::bigint)', [advisoryKey('migrate', schema)]);
    const exists = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
    if (exists.rowCount === 0) await client.query(`CREATE SCHEMA ${quoted}`);
    await client.query(`SET LOCAL search_path TO ${quoted}`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS schema_migrations (
         version INTEGER PRIMARY KEY,
         id TEXT NOT NULL UNIQUE,
         applied_at BIGINT NOT NULL
       )`,
    );
    const applied = (await readApplied(client, schema)) ?? [];
    checkApplied(applied, migrations, location);
    const appliedNow: string[] = [];
    for (const [index, migration] of migrations.entries()) {
      const version = index + 1;
      if (version <= applied.length) continue;
      await migration.up(client);
      await client.query('INSERT INTO schema_migrations (version, id, applied_at) VALUES ($1, $2, $3)', [
        version,
        migration.id,
        now(),
      ]);
      appliedNow.push(migration.id);
    }
    await client.query('COMMIT');
    return appliedNow;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  }
}

/** The applied migrations of `schema`, by version; undefined when it has no `schema_migrations`. */
export async function readApplied(client: pg.ClientBase, schema: string): Promise<AppliedRow[] | undefined> {
  const table = await client.query(
    `SELECT 1 FROM pg_tables WHERE schemaname = $1 AND tablename = 'schema_migrations'`,
    [schema],
  );
  if (table.rowCount === 0) return undefined;
  const quoted = `"${schema.replaceAll('"', '""')}"`;
  const rows = await client.query<AppliedRow>(
    `SELECT version, id FROM ${quoted}.schema_migrations ORDER BY version`,
  );
  return rows.rows;
}

function checkApplied(
  applied: readonly AppliedRow[],
  migrations: readonly PostgresMigration[],
  location: string,
): void {
  const newest = applied.at(-1)?.version ?? 0;
  if (newest > migrations.length) {
    const unknown = applied.filter((row) => row.version > migrations.length).map((row) => row.id);
    throw new StateError(
      'state-schema-too-new',
      `the state at ${location} has schema version ${newest}, newer than this exportctl knows ` +
        `(${migrations.length}): it has migrations ${unknown.join(', ')}`,
      {
        context: { location, schemaVersion: newest, knownVersion: migrations.length },
        hint: 'a newer exportctl wrote it: upgrade exportctl to use this state (it is never migrated backwards)',
      },
    );
  }
  for (const [index, row] of applied.entries()) {
    const expected = migrations[row.version - 1];
    if (expected === undefined || expected.id !== row.id || row.version !== index + 1) {
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
