import type pg from 'pg';
import type { ResourceRow } from '../resource-rows';
import { secretAad, tokensAad } from '../secret-aad';
import type { ConnectionSecretName } from '../secret-store';
import type { ControlPlaneContents, ControlPlaneRecords, ControlPlaneTransfer } from '../state-transfer';
import { isConnectionError } from './postgres-connection';
import type { PostgresEncryption } from './postgres-encryption';
import type { PostgresStateContext } from './postgres-state-context';
import { bumpStateSerial } from './postgres-state-serial';

/**
 * {@link ControlPlaneTransfer} of a PostgreSQL state. A read is one REPEATABLE READ transaction
 * (one moment of the state, whatever commits meanwhile); a write is one transaction holding the
 * serial row, as every change of what a plan reads does. Chunks are written with one statement
 * each (arrays unnested), not a statement per row.
 */
export class PostgresStateTransfer implements ControlPlaneTransfer<pg.ClientBase> {
  constructor(
    private readonly context: PostgresStateContext,
    private readonly encryption: PostgresEncryption,
  ) {}

  async reading<T>(work: (client: pg.ClientBase) => Promise<T>): Promise<T> {
    const client = await this.context.reachable(() => this.context.pool().connect());
    let broken: Error | undefined;
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      if (isConnectionError(error)) broken = error as Error;
      throw error;
    } finally {
      client.release(broken);
    }
  }

  writing<T>(work: (client: pg.ClientBase) => Promise<T>): Promise<T> {
    return this.context.transaction(work);
  }

  async contents(client: pg.ClientBase): Promise<ControlPlaneContents> {
    const { rows } = await client.query<Record<'resources' | 'secrets' | 'tokens' | 'runs', string>>(
      `SELECT (SELECT count(*) FROM resources) AS resources,
              (SELECT count(*) FROM connection_secrets) AS secrets,
              (SELECT count(*) FROM oauth_tokens) AS tokens,
              (SELECT count(*) FROM runs) AS runs`,
    );
    const counts = rows[0] as Record<'resources' | 'secrets' | 'tokens' | 'runs', string>;
    const unfinished = await client.query<{ id: string; destination: string; status: string }>(
      `SELECT id, destination, status FROM runs WHERE status IN ('running', 'paused') ORDER BY id`,
    );
    return {
      resources: Number(counts.resources),
      secrets: Number(counts.secrets),
      tokens: Number(counts.tokens),
      runs: Number(counts.runs),
      unfinishedRuns: unfinished.rows.map((row) => ({ ...row, id: Number(row.id) })),
    };
  }

  async *read(client: pg.ClientBase, chunkSize: number): AsyncIterable<ControlPlaneRecords> {
    for await (const rows of pages<ResourceRow>(
      client,
      `SELECT * FROM resources WHERE (kind COLLATE "C", name COLLATE "C") > ($1, $2)
       ORDER BY kind COLLATE "C", name COLLATE "C" LIMIT ${chunkSize}`,
      (row) => [row.kind, row.name],
      ['', ''],
    )) {
      yield {
        kind: 'resources',
        rows: rows.map((row) => ({
          kind: row.kind,
          name: row.name,
          owner: row.owner,
          ownerStack: row.owner_stack,
          spec: row.spec,
          specHash: row.spec_hash,
          generation: row.generation,
          conditions: row.conditions,
          remoteFacts: row.remote_facts,
          remoteFactsReadAt: row.remote_facts_read_at === null ? null : Number(row.remote_facts_read_at),
          createdAt: Number(row.created_at),
          updatedAt: Number(row.updated_at),
        })),
      };
    }
    for await (const rows of pages<{
      connection: string;
      name: string;
      ciphertext: Buffer;
      updated_at: string;
    }>(
      client,
      `SELECT connection, name, ciphertext, updated_at FROM connection_secrets
       WHERE (connection COLLATE "C", name COLLATE "C") > ($1, $2)
       ORDER BY connection COLLATE "C", name COLLATE "C" LIMIT ${chunkSize}`,
      (row) => [row.connection, row.name],
      ['', ''],
    )) {
      const secrets = [];
      for (const row of rows) {
        const name = row.name as ConnectionSecretName;
        secrets.push({
          connection: row.connection,
          name,
          value: await this.encryption.decrypt(row.ciphertext, secretAad(row.connection, name)),
          updatedAt: Number(row.updated_at),
        });
      }
      yield { kind: 'secrets', rows: secrets };
    }
    for await (const rows of pages<{
      connection: string;
      ciphertext: Buffer;
      bootstrap_fingerprint: string;
      updated_at: string;
      saved_at: string;
    }>(
      client,
      `SELECT * FROM oauth_tokens WHERE connection COLLATE "C" > $1
       ORDER BY connection COLLATE "C" LIMIT ${chunkSize}`,
      (row) => [row.connection],
      [''],
    )) {
      const tokens = [];
      for (const row of rows) {
        tokens.push({
          connection: row.connection,
          secrets: await this.encryption.decrypt(row.ciphertext, tokensAad(row.connection)),
          bootstrapFingerprint: row.bootstrap_fingerprint,
          updatedAt: Number(row.updated_at),
          savedAt: Number(row.saved_at),
        });
      }
      yield { kind: 'tokens', rows: tokens };
    }
    for await (const rows of pages<{
      id: string;
      destination: string;
      trigger_kind: string;
      actor: string | null;
      status: string;
      started_at: string;
      finished_at: string | null;
      git_commit: string | null;
      record: string;
    }>(client, `SELECT * FROM runs WHERE id > $1 ORDER BY id LIMIT ${chunkSize}`, (row) => [row.id], [0])) {
      yield {
        kind: 'runs',
        rows: rows.map((row) => ({
          id: Number(row.id),
          destination: row.destination,
          trigger: row.trigger_kind,
          actor: row.actor,
          status: row.status,
          startedAt: Number(row.started_at),
          finishedAt: row.finished_at === null ? null : Number(row.finished_at),
          gitCommit: row.git_commit,
          record: row.record,
        })),
      };
    }
  }

  async clear(client: pg.ClientBase): Promise<void> {
    // DELETE, not TRUNCATE: the run engine's triggers on resources see each destination go.
    await client.query(
      'DELETE FROM resources; DELETE FROM connection_secrets; DELETE FROM oauth_tokens; DELETE FROM runs;',
    );
  }

  async write(client: pg.ClientBase, records: ControlPlaneRecords): Promise<void> {
    if (records.rows.length === 0) return;
    switch (records.kind) {
      case 'resources': {
        const r = records.rows;
        await client.query(
          `INSERT INTO resources (kind, name, owner, owner_stack, spec, spec_hash, generation, conditions,
             remote_facts, remote_facts_read_at, created_at, updated_at)
           SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
             $7::int[], $8::text[], $9::text[], $10::bigint[], $11::bigint[], $12::bigint[])`,
          [
            r.map((x) => x.kind),
            r.map((x) => x.name),
            r.map((x) => x.owner),
            r.map((x) => x.ownerStack),
            r.map((x) => x.spec),
            r.map((x) => x.specHash),
            r.map((x) => x.generation),
            r.map((x) => x.conditions),
            r.map((x) => x.remoteFacts),
            r.map((x) => x.remoteFactsReadAt),
            r.map((x) => x.createdAt),
            r.map((x) => x.updatedAt),
          ],
        );
        return;
      }
      case 'secrets': {
        const cipher = await this.encryption.load();
        await this.encryption.recordKeyCheck(client, cipher);
        const s = records.rows;
        await client.query(
          `INSERT INTO connection_secrets (connection, name, ciphertext, fingerprint, updated_at)
           SELECT * FROM unnest($1::text[], $2::text[], $3::bytea[], $4::text[], $5::bigint[])`,
          [
            s.map((x) => x.connection),
            s.map((x) => x.name),
            s.map((x) => cipher.encrypt(x.value, secretAad(x.connection, x.name))),
            s.map((x) => cipher.fingerprint(x.value)),
            s.map((x) => x.updatedAt),
          ],
        );
        return;
      }
      case 'tokens': {
        const cipher = await this.encryption.load();
        await this.encryption.recordKeyCheck(client, cipher);
        const t = records.rows;
        await client.query(
          `INSERT INTO oauth_tokens (connection, ciphertext, bootstrap_fingerprint, updated_at, saved_at)
           SELECT * FROM unnest($1::text[], $2::bytea[], $3::text[], $4::bigint[], $5::bigint[])`,
          [
            t.map((x) => x.connection),
            t.map((x) => cipher.encrypt(x.secrets, tokensAad(x.connection))),
            t.map((x) => x.bootstrapFingerprint),
            t.map((x) => x.updatedAt),
            t.map((x) => x.savedAt),
          ],
        );
        return;
      }
      case 'runs': {
        const r = records.rows;
        await client.query(
          `INSERT INTO runs (id, destination, trigger_kind, actor, status, started_at, finished_at, git_commit, record)
           SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[],
             $7::bigint[], $8::text[], $9::text[])`,
          [
            r.map((x) => x.id),
            r.map((x) => x.destination),
            r.map((x) => x.trigger),
            r.map((x) => x.actor),
            r.map((x) => x.status),
            r.map((x) => x.startedAt),
            r.map((x) => x.finishedAt),
            r.map((x) => x.gitCommit),
            r.map((x) => x.record),
          ],
        );
        return;
      }
    }
  }

  async finish(client: pg.ClientBase): Promise<void> {
    // The copied ids were given explicitly: the identity continues after the largest.
    await client.query(
      `SELECT setval(pg_get_serial_sequence('runs', 'id'), COALESCE(MAX(id), 0) + 1, false) FROM runs`,
    );
    await bumpStateSerial(client);
  }
}

/** The rows of `sql` page by page, each page after the key of the last row (keyset paging). */
async function* pages<R extends pg.QueryResultRow>(
  client: pg.ClientBase,
  sql: string,
  key: (row: R) => unknown[],
  first: unknown[],
): AsyncGenerator<R[]> {
  let after = first;
  for (;;) {
    const { rows } = await client.query<R>(sql, after);
    if (rows.length === 0) return;
    yield rows;
    after = key(rows[rows.length - 1] as R);
  }
}
