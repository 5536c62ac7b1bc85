import pg from 'pg';
import { afterAll, afterEach } from 'vitest';
import { PostgresRunStore, runEnginePostgresMigrations } from '../../src/engine/postgres';
import { type PostgresServer, startPostgresServer } from './postgres-server';

/**
 * PostgreSQL run stores for tests: one real server per test file (started on first use, stopped
 * after the file), a fresh schema per store, its pool closed after the current test.
 */
export interface PostgresRunStores {
  /** A migrated, empty store in a schema of its own, and the pool it uses. */
  open(options?: { now?: () => number }): Promise<{ store: PostgresRunStore; pool: pg.Pool; schema: string }>;
  /** The server (started if need be). */
  server(): Promise<PostgresServer>;
}

let started: Promise<PostgresServer> | undefined;
let schemas = 0;
const pools: pg.Pool[] = [];

afterEach(async () => {
  await Promise.all(pools.splice(0).map((pool) => pool.end()));
});
afterAll(async () => {
  const server = started;
  started = undefined;
  if (server !== undefined) await (await server).dispose();
});

/**
 * The control plane's `resources` table as the state has it (src/state/sqlite/control-plane-migrations.ts),
 * for the engine's trigger to hang on: the PostgreSQL control plane's own migrations create it in a
 * real state.
 */
const resourcesTable = `
  CREATE TABLE resources (
    kind text NOT NULL,
    name text NOT NULL,
    owner text NOT NULL CHECK (owner IN ('exportctl', 'pulumi')),
    spec text NOT NULL,
    spec_hash text NOT NULL,
    generation integer NOT NULL CHECK (generation >= 1),
    conditions text NOT NULL DEFAULT '[]',
    remote_facts text,
    remote_facts_read_at bigint,
    created_at bigint NOT NULL,
    updated_at bigint NOT NULL,
    PRIMARY KEY (kind, name)
  )`;

export const postgresRunStores: PostgresRunStores = {
  server() {
    started ??= startPostgresServer();
    return started;
  },
  async open(options = {}) {
    const server = await this.server();
    schemas += 1;
    const schema = `run_store_${process.pid}_${schemas}`;
    const admin = new pg.Client({ connectionString: server.url() });
    await admin.connect();
    try {
      await admin.query(`CREATE SCHEMA ${schema}`);
    } finally {
      await admin.end();
    }
    const pool = new pg.Pool({ connectionString: server.url(), options: `-c search_path=${schema}`, max: 8 });
    pools.push(pool);
    // An idle connection cut by a server restart: the pool drops it (the next query connects again).
    pool.on('error', () => undefined);
    const client = await pool.connect();
    try {
      await client.query(resourcesTable);
      // As the state's migrator runs them: each in its own transaction.
      for (const migration of runEnginePostgresMigrations) {
        await client.query('BEGIN');
        await migration.up(client);
        await client.query('COMMIT');
      }
    } finally {
      client.release();
    }
    return { store: new PostgresRunStore({ pool, now: options.now ?? Date.now }), pool, schema };
  },
};
