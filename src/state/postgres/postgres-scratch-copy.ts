import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import type { Clock } from '../clock';
import { openPostgresState } from './open-postgres-state';
import { quoteIdentifier } from './postgres-connection';
import type { PostgresMigration } from './postgres-migrations';
import type { PostgresStateStore } from './postgres-state-store';

/** A throwaway copy of a PostgreSQL state, in a schema of its own beside it. */
export interface PostgresScratchCopy {
  readonly store: PostgresStateStore;
  /** Closes the copy and drops its schema. */
  dispose(): Promise<void>;
}

/**
 * Copies the state of `source` into a new schema of the same database (`<schema>_preview_<hex>`):
 * the schema is created and migrated with `migrations` (so its tables, sequences and triggers are
 * the real ones), then every table the two schemas share is copied row by row, whichever module
 * owns it (the run engine's snapshots and checkpoints come along), in one repeatable-read
 * transaction so the copy is of one moment. User triggers are off while copying (a copied row is
 * no change), sequences continue after the copied ids. The copy's secrets are under `secretKey`.
 */
export async function copyPostgresState(
  source: PostgresStateStore,
  options: { migrations: readonly PostgresMigration[]; clock: Clock; secretKey: string },
): Promise<PostgresScratchCopy> {
  const settings = source.connectionSettings;
  const schema = `${source.schema.slice(0, 40)}_preview_${randomBytes(4).toString('hex')}`;
  const store = await openPostgresState(
    {
      ...settings,
      schema,
      location: settings.location.replace(/\?schema=.*$/, `?schema=${encodeURIComponent(schema)}`),
    },
    {
      clock: options.clock,
      sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
      random: Math.random,
      hostname: 'preview',
      heartbeatIntervalMs: 10_000,
      tokenLocks: { identity: 'preview', timeoutMs: 0 },
      secretKey: options.secretKey,
      migrations: options.migrations,
    },
  );
  const dispose = async () => {
    try {
      await store.pool.query(`DROP SCHEMA IF EXISTS ${quoteIdentifier(schema)} CASCADE`);
    } finally {
      await store.close();
    }
  };
  try {
    const client = await store.pool.connect();
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
      await copyTables(client, source.schema, schema);
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    } finally {
      client.release();
    }
  } catch (error) {
    await dispose().catch(() => {});
    throw error;
  }
  return { store, dispose };
}

async function copyTables(client: pg.ClientBase, from: string, to: string): Promise<void> {
  const { rows: tables } = await client.query<{ table: string }>(
    `SELECT t.tablename AS table FROM pg_tables t
     WHERE t.schemaname = $1 AND t.tablename <> 'schema_migrations'
       AND EXISTS (SELECT 1 FROM pg_tables s WHERE s.schemaname = $2 AND s.tablename = t.tablename)`,
    [from, to],
  );
  if (tables.length === 0) return;
  const ordered = await referencedFirst(
    client,
    to,
    tables.map((row) => row.table),
  );
  const target = (table: string) => `${quoteIdentifier(to)}.${quoteIdentifier(table)}`;
  await client.query(`TRUNCATE ${ordered.map(target).join(', ')}`);
  for (const table of ordered) {
    const { rows: columns } = await client.query<{ column: string }>(
      `SELECT t.column_name AS column FROM information_schema.columns t
       JOIN information_schema.columns s ON s.table_schema = $1 AND s.table_name = t.table_name
         AND s.column_name = t.column_name
       WHERE t.table_schema = $2 AND t.table_name = $3 AND t.is_generated = 'NEVER'
       ORDER BY t.ordinal_position`,
      [from, to, table],
    );
    const list = columns.map((row) => quoteIdentifier(row.column)).join(', ');
    await client.query(`ALTER TABLE ${target(table)} DISABLE TRIGGER USER`);
    await client.query(
      `INSERT INTO ${target(table)} (${list}) OVERRIDING SYSTEM VALUE
       SELECT ${list} FROM ${quoteIdentifier(from)}.${quoteIdentifier(table)}`,
    );
    await client.query(`ALTER TABLE ${target(table)} ENABLE TRIGGER USER`);
  }
  const { rows: sequenced } = await client.query<{ table: string; column: string }>(
    `SELECT table_name AS table, column_name AS column FROM information_schema.columns
     WHERE table_schema = $1 AND (is_identity = 'YES' OR column_default LIKE 'nextval(%')`,
    [to],
  );
  for (const { table, column } of sequenced) {
    await client.query(
      `SELECT setval(pg_get_serial_sequence($1, $2), COALESCE(MAX(${quoteIdentifier(column)}), 0) + 1, false)
       FROM ${target(table)}`,
      [target(table), column],
    );
  }
}

/** `tables` ordered so that a table comes after every table its foreign keys refer to. */
async function referencedFirst(client: pg.ClientBase, schema: string, tables: string[]): Promise<string[]> {
  const { rows } = await client.query<{ child: string; parent: string }>(
    `SELECT c.relname AS child, p.relname AS parent FROM pg_constraint k
     JOIN pg_class c ON c.oid = k.conrelid JOIN pg_class p ON p.oid = k.confrelid
     JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE k.contype = 'f' AND n.nspname = $1 AND c.oid <> p.oid`,
    [schema],
  );
  const ordered: string[] = [];
  const visit = (table: string, path: Set<string>) => {
    if (ordered.includes(table) || path.has(table) || !tables.includes(table)) return;
    path.add(table);
    for (const edge of rows) if (edge.child === table) visit(edge.parent, path);
    ordered.push(table);
  };
  for (const table of tables) visit(table, new Set());
  return ordered;
}
