import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  copyPostgresState,
  openStateStore,
  type PostgresStateStore,
  type StateError,
  type StateStore,
  systemClock,
} from '../../../src/state';
import { runStoreFor } from '../../../src/wiring';
import { exportctlPostgresMigrations, exportctlSqliteMigrations } from '../../../src/wiring/state-migrations';
import { rejectionOf } from '../../support/rejection';
import { folderKey, postgresBackend } from '../../support/state-backends';
import { startStateChild } from '../../support/state-child';
import { tempFolder } from '../../support/temp-folder';

const pg = postgresBackend();
const ops = { identity: 'ops@example.com', command: 'apply' };

const open = (url: string, env: NodeJS.ProcessEnv = {}) =>
  openStateStore(url, {
    env,
    migrations: exportctlSqliteMigrations,
    postgresMigrations: exportctlPostgresMigrations,
  });

async function openError(promise: Promise<StateStore>): Promise<StateError> {
  const error = await rejectionOf(promise, Error);
  return error as StateError;
}

describe('a PostgreSQL state', () => {
  it('creates its schema (any name, quoted) and migrates it; a newer state is refused', async () => {
    const schema = `Team A-"${randomBytes(3).toString('hex')}"`;
    const url = pg.server().url({ database: pg.database(), schema });
    const store = await open(url);
    expect(store.location).toBe(
      `postgres://exportctl@127.0.0.1:${pg.server().port}/${pg.database()}?schema=${encodeURIComponent(schema)}`,
    );
    await store.resources.put({ kind: 'Access', name: 'default', owner: 'exportctl', spec: { a: 1 } });
    // Every connection starts on the schema, with keepalives that end a cut-off holder's session
    // (and its locks) in about 25 s.
    const pool = (store as PostgresStateStore).pool;
    expect((await pool.query('SELECT current_schema() AS schema')).rows[0]).toEqual({ schema });
    expect((await pool.query('SHOW tcp_keepalives_idle')).rows[0]).toEqual({ tcp_keepalives_idle: '10' });
    expect((await pool.query('SHOW tcp_keepalives_count')).rows[0]).toEqual({ tcp_keepalives_count: '3' });
    await store.close();
    const quoted = `"${schema.replaceAll('"', '""')}"`;
    expect(pg.server().psql(`SELECT count(*) FROM ${quoted}.resources`, pg.database()).trim()).toBe('1');
    expect(
      pg.server().psql(`SELECT id FROM ${quoted}.schema_migrations ORDER BY version`, pg.database()).trim(),
    ).toBe(exportctlPostgresMigrations.map((migration) => migration.id).join('\n'));

    pg.server().psql(
      `INSERT INTO ${quoted}.schema_migrations VALUES (${exportctlPostgresMigrations.length + 1}, 'control-plane-99-future', 0)`,
      pg.database(),
    );
    const tooNew = await openError(open(url));
    expect(tooNew.code).toBe('state-schema-too-new');
    expect(tooNew.message).toContain('control-plane-99-future');
    expect(tooNew.hint).toContain('upgrade exportctl');

    pg.server().psql(
      `DELETE FROM ${quoted}.schema_migrations WHERE version > 1; UPDATE ${quoted}.schema_migrations SET id = 'other-1' WHERE version = 1`,
      pg.database(),
    );
    expect((await openError(open(url))).code).toBe('state-schema-mismatch');
  });

  it('keeps two schemas of one database apart: resources, serials and locks', async () => {
    const a = await pg.open();
    const b = await pg.open();
    await a.resources.put({ kind: 'Access', name: 'default', owner: 'exportctl', spec: { a: 1 } });
    expect(await b.resources.list()).toEqual([]);
    expect((await b.serial()).serial).toBe(0);
    const heldInA = await a.locks.acquire('control-plane', ops);
    const heldInB = await b.locks.acquire('control-plane', ops);
    expect((await a.locks.list()).map((lock) => lock.lock)).toEqual(['control-plane']);
    await heldInA.release();
    await heldInB.release();
  });

  it('opens a fresh state from several processes at once: one migrates, none fails', async () => {
    const urls = [0, 1, 2].map(() => pg.url(tempFolder()));
    const startAt = Date.now() + 1500;
    const children = [0, 1, 2].map(() => startStateChild({ op: 'open-fresh', urls, startAt, slotMs: 150 }));
    for (const child of children) expect((await child.next('opened')).failures).toEqual([]);
    for (const url of urls) {
      const store = await open(url);
      expect((await store.serial()).serial).toBe(0);
      await store.close();
    }
  });

  it('releases the lock of a holder killed with kill -9 at once (its session ends)', async () => {
    const folder = tempFolder();
    const holder = startStateChild({ op: 'hold', url: pg.url(folder), lock: 'destination:vip', ...ops });
    await holder.next('acquired');
    const store = await pg.open({ folder });
    expect(await rejectionOf(store.locks.acquire('destination:vip', ops), Error)).toMatchObject({
      code: 'lock-timeout',
      message: expect.stringContaining(`(pid ${holder.pid} on `),
    });
    holder.process.kill('SIGKILL');
    expect((await holder.exited).signal).toBe('SIGKILL');
    const killedAt = Date.now();
    // The server notices the closed socket: no 60 s wait, no heartbeat bound.
    const handle = await store.locks.acquire('destination:vip', ops, { timeoutMs: 60_000 });
    const waitedMs = Date.now() - killedAt;
    expect(waitedMs).toBeLessThan(60_000);
    expect(handle.tookOver?.holder.pid).toBe(holder.pid);
    expect(handle.tookOver?.reason).toMatch(/session of pid \d+ on .* ended/);
    expect((await store.locks.holder('destination:vip'))?.pid).toBe(process.pid);
    console.log(`PostgreSQL lock taken ${waitedMs} ms after its holder was killed`);
  });

  it('loses its locks when the server ends its lock session, says so, and another store takes them', async () => {
    const folder = tempFolder();
    const a = await pg.open({ folder });
    const b = await pg.open({ folder });
    const held = await a.locks.acquire('control-plane', ops);
    await held.assertHeld();
    // What the server does to a holder cut off from the network once its keepalives give up.
    pg.server().psql(
      `SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted
         AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
      pg.database(),
    );
    const taken = await b.locks.acquire('control-plane', ops, { timeoutMs: 10_000 });
    expect(taken.tookOver?.holder.pid).toBe(process.pid);
    await expect(held.assertHeld()).rejects.toMatchObject({ code: 'lock-lost' });
    // The old handle's release must not free the new holder's lock.
    await held.release();
    expect((await b.locks.holder('control-plane'))?.since).toBe(taken.holder.since);
    await taken.release();
  });

  it('never interleaves two processes that change the state under the control-plane lock', async () => {
    const folder = tempFolder();
    const request = { op: 'locked-increment', url: pg.url(folder), times: 4, holdMs: 30 };
    const children = [startStateChild(request), startStateChild(request)];
    const exits = await Promise.all(children.map((child) => child.exited));
    expect(exits.map((exit) => [exit.code, exit.events.at(-1)?.event])).toEqual([
      [0, 'incremented'],
      [0, 'incremented'],
    ]);
    const store = await pg.open({ folder });
    expect((await store.resources.get('Access', 'counter'))?.spec).toEqual({ count: 8 });
  });

  it('needs EXPORTCTL_SECRET_KEY for secrets and says so before anything is written', async () => {
    const store = await pg.open({ env: {} });
    const before = await store.serial();
    const error = await rejectionOf(store.secrets.put('cc', 'clientSecret', 'value'), Error);
    expect(error).toMatchObject({ code: 'secret-key-missing' });
    expect(error.message).toContain('EXPORTCTL_SECRET_KEY');
    expect((error as StateError).hint).toContain('openssl rand -base64 32');
    expect(await rejectionOf(store.secrets.fingerprint('x'), Error)).toMatchObject({
      code: 'secret-key-missing',
    });
    expect(
      await rejectionOf(
        store.tokens
          .forConnection('cc')
          .save({ refreshToken: 'rt', bootstrapFingerprint: 'fp', updatedAt: 1 }),
        Error,
      ),
    ).toMatchObject({ code: 'secret-key-missing' });
    expect(await store.secrets.describe('cc')).toEqual([]);
    expect(await store.tokens.forConnection('cc').load()).toBeUndefined();
    expect(await store.serial()).toEqual(before);
  });

  it('says what failed and where when it cannot connect, never the password', async () => {
    const wrong = `wrong-${randomBytes(8).toString('hex')}`;
    const denied = await openError(open(pg.server().url({ database: pg.database(), password: wrong })));
    expect(denied.code).toBe('state-open-failed');
    expect(denied.message).toContain('password authentication failed for user exportctl');
    expect(denied.context.reason).toBe('password-authentication-failed');

    const nobody = await openError(open(`postgres://exportctl:${wrong}@127.0.0.1:1/db?connect_timeout=5`));
    expect(nobody.code).toBe('state-open-failed');
    expect(nobody.message).toContain('127.0.0.1:1');
    expect(nobody.hint).toContain('start the server');

    const missing = await openError(
      open(pg.server().url({ database: 'no_such_database' }), { PGPASSWORD: wrong }),
    );
    expect(missing.message).toContain('no_such_database');
    for (const error of [denied, nobody, missing]) {
      const everything = `${error.message} ${error.hint} ${JSON.stringify(error)} ${String(error.stack)} ${JSON.stringify(error.context)}`;
      expect(everything).not.toContain(wrong);
      expect(everything).not.toContain(pg.server().password);
    }
  });

  it('takes the password from PGPASSWORD and the rest from the URL', async () => {
    const url = pg.server().url({ database: pg.database(), schema: 'from_env', password: null });
    const store = await open(url, { PGPASSWORD: pg.server().password });
    expect(store.location).not.toContain(pg.server().password);
    await store.close();
  });

  it('gives the run engine its PostgreSQL run store, on the state’s own tables', async () => {
    const store = await pg.open();
    const runStore = runStoreFor(store);
    expect(await runStore.checkpoints.of('vip')).toBeUndefined();
    await runStore.rowIssues.append(7, 'vip', [
      { key: 'a@example.com', field: 'email', reason: 'bad', where: 'row 2', severity: 'error', code: 'x' },
    ]);
    expect(await runStore.rowIssues.count(7)).toBe(1);
  });

  it('copies itself into a scratch schema for previews, table by table, and drops it after', async () => {
    const folder = tempFolder();
    const store = (await pg.open({ folder })) as PostgresStateStore;
    await store.resources.put({ kind: 'Access', name: 'default', owner: 'exportctl', spec: { a: 1 } });
    await store.secrets.put('cc', 'clientSecret', 'value');
    const run = await store.runs.start({ destination: 'vip', trigger: 'manual' });
    const copy = await copyPostgresState(store, {
      migrations: exportctlPostgresMigrations,
      clock: systemClock,
      secretKey: folderKey('scratch'),
    });
    const scratchSchema = copy.store.schema;
    expect(scratchSchema).not.toBe(store.schema);
    expect(await copy.store.resources.list()).toEqual(await store.resources.list());
    expect(await copy.store.runs.list()).toEqual(await store.runs.list());
    expect(await copy.store.serial()).toEqual(await store.serial());
    // Ids continue after the copied ones; changes stay in the copy.
    expect((await copy.store.runs.start({ destination: 'vip', trigger: 'manual' })).id).toBeGreaterThan(
      run.id,
    );
    await copy.store.resources.delete('Access', 'default', 'exportctl');
    expect(await store.resources.get('Access', 'default')).toBeDefined();
    expect(await store.runs.list()).toHaveLength(1);
    await copy.dispose();
    expect(
      pg
        .server()
        .psql(`SELECT count(*) FROM pg_namespace WHERE nspname = '${scratchSchema}'`, pg.database())
        .trim(),
    ).toBe('0');
  });

  it('holds secrets and tokens only encrypted: no table row spells them', async () => {
    const folder = tempFolder();
    const store = await pg.open({ folder });
    const values = ['cs', 'rt', 'at', 'rotated'].map(
      (label) => `${label}-${randomBytes(18).toString('base64url')}`,
    );
    const [clientSecret = '', refreshToken = '', accessToken = '', rotated = ''] = values;
    await store.secrets.put('cc', 'clientSecret', clientSecret);
    await store.secrets.put('cc', 'refreshToken', refreshToken);
    await store.tokens.forConnection('cc').save({
      refreshToken: rotated,
      accessToken,
      bootstrapFingerprint: 'fp',
      updatedAt: 1,
    });
    const schema = (store as PostgresStateStore).schema;
    const tables = pg
      .server()
      .psql(`SELECT tablename FROM pg_tables WHERE schemaname = '${schema}'`, pg.database())
      .trim()
      .split('\n');
    expect(tables).toContain('connection_secrets');
    const dump = tables
      .map((table) => pg.server().psql(`SELECT t::text FROM "${schema}"."${table}" t`, pg.database()))
      .join('\n');
    expect(dump).toContain('cc');
    for (const value of values) {
      const bytes = Buffer.from(value);
      for (const spelling of [value, bytes.toString('base64'), bytes.toString('hex')]) {
        expect(dump).not.toContain(spelling);
      }
    }
    expect(await store.secrets.get('cc', 'clientSecret')).toBe(clientSecret);
  });

  it('says the server is gone when it stops under an open store (retries off), and works again once it is back', async () => {
    const store = await pg.open({ connectionFaultRetryMs: 0 });
    await store.resources.put({ kind: 'Access', name: 'default', owner: 'exportctl', spec: { a: 1 } });
    pg.server().stop('fast');
    try {
      const error = await rejectionOf(store.resources.list(), Error);
      expect(error).toMatchObject({ code: 'state-open-failed' });
      expect(error.message).toContain(`127.0.0.1:${pg.server().port}`);
      expect(`${error.message} ${JSON.stringify(error)}`).not.toContain(pg.server().password);
      const write = await rejectionOf(
        store.resources.put({ kind: 'Access', name: 'other', owner: 'exportctl', spec: {} }),
        Error,
      );
      expect(write).toMatchObject({ code: 'state-open-failed' });
    } finally {
      pg.server().start();
    }
    expect((await store.resources.list()).map((item) => item.name)).toEqual(['default']);
  });

  it('rides out a server restart under a write: the write is retried whole and lands once', async () => {
    const store = await pg.open();
    await store.resources.put({ kind: 'Access', name: 'default', owner: 'exportctl', spec: { a: 1 } });
    const before = await store.serial();
    pg.server().stop('fast');
    // Started again a moment after the write began failing: the write waits for it (bounded retry).
    const write = store.resources.put({ kind: 'Access', name: 'other', owner: 'exportctl', spec: { b: 2 } });
    const run = store.runs.start({ destination: 'vip', trigger: 'manual' });
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    pg.server().start();
    expect((await write).change).toBe('created');
    const started = await run;
    expect((await store.resources.list()).map((item) => item.name)).toEqual(['default', 'other']);
    expect((await store.serial()).serial).toBe(before.serial + 1);
    expect((await store.runs.list({ destination: 'vip' })).map((item) => item.id)).toEqual([started.id]);
  });

  it('gives up after the retry bound with state-connection-lost, naming the server, never the password', async () => {
    const store = await pg.open({ connectionFaultRetryMs: 1_500 });
    await store.resources.list();
    pg.server().stop('fast');
    try {
      const started = Date.now();
      const error = (await rejectionOf(
        store.resources.put({ kind: 'Access', name: 'x', owner: 'exportctl', spec: {} }),
        Error,
      )) as StateError;
      expect(Date.now() - started).toBeGreaterThanOrEqual(1_400);
      expect(error.code).toBe('state-connection-lost');
      expect(error.message).toContain(`127.0.0.1:${pg.server().port}`);
      expect(error.hint).toContain('run the command again');
      expect(`${error.message} ${JSON.stringify(error)}`).not.toContain(pg.server().password);
    } finally {
      pg.server().start();
    }
  });

  it('takes its lock again after the server restarted, unless another process took it meanwhile', async () => {
    const folder = tempFolder();
    const a = await pg.open({ folder });
    const b = await pg.open({ folder });
    const held = await a.locks.acquire('control-plane', ops);
    await pg.server().restart();
    // Nobody took it while the server was away: the same handle holds it again, on a new session.
    await held.assertHeld();
    await expect(b.locks.acquire('control-plane', ops)).rejects.toMatchObject({ code: 'lock-timeout' });
    expect((await b.locks.holder('control-plane'))?.pid).toBe(process.pid);

    // Another process takes it between the restart and this one's next check: this one lost it.
    await pg.server().restart();
    const taken = await b.locks.acquire('control-plane', ops, { timeoutMs: 10_000 });
    await expect(held.assertHeld()).rejects.toMatchObject({ code: 'lock-lost' });
    await held.release();
    expect((await a.locks.holder('control-plane'))?.since).toBe(taken.holder.since);
    await taken.release();
    expect(await a.locks.holder('control-plane')).toBeUndefined();
  });
});
