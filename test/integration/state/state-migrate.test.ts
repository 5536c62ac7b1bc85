import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeSnapshotBucket, SnapshotBucketChanges } from '../../../src/engine/snapshot-buckets';
import { joinFingerprint, splitFingerprint } from '../../../src/engine/snapshot-fingerprint';
import { applySnapshotChanges } from '../../../src/engine/sqlite/sqlite-snapshot-buckets';
import type { PostgresStateStore, SqliteStateStore, StateStore } from '../../../src/state';
import { migrateState, openExportctlState } from '../../../src/wiring';
import { type PostgresServer, startPostgresServer } from '../../support/postgres-server';
import { tempFolder } from '../../support/temp-folder';

let server: PostgresServer;
let database: string;

beforeAll(async () => {
  server = await startPostgresServer();
  database = await server.createDatabase('state_migrate');
}, 60_000);

afterAll(async () => {
  await server?.dispose();
});

const schema = () => `migrate_${randomBytes(4).toString('hex')}`;
const keyA = randomBytes(32).toString('base64');
const keyB = randomBytes(32).toString('base64');
/** More than one chunk of the copy (10,000 rows), fingerprints spanning the whole signed 64 bits. */
const SNAPSHOT_ROWS = 25_003;

const open = (url: string, env: NodeJS.ProcessEnv, cwd: string) => openExportctlState(url, { cwd, env });

/** A state with something of every kind a migration moves, written through the stores' own APIs where they have one. */
async function fill(store: SqliteStateStore): Promise<void> {
  await store.resources.put({
    kind: 'Connection',
    name: 'marketing-cc',
    owner: 'exportctl',
    spec: { auth: { clientId: 'id' } },
  });
  await store.resources.put({
    kind: 'ExportDestination',
    name: 'vip',
    owner: 'exportctl',
    spec: { list: 'VIP' },
  });
  await store.secrets.put('marketing-cc', 'clientSecret', 'the-client-secret');
  await store.secrets.put('marketing-cc', 'refreshToken', 'the-bootstrap-token');
  await store.tokens.forConnection('marketing-cc').save({
    refreshToken: 'rotated-refresh',
    accessToken: 'access-1',
    accessTokenExpiresAt: 1_900_000_000_000,
    bootstrapFingerprint: 'sha256:abc',
    updatedAt: 1_800_000_000_000,
  });
  const first = await store.runs.start({ destination: 'vip', trigger: 'manual', actor: 'ops@example.com' });
  await store.runs.finish(first.id, { status: 'succeeded', record: { counts: { imported: 3 } } });
  const second = await store.runs.start({ destination: 'vip', trigger: 'schedule' });
  await store.runs.finish(second.id, { status: 'failed' });
  const db = store.sqlite;
  const snapshot = new SnapshotBucketChanges('vip');
  for (let i = 0; i < SNAPSHOT_ROWS; i++) {
    const [hi, lo] = splitFingerprint(BigInt.asIntN(64, BigInt(i) * 0x9e3779b97f4a7c15n));
    snapshot.put(`p${String(i).padStart(6, '0')}@example.com`, hi, lo, i % 2 === 0 ? first.id : 0);
  }
  db.transaction(() => applySnapshotChanges(db, snapshot))();
  db.exec(`
    INSERT INTO export_snapshot_revisions (destination, revision) VALUES ('vip', 41), ('gone', 40);
    INSERT INTO export_unchanged_marks (destination, mark, revision) VALUES ('vip', 'mark-1', 41);
    INSERT INTO export_list_baselines (destination, list_id, membership_count, observed_at) VALUES ('vip', 'list-1', 12500, 1700000000000);
    INSERT INTO export_claimed_activities (activity_id, claimed_at) VALUES ('act-1', 1700000000001), ('act-2', 1700000000002);
  `);
  db.prepare('INSERT INTO export_row_issue_runs (run_id, destination, issues) VALUES (?, ?, ?)').run(
    first.id,
    'vip',
    7,
  );
  const chunk = db.prepare(
    'INSERT INTO export_row_issues (run_id, first_seq, issues, lines) VALUES (?, ?, ?, ?)',
  );
  chunk.run(first.id, 0, 5, Buffer.from([1, 2, 3, 250]));
  chunk.run(first.id, 5, 2, randomBytes(300));
}

