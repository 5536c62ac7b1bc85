import type { ResourceRow } from '../resource-rows';
import { secretAad, tokensAad } from '../secret-aad';
import type { ConnectionSecretName } from '../secret-store';
import type {
  ControlPlaneContents,
  ControlPlaneRecords,
  ControlPlaneTransfer,
  TransferredResource,
  TransferredRun,
} from '../state-transfer';
import type { SqliteEncryption } from './sqlite-encryption';
import type { SqliteDatabase } from './sqlite-migrations';
import type { SqliteStateContext } from './sqlite-state-context';
import { bumpStateSerial } from './sqlite-state-serial';

/**
 * {@link ControlPlaneTransfer} of a SQLite state. Transactions are opened by hand (BEGIN … COMMIT)
 * rather than with `db.transaction`, which cannot wait for the other state between chunks; nothing
 * else in the process uses this database meanwhile. In WAL mode a read transaction sees the state
 * as of its first read until it ends.
 */
export class SqliteStateTransfer implements ControlPlaneTransfer<SqliteDatabase> {
  constructor(
    private readonly context: SqliteStateContext,
    private readonly encryption: SqliteEncryption,
  ) {}

  reading<T>(work: (db: SqliteDatabase) => Promise<T>): Promise<T> {
    return this.inTransaction('BEGIN DEFERRED', work);
  }

  writing<T>(work: (db: SqliteDatabase) => Promise<T>): Promise<T> {
    return this.inTransaction('BEGIN IMMEDIATE', work);
  }

