import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  canonicalJson,
  openStateStore,
  readAppliedMigrations,
  type SqliteMigration,
  StateError,
  specHash,
} from '../../../src/state';
import { exportctlSqliteMigrations as sqliteStateMigrations } from '../../../src/wiring/state-migrations';
import { fakeClock } from '../../support/fake-clock';
import { rejectionOf } from '../../support/rejection';
import { openTestState } from '../../support/state-store';
import { tempFolder } from '../../support/temp-folder';

const extraMigration: SqliteMigration = {
  id: 'test-module-1-snapshots',
  up(db) {
    db.exec('CREATE TABLE test_snapshots (destination TEXT NOT NULL, member TEXT NOT NULL) STRICT');
  },
};

function tableNames(store: Awaited<ReturnType<typeof openTestState>>): string[] {
  return (
    store.sqlite
      .prepare(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
      )
      .all() as { name: string }[]
  ).map((row) => row.name);
}

const openError = (promise: Promise<unknown>) => rejectionOf(promise, StateError);

describe('opening a SQLite state', () => {
  it('migrates an empty database and records the version twice (table and user_version)', async () => {
    const clock = fakeClock();
    const store = await openTestState({ clock });
    expect(tableNames(store)).toEqual([
      'connection_secrets',
      'export_checkpoints',
      'export_claimed_activities',
      'export_import_batches',
      'export_import_payloads',
      'export_import_rows',
      'export_list_baselines',
      'export_removal_batches',
      'export_removals',
      'export_row_issue_runs',
      'export_row_issues',
      'export_run_chunks',
      'export_run_unstaged',
      'export_snapshot_buckets',
      'export_snapshot_revisions',
      'export_unchanged_marks',
      'locks',
      'oauth_tokens',
      'resources',
      'runs',
      'schema_migrations',
      'state_meta',
    ]);
    expect(readAppliedMigrations(store.sqlite)).toEqual([
      { version: 1, id: 'control-plane-1-initial', appliedAt: clock.now() },
      { version: 2, id: 'run-engine-1-snapshots-and-checkpoints', appliedAt: clock.now() },
      { version: 3, id: 'run-engine-2-removal-submissions', appliedAt: clock.now() },
      { version: 4, id: 'run-engine-3-claimed-activities', appliedAt: clock.now() },
      { version: 5, id: 'run-engine-4-list-baselines', appliedAt: clock.now() },
      { version: 6, id: 'control-plane-2-state-serial', appliedAt: clock.now() },
      { version: 7, id: 'control-plane-3-owner-stack', appliedAt: clock.now() },
      { version: 8, id: 'run-engine-5-compact-snapshots', appliedAt: clock.now() },
      { version: 9, id: 'run-engine-6-row-issues', appliedAt: clock.now() },
      { version: 10, id: 'control-plane-4-source-secrets', appliedAt: clock.now() },
      { version: 11, id: 'run-engine-7-snapshot-buckets', appliedAt: clock.now() },
      { version: 12, id: 'run-engine-8-staged-chunks', appliedAt: clock.now() },
    ]);
    expect(store.sqlite.pragma('user_version', { simple: true })).toBe(sqliteStateMigrations.length);
    expect(store.sqlite.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(store.sqlite.pragma('busy_timeout', { simple: true })).toBe(5000);
  });

  it('upgrades a state made before stack owners in place: its `pulumi` rows stay, for a stack to claim', async () => {
    const folder = tempFolder();
    // The migrations released before it (later ones cannot be in a state made before it).
    const before = sqliteStateMigrations.slice(
      0,
      sqliteStateMigrations.findIndex((migration) => migration.id === 'control-plane-3-owner-stack'),
    );
    const old = await openTestState({ folder, migrations: before });
    // Rows as the exportctl of that schema wrote them (today's store writes the new column).
    const insert = old.sqlite.prepare(
      `INSERT INTO resources (kind, name, owner, spec, spec_hash, generation, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, 1, 0, 0)`,
    );
    insert.run(
      'ProfileSource',
      'crm',
      'pulumi',
      canonicalJson({ format: 'csv' }),
      specHash({ format: 'csv' }),
    );
    insert.run('Access', 'default', 'exportctl', '{"administrators":[]}', specHash({ administrators: [] }));
    // The old CHECK on owner refuses a stack owner: that is what the migration adds room for.
    expect(() =>
      old.sqlite
        .prepare("UPDATE resources SET owner = 'pulumi:acme/exportctl/dev' WHERE kind = 'ProfileSource'")
        .run(),
    ).toThrow(/CHECK/);
    await old.close();

    const store = await openTestState({ folder });
    expect(readAppliedMigrations(store.sqlite).map((migration) => migration.id)).toContain(
      'control-plane-3-owner-stack',
    );
    expect((await store.resources.list()).map((item) => [item.name, item.owner])).toEqual([
      ['default', 'exportctl'],
      ['crm', 'pulumi'],
    ]);
    await store.resources.put({
      kind: 'ProfileSource',
      name: 'crm',
      owner: 'pulumi:acme/exportctl/dev',
      spec: { format: 'csv' },
    });
    expect((await store.resources.get('ProfileSource', 'crm'))?.owner).toBe('pulumi:acme/exportctl/dev');
    // Only Pulumi rows name a stack.
    expect(() =>
      store.sqlite.prepare("UPDATE resources SET owner_stack = 'acme/x/y' WHERE kind = 'Access'").run(),
    ).toThrow(/CHECK/);
    // Applying the step again to the upgraded database changes nothing.
    const step = sqliteStateMigrations.find((migration) => migration.id === 'control-plane-3-owner-stack');
    expect(step).toBeDefined();
    expect(() => step?.up(store.sqlite)).not.toThrow();
  });

  it('re-opens without applying anything again', async () => {
    const folder = tempFolder();
    const first = await openTestState({ folder, clock: fakeClock(1000) });
    await first.resources.put({
      kind: 'Access',
      name: 'default',
      owner: 'exportctl',
      spec: { administrators: [] },
    });
    await first.close();
    const second = await openTestState({ folder, clock: fakeClock(9000) });
    expect(readAppliedMigrations(second.sqlite)).toEqual([
      { version: 1, id: 'control-plane-1-initial', appliedAt: 1000 },
      { version: 2, id: 'run-engine-1-snapshots-and-checkpoints', appliedAt: 1000 },
      { version: 3, id: 'run-engine-2-removal-submissions', appliedAt: 1000 },
      { version: 4, id: 'run-engine-3-claimed-activities', appliedAt: 1000 },
      { version: 5, id: 'run-engine-4-list-baselines', appliedAt: 1000 },
      { version: 6, id: 'control-plane-2-state-serial', appliedAt: 1000 },
      { version: 7, id: 'control-plane-3-owner-stack', appliedAt: 1000 },
      { version: 8, id: 'run-engine-5-compact-snapshots', appliedAt: 1000 },
      { version: 9, id: 'run-engine-6-row-issues', appliedAt: 1000 },
      { version: 10, id: 'control-plane-4-source-secrets', appliedAt: 1000 },
      { version: 11, id: 'run-engine-7-snapshot-buckets', appliedAt: 1000 },
      { version: 12, id: 'run-engine-8-staged-chunks', appliedAt: 1000 },
    ]);
    expect(await second.resources.get('Access', 'default')).toMatchObject({ generation: 1 });
  });

  it('creates the default .exportctl/state.db under cwd: folder 0700, file 0600', async () => {
    const cwd = tempFolder();
    const store = await openStateStore(undefined, { cwd, env: {}, migrations: sqliteStateMigrations });
    await store.close();
    expect(store.location).toBe(join(cwd, '.exportctl', 'state.db'));
    expect(statSync(join(cwd, '.exportctl')).mode & 0o777).toBe(0o700);
    expect(statSync(join(cwd, '.exportctl', 'state.db')).mode & 0o777).toBe(0o600);
  });

  it('takes the URL from EXPORTCTL_STATE when none is passed', async () => {
    const cwd = tempFolder();
    const store = await openStateStore(undefined, {
      cwd,
      env: { EXPORTCTL_STATE: 'sqlite:elsewhere/x.db' },
      migrations: sqliteStateMigrations,
    });
    await store.close();
    expect(store.location).toBe(join(cwd, 'elsewhere', 'x.db'));
  });

  it('runs contributed migrations after the built-in ones, once', async () => {
    const folder = tempFolder();
    const migrations = [...sqliteStateMigrations, extraMigration];
    const store = await openTestState({ folder, migrations });
    expect(tableNames(store)).toContain('test_snapshots');
    // Every built-in one in its order (pinned as released in test/unit/state/migration-order.test.ts),
    // then the contributed one.
    expect(readAppliedMigrations(store.sqlite).map((row) => row.id)).toEqual([
      ...sqliteStateMigrations.map((migration) => migration.id),
      'test-module-1-snapshots',
    ]);
    await store.close();
    const again = await openTestState({ folder, migrations });
    expect(again.sqlite.pragma('user_version', { simple: true })).toBe(sqliteStateMigrations.length + 1);
  });

  it('refuses a state written by a newer exportctl, telling the user to upgrade', async () => {
    const folder = tempFolder();
    await (await openTestState({ folder, migrations: [...sqliteStateMigrations, extraMigration] })).close();
    const error = await openError(openTestState({ folder }));
    expect(error.code).toBe('state-schema-too-new');
    expect(error.message).toContain('test-module-1-snapshots');
    expect(error.hint).toMatch(/upgrade exportctl/);
  });

  it('refuses a state whose applied migration ids differ from the known ones', async () => {
    const folder = tempFolder();
    await (await openTestState({ folder, migrations: [...sqliteStateMigrations, extraMigration] })).close();
    const renamed = { ...extraMigration, id: 'test-module-1-renamed' };
    const error = await openError(openTestState({ folder, migrations: [...sqliteStateMigrations, renamed] }));
    expect(error.code).toBe('state-schema-mismatch');
  });

  it('rolls a failing migration back whole', async () => {
    const folder = tempFolder();
    const failing: SqliteMigration = {
      id: 'test-module-1-fails',
      up(db) {
        db.exec('CREATE TABLE half_done (x TEXT)');
        throw new Error('boom');
      },
    };
    await expect(openTestState({ folder, migrations: [...sqliteStateMigrations, failing] })).rejects.toThrow(
      'boom',
    );
    const store = await openTestState({ folder });
    expect(tableNames(store)).not.toContain('half_done');
    expect(store.sqlite.pragma('user_version', { simple: true })).toBe(sqliteStateMigrations.length);
  });

  // Two processes migrating one new file at once: see the refresh-lock test in connection-tokens.
  it('lets a second connection open a file the first one migrated', async () => {
    const folder = tempFolder();
    const [a, b] = await Promise.all([openTestState({ folder }), openTestState({ folder })]);
    expect(readAppliedMigrations(a.sqlite)).toHaveLength(sqliteStateMigrations.length);
    expect(readAppliedMigrations(b.sqlite)).toHaveLength(sqliteStateMigrations.length);
  });

  it('says state-open-failed for a file that is not a database', async () => {
    const folder = tempFolder();
    writeFileSync(
      join(folder, 'state.db'),
      'this is not sqlite, just some text that is long enough '.repeat(20),
    );
    const error = await openError(openTestState({ folder }));
    expect(error.code).toBe('state-open-failed');
    expect(error.hint).toMatch(/not a SQLite database/);
  });

  it('refuses a postgres URL when opened without the PostgreSQL migrations', async () => {
    const error = await openError(
      openStateStore('postgres://u:p@localhost/state', { env: {}, migrations: sqliteStateMigrations }),
    );
    expect(error.code).toBe('state-backend-unsupported');
  });

  it('refuses use after close', async () => {
    const store = await openTestState({ url: 'sqlite::memory:' });
    await store.close();
    await expect(store.runs.list()).rejects.toMatchObject({ code: 'state-closed' });
    await store.close();
  });
});