/** Everything a migration must carry, in a form both backends give alike. */
async function contents(store: StateStore): Promise<unknown> {
  const engine = await engineRows(store);
  const describe = await store.secrets.describe('marketing-cc');
  return {
    resources: (await store.resources.list()).map((r) => [r.kind, r.name, r.owner, r.spec, r.generation]),
    secrets: [
      await store.secrets.get('marketing-cc', 'clientSecret'),
      await store.secrets.get('marketing-cc', 'refreshToken'),
    ],
    // A secret's fingerprint is keyed: it must be the target key's (what a plan compares with).
    fingerprints: describe.map((item) => item.fingerprint),
    fingerprintsMatchKey: [
      describe[0]?.fingerprint === (await store.secrets.fingerprint('the-client-secret')),
      describe[1]?.fingerprint === (await store.secrets.fingerprint('the-bootstrap-token')),
    ],
    tokens: await store.tokens.forConnection('marketing-cc').load(),
    runs: (await store.runs.list()).map((run) => [
      run.id,
      run.destination,
      run.status,
      run.actor,
      run.record,
    ]),
    ...engine,
  };
}

async function engineRows(store: StateStore): Promise<Record<string, unknown>> {
  if (store.backend === 'sqlite') {
    const db = (store as SqliteStateStore).sqlite;
    const all = (sql: string) => db.prepare(sql).raw().safeIntegers(true).all() as unknown[][];
    return normalise({
      snapshots: sqliteSnapshotRows(db),
      revisions: all('SELECT destination, revision FROM export_snapshot_revisions ORDER BY destination'),
      marks: all('SELECT destination, mark, revision FROM export_unchanged_marks ORDER BY destination'),
      baselines: all('SELECT * FROM export_list_baselines ORDER BY destination'),
      claimed: all('SELECT activity_id, claimed_at FROM export_claimed_activities ORDER BY activity_id'),
      issueRuns: all('SELECT run_id, destination, issues FROM export_row_issue_runs ORDER BY run_id'),
      issues: all(
        'SELECT run_id, first_seq, issues, lines FROM export_row_issues ORDER BY run_id, first_seq',
      ),
    });
  }
  const pool = (store as PostgresStateStore).pool;
  const all = async (sql: string) => (await pool.query({ text: sql, rowMode: 'array' })).rows as unknown[][];
  return normalise({
    snapshots: snapshotRowsOf(
      (await all('SELECT destination, data FROM export_snapshot_buckets')) as [string, Buffer][],
    ),
    revisions: await all(
      'SELECT destination, revision FROM export_snapshot_revisions ORDER BY destination COLLATE "C"',
    ),
    marks: await all(
      'SELECT destination, mark, revision FROM export_unchanged_marks ORDER BY destination COLLATE "C"',
    ),
    baselines: await all('SELECT * FROM export_list_baselines ORDER BY destination COLLATE "C"'),
    claimed: await all(
      'SELECT activity_id, claimed_at FROM export_claimed_activities ORDER BY activity_id COLLATE "C"',
    ),
    issueRuns: await all('SELECT run_id, destination, issues FROM export_row_issue_runs ORDER BY run_id'),
    issues: await all(
      'SELECT run_id, first_seq, issues, lines FROM export_row_issues ORDER BY run_id, first_seq',
    ),
  });
}

/** The snapshots of a SQLite state as rows, in (destination, email) order. */
function sqliteSnapshotRows(db: SqliteStateStore['sqlite']): unknown[][] {
  return snapshotRowsOf(
    db.prepare('SELECT destination, data FROM export_snapshot_buckets').raw().all() as [string, Buffer][],
  );
}

/** The members of stored buckets as rows, in destination and email order (code points). */
function snapshotRowsOf(buckets: readonly [string, Buffer][]): unknown[][] {
  const rows: [string, string, bigint, number][] = [];
  for (const [destination, data] of buckets) {
    const members = decodeSnapshotBucket(data);
    members.keys.forEach((key, index) => {
      rows.push([
        destination,
        key,
        joinFingerprint(members.hi[index] as number, members.lo[index] as number),
        members.runs[index] as number,
      ]);
    });
  }
  const order = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return rows.sort((a, b) => order(a[0], b[0]) || order(a[1], b[1]));
}

/** Numbers, BigInts and numeric strings as strings, bytes as hex: the two drivers' types differ. */
function normalise(tables: Record<string, unknown[][]>): Record<string, string[][]> {
  const cell = (value: unknown) =>
    Buffer.isBuffer(value) || value instanceof Uint8Array
      ? Buffer.from(value).toString('hex')
      : String(value);
  return Object.fromEntries(
    Object.entries(tables).map(([name, rows]) => [name, rows.map((row) => row.map(cell))]),
  );
}