  async contents(db: SqliteDatabase): Promise<ControlPlaneContents> {
    const count = (table: string) =>
      (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
    const unfinished = db
      .prepare(`SELECT id, destination, status FROM runs WHERE status IN ('running', 'paused') ORDER BY id`)
      .all() as { id: number; destination: string; status: string }[];
    return {
      resources: count('resources'),
      secrets: count('connection_secrets'),
      tokens: count('oauth_tokens'),
      runs: count('runs'),
      unfinishedRuns: unfinished,
    };
  }

  async *read(db: SqliteDatabase, chunkSize: number): AsyncIterable<ControlPlaneRecords> {
    for (const rows of pages<SqliteResourceRow>(
      db,
      `SELECT * FROM resources WHERE (kind, name) > (?, ?) ORDER BY kind, name LIMIT ${chunkSize}`,
      (row) => [row.kind, row.name],
      ['', ''],
    )) {
      yield { kind: 'resources', rows: rows.map(toResource) };
    }
    for (const rows of pages<{
      connection: string;
      name: string;
      ciphertext: Uint8Array;
      updated_at: number;
    }>(
      db,
      `SELECT connection, name, ciphertext, updated_at FROM connection_secrets
       WHERE (connection, name) > (?, ?) ORDER BY connection, name LIMIT ${chunkSize}`,
      (row) => [row.connection, row.name],
      ['', ''],
    )) {
      yield {
        kind: 'secrets',
        rows: rows.map((row) => ({
          connection: row.connection,
          name: row.name as ConnectionSecretName,
          value: this.encryption.decrypt(
            row.ciphertext,
            secretAad(row.connection, row.name as ConnectionSecretName),
          ),
          updatedAt: row.updated_at,
        })),
      };
    }
    for (const rows of pages<{
      connection: string;
      ciphertext: Uint8Array;
      bootstrap_fingerprint: string;
      updated_at: number;
      saved_at: number;
    }>(
      db,
      `SELECT * FROM oauth_tokens WHERE connection > ? ORDER BY connection LIMIT ${chunkSize}`,
      (row) => [row.connection],
      [''],
    )) {
      yield {
        kind: 'tokens',
        rows: rows.map((row) => ({
          connection: row.connection,
          secrets: this.encryption.decrypt(row.ciphertext, tokensAad(row.connection)),
          bootstrapFingerprint: row.bootstrap_fingerprint,
          updatedAt: row.updated_at,
          savedAt: row.saved_at,
        })),
      };
    }
    for (const rows of pages<RunColumns>(
      db,
      `SELECT * FROM runs WHERE id > ? ORDER BY id LIMIT ${chunkSize}`,
      (row) => [row.id],
      [0],
    )) {
      yield { kind: 'runs', rows: rows.map(toRun) };
    }
  }

  async clear(db: SqliteDatabase): Promise<void> {
    db.exec(
      'DELETE FROM resources; DELETE FROM connection_secrets; DELETE FROM oauth_tokens; DELETE FROM runs;',
    );
  }

  async write(db: SqliteDatabase, records: ControlPlaneRecords): Promise<void> {
    switch (records.kind) {
      case 'resources': {
        const insert = db.prepare(
          `INSERT INTO resources (kind, name, owner, owner_stack, spec, spec_hash, generation, conditions,
             remote_facts, remote_facts_read_at, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        );
        for (const r of records.rows) {
          insert.run(
            r.kind,
            r.name,
            r.owner,
            r.ownerStack,
            r.spec,
            r.specHash,
            r.generation,
            r.conditions,
            r.remoteFacts,
            r.remoteFactsReadAt,
            r.createdAt,
            r.updatedAt,
          );
        }
        return;
      }
      case 'secrets': {
        const cipher = this.encryption.load();
        this.encryption.recordKeyCheck(cipher);
        const insert = db.prepare(
          `INSERT INTO connection_secrets (connection, name, ciphertext, fingerprint, updated_at)
           VALUES (?, ?, ?, ?, ?)`,
        );
        for (const s of records.rows) {
          insert.run(
            s.connection,
            s.name,
            cipher.encrypt(s.value, secretAad(s.connection, s.name)),
            cipher.fingerprint(s.value),
            s.updatedAt,
          );
        }
        return;
      }
      case 'tokens': {
        const cipher = this.encryption.load();
        this.encryption.recordKeyCheck(cipher);
        const insert = db.prepare(
          `INSERT INTO oauth_tokens (connection, ciphertext, bootstrap_fingerprint, updated_at, saved_at)
           VALUES (?, ?, ?, ?, ?)`,
        );
        for (const t of records.rows) {
          insert.run(
            t.connection,
            cipher.encrypt(t.secrets, tokensAad(t.connection)),
            t.bootstrapFingerprint,
            t.updatedAt,
            t.savedAt,
          );
        }
        return;
      }
      case 'runs': {
        // An explicit id also moves sqlite_sequence, so later runs get larger ids.
        const insert = db.prepare(
          `INSERT INTO runs (id, destination, trigger_kind, actor, status, started_at, finished_at, git_commit, record)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        );
        for (const r of records.rows) {
          insert.run(
            r.id,
            r.destination,
            r.trigger,
            r.actor,
            r.status,
            r.startedAt,
            r.finishedAt,
            r.gitCommit,
            r.record,
          );
        }
        return;
      }
    }
  }

  async finish(db: SqliteDatabase): Promise<void> {
    bumpStateSerial(db);
  }

  private async inTransaction<T>(begin: string, work: (db: SqliteDatabase) => Promise<T>): Promise<T> {
    const db = this.context.database();
    db.exec(begin);
    try {
      const result = await work(db);
      db.exec('COMMIT');
      return result;
    } catch (error) {
      if (db.inTransaction) db.exec('ROLLBACK');
      throw error;
    }
  }
}

/** A `resources` row as SQLite gives it: times are numbers. */
type SqliteResourceRow = ResourceRow & {
  remote_facts_read_at: number | null;
  created_at: number;
  updated_at: number;
};

interface RunColumns {
  id: number;
  destination: string;
  trigger_kind: string;
  actor: string | null;
  status: string;
  started_at: number;
  finished_at: number | null;
  git_commit: string | null;
  record: string;
}

function toResource(row: SqliteResourceRow): TransferredResource {
  return {
    kind: row.kind,
    name: row.name,
    owner: row.owner,
    ownerStack: row.owner_stack,
    spec: row.spec,
    specHash: row.spec_hash,
    generation: row.generation,
    conditions: row.conditions,
    remoteFacts: row.remote_facts,
    remoteFactsReadAt: row.remote_facts_read_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function toRun(row: RunColumns): TransferredRun {
  return {
    id: row.id,
    destination: row.destination,
    trigger: row.trigger_kind,
    actor: row.actor,
    status: row.status,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    gitCommit: row.git_commit,
    record: row.record,
  };
}

/**
 * The rows of `sql` page by page, each page after the key of the last row (`key`), starting after
 * `first`: no statement stays open between pages (the caller awaits the other state meanwhile).
 */
function* pages<R>(
  db: SqliteDatabase,
  sql: string,
  key: (row: R) => unknown[],
  first: unknown[],
): Generator<R[]> {
  const statement = db.prepare(sql);
  let after = first;
  for (;;) {
    const rows = statement.all(...after) as R[];
    if (rows.length === 0) return;
    yield rows;
    after = key(rows[rows.length - 1] as R);
  }
}