describe('migrateState between SQLite and PostgreSQL', () => {
  it('copies every kind of record SQLite → PostgreSQL → SQLite, secrets re-encrypted with each target key', async () => {
    const home = tempFolder();
    const sqliteUrl = `sqlite:${join(home, 'a', 'state.db')}`;
    // The SQLite source keeps its key in its key file (made on first use), as the default does.
    const source = (await open(sqliteUrl, {}, home)) as SqliteStateStore;
    await fill(source);
    const expected = await contents(source);
    await source.close();
    expect(existsSync(join(home, 'a', 'secret.key'))).toBe(true);

    // Into PostgreSQL: EXPORTCTL_SECRET_KEY is the target's; the source's key file is used for it.
    const pgUrl = server.url({ database, schema: schema() });
    const toPg = await migrateState({
      from: sqliteUrl,
      to: pgUrl,
      cwd: home,
      env: { EXPORTCTL_SECRET_KEY: keyB },
      actor: 'ops@example.com',
    });
    expect(toPg.copied).toEqual({
      resources: 2,
      secrets: 2,
      tokens: 1,
      runs: 2,
      snapshotRows: SNAPSHOT_ROWS,
      snapshotDestinations: 1,
      rowIssueRuns: 1,
      rowIssues: 7,
    });
    expect(toPg.to).not.toContain(server.password);
    const onPg = await open(pgUrl, { EXPORTCTL_SECRET_KEY: keyB }, home);
    try {
      expect(await contents(onPg)).toEqual({ ...(expected as object), fingerprints: expect.any(Array) });
      // Ids and revisions continue after the copied ones.
      expect((await onPg.runs.start({ destination: 'vip', trigger: 'manual' })).id).toBe(3);
      const next = await (onPg as PostgresStateStore).pool.query<{ n: string }>(
        `SELECT nextval('export_snapshot_revision') AS n`,
      );
      expect(Number(next.rows[0]?.n)).toBe(42);
    } finally {
      await onPg.close();
    }
    // The key is the target's: another one is refused.
    const wrongKey = await open(pgUrl, { EXPORTCTL_SECRET_KEY: keyA }, home);
    await expect(wrongKey.secrets.get('marketing-cc', 'clientSecret')).rejects.toMatchObject({
      code: 'secret-key-mismatch',
    });
    await wrongKey.close();

    // And back into a new SQLite file: the source key is EXPORTCTL_FROM_SECRET_KEY, the target
    // (without EXPORTCTL_SECRET_KEY) gets a key file of its own.
    const backUrl = `sqlite:${join(home, 'b', 'state.db')}`;
    const drop = await open(pgUrl, { EXPORTCTL_SECRET_KEY: keyB }, home);
    const [run3] = await drop.runs.list({ limit: 1 });
    await drop.runs.finish(run3?.id ?? 0, { status: 'succeeded' });
    await drop.close();
    const back = await migrateState({
      from: pgUrl,
      to: backUrl,
      cwd: home,
      env: { EXPORTCTL_FROM_SECRET_KEY: keyB },
      actor: 'ops@example.com',
    });
    expect(back.copied).toMatchObject({
      runs: 3,
      snapshotRows: SNAPSHOT_ROWS,
      secrets: 2,
      tokens: 1,
      rowIssues: 7,
    });
    expect(existsSync(join(home, 'b', 'secret.key'))).toBe(true);
    const onSqlite = await open(backUrl, {}, home);
    try {
      const got = (await contents(onSqlite)) as { runs: unknown[] };
      expect({ ...got, runs: got.runs.slice(1) }).toEqual({
        ...(expected as object),
        fingerprints: expect.any(Array),
      });
      expect((await onSqlite.runs.start({ destination: 'vip', trigger: 'manual' })).id).toBe(4);
    } finally {
      await onSqlite.close();
    }
  }, 120_000);

  it('copies PostgreSQL → PostgreSQL between schemas, and refuses a non-empty target, writing nothing', async () => {
    const home = tempFolder();
    const sqliteUrl = `sqlite:${join(home, 'state.db')}`;
    const seed = (await open(sqliteUrl, { EXPORTCTL_SECRET_KEY: keyA }, home)) as SqliteStateStore;
    await fill(seed);
    const expected = await contents(seed);
    await seed.close();
    const first = server.url({ database, schema: schema() });
    await migrateState({
      from: sqliteUrl,
      to: first,
      cwd: home,
      env: { EXPORTCTL_SECRET_KEY: keyA },
      actor: 'ops',
    });
    const second = server.url({ database, schema: schema() });
    const copy = await migrateState({
      from: first,
      to: second,
      cwd: home,
      env: { EXPORTCTL_SECRET_KEY: keyA },
      actor: 'ops',
    });
    expect(copy.copied.snapshotRows).toBe(SNAPSHOT_ROWS);
    const onSecond = await open(second, { EXPORTCTL_SECRET_KEY: keyA }, home);
    expect(await contents(onSecond)).toEqual(expected);
    await onSecond.close();

    await expect(
      migrateState({
        from: sqliteUrl,
        to: second,
        cwd: home,
        env: { EXPORTCTL_SECRET_KEY: keyA },
        actor: 'ops',
      }),
    ).rejects.toMatchObject({ code: 'state-migrate-refused' });
    // --force replaces it: the same contents, not twice the rows.
    const forced = await migrateState({
      from: sqliteUrl,
      to: second,
      force: true,
      cwd: home,
      env: { EXPORTCTL_SECRET_KEY: keyA },
      actor: 'ops',
    });
    expect(forced.replaced).toBe(true);
    const replaced = await open(second, { EXPORTCTL_SECRET_KEY: keyA }, home);
    expect(await contents(replaced)).toEqual(expected);
    await replaced.close();
  }, 120_000);

  it('refuses a source with a checkpoint (a run in flight), naming its destination and run', async () => {
    const home = tempFolder();
    const sqliteUrl = `sqlite:${join(home, 'state.db')}`;
    const seed = (await open(sqliteUrl, {}, home)) as SqliteStateStore;
    await fill(seed);
    seed.sqlite
      .prepare(
        `INSERT INTO export_checkpoints (run_id, destination, list_id, phase, created_at, updated_at)
         VALUES (2, 'vip', 'list-1', 'importing', 1, 1)`,
      )
      .run();
    await seed.close();
    const target = server.url({ database, schema: schema() });
    await expect(
      migrateState({
        from: sqliteUrl,
        to: target,
        cwd: home,
        env: { EXPORTCTL_SECRET_KEY: keyB },
        actor: 'ops',
      }),
    ).rejects.toMatchObject({
      code: 'state-migrate-refused',
      message: expect.stringContaining('ExportDestination/vip run 2 (in its importing phase)'),
    });
    const empty = await open(target, { EXPORTCTL_SECRET_KEY: keyB }, home);
    expect(await empty.resources.list()).toEqual([]);
    await empty.close();
  }, 60_000);

  it('writes nothing when the copy fails part way (one transaction), and refuses a missing or empty source', async () => {
    const home = tempFolder();
    const sqliteUrl = `sqlite:${join(home, 'state.db')}`;
    const seed = (await open(sqliteUrl, {}, home)) as SqliteStateStore;
    await fill(seed);
    await seed.close();
    const targetSchema = schema();
    const target = server.url({ database, schema: targetSchema });
    // The last kind copied fails on the target, after every other chunk was written.
    server.psql(
      `CREATE SCHEMA ${targetSchema};
       CREATE FUNCTION ${targetSchema}.refuse() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'disk full (test)'; END; $$;`,
      database,
    );
    const made = await open(target, { EXPORTCTL_SECRET_KEY: keyB }, home);
    await (made as PostgresStateStore).pool.query(
      `CREATE TRIGGER refuse BEFORE INSERT ON export_row_issues FOR EACH ROW EXECUTE FUNCTION ${targetSchema}.refuse()`,
    );
    await made.close();
    await expect(
      migrateState({
        from: sqliteUrl,
        to: target,
        cwd: home,
        env: { EXPORTCTL_SECRET_KEY: keyB },
        actor: 'ops',
      }),
    ).rejects.toThrow('disk full (test)');
    const after = await open(target, { EXPORTCTL_SECRET_KEY: keyB }, home);
    try {
      expect(await engineRows(after)).toMatchObject({ snapshots: [], issueRuns: [] });
      expect([await after.resources.list(), await after.runs.list()]).toEqual([[], []]);
      expect(await after.secrets.describe('marketing-cc')).toEqual([]);
    } finally {
      await after.close();
    }

    // A wrong source key: the fix named is the source's own variable.
    await expect(
      migrateState({
        from: sqliteUrl,
        to: server.url({ database, schema: schema() }),
        cwd: home,
        env: { EXPORTCTL_SECRET_KEY: keyB, EXPORTCTL_FROM_SECRET_KEY: keyA },
        actor: 'ops',
      }),
    ).rejects.toMatchObject({
      code: 'secret-key-mismatch',
      message: expect.stringContaining(
        'was encrypted with another key than the one tried (from the environment)',
      ),
      hint: expect.stringContaining('set EXPORTCTL_FROM_SECRET_KEY'),
    });
    await expect(
      migrateState({
        from: `sqlite:${join(home, 'nowhere', 'state.db')}`,
        to: target,
        cwd: home,
        env: { EXPORTCTL_SECRET_KEY: keyB },
        actor: 'ops',
      }),
    ).rejects.toMatchObject({
      code: 'state-migrate-refused',
      message: expect.stringContaining('there is no state at'),
    });
    expect(existsSync(join(home, 'nowhere'))).toBe(false);
    const emptyUrl = server.url({ database, schema: schema() });
    await expect(
      migrateState({
        from: emptyUrl,
        to: target,
        cwd: home,
        env: { EXPORTCTL_SECRET_KEY: keyB },
        actor: 'ops',
      }),
    ).rejects.toMatchObject({
      code: 'state-migrate-refused',
      message: expect.stringContaining('holds nothing to copy'),
    });
  }, 60_000);
});
