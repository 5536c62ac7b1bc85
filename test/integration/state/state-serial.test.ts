import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { canonicalJson, readAppliedMigrations, specHash } from '../../../src/state';
import { exportctlSqliteMigrations as sqliteStateMigrations } from '../../../src/wiring/state-migrations';
import { describeStateStoreContract } from '../../support/state-backends';
import { openTestState } from '../../support/state-store';
import { tempFolder } from '../../support/temp-folder';

const access = (administrators: string[]) => ({
  kind: 'Access' as const,
  name: 'default',
  owner: 'exportctl' as const,
  spec: { administrators },
});

describeStateStoreContract('the state serial (what a saved plan was made at)', (backend) => {
  it('starts at 0 with a lineage of its own, per state', async () => {
    const one = await backend.open();
    const two = await backend.open();
    const first = await one.serial();
    expect(first.serial).toBe(0);
    expect(first.lineage).toMatch(/^[0-9a-f-]{36}$/);
    expect((await two.serial()).lineage).not.toBe(first.lineage);
  });

  it('moves with every change of applied resources, secrets or stored tokens, and only then', async () => {
    const store = await backend.open();
    const serial = async () => (await store.serial()).serial;

    await store.resources.put(access(['a@example.com']));
    expect(await serial()).toBe(1);
    await store.resources.put(access(['a@example.com']));
    expect(await serial()).toBe(1);
    await store.resources.put(access(['b@example.com']));
    expect(await serial()).toBe(2);

    const ready = [{ type: 'Ready' as const, status: true, reason: 'Verified', message: 'ok' }];
    await store.resources.setConditions('Access', 'default', ready);
    expect(await serial()).toBe(3);
    await store.resources.setConditions('Access', 'default', ready);
    expect(await serial()).toBe(3);
    await store.resources.setRemoteFacts('Access', 'default', { size: 1 });
    expect(await serial()).toBe(4);
    await store.resources.setRemoteFacts('Access', 'default', { size: 1 });
    expect(await serial()).toBe(4);

    await store.secrets.put('cc', 'clientSecret', 'value-1');
    expect(await serial()).toBe(5);
    await store.secrets.put('cc', 'clientSecret', 'value-1');
    expect(await serial()).toBe(5);
    await store.secrets.delete('cc');
    expect(await serial()).toBe(6);
    await store.secrets.delete('cc');
    expect(await serial()).toBe(6);

    // A rotated token is saved by runs: not a change a plan depends on. Dropping the chain is.
    const tokens = store.tokens.forConnection('cc');
    await tokens.save({ refreshToken: 'rt', bootstrapFingerprint: 'fp', updatedAt: 1 });
    expect(await serial()).toBe(6);
    expect(await store.tokens.delete('cc')).toBe(true);
    expect(await serial()).toBe(7);
    expect(await store.tokens.delete('cc')).toBe(false);
    expect(await serial()).toBe(7);

    expect(await store.resources.delete('Access', 'default', 'exportctl')).toBe(true);
    expect(await serial()).toBe(8);
    expect(await store.resources.delete('Access', 'default', 'exportctl')).toBe(false);
    expect(await serial()).toBe(8);
  });
});

describe('the state serial in SQLite', () => {
  it('is added to a state made before it by the migration control-plane-2-state-serial, keeping the data', async () => {
    const folder = tempFolder();
    // The migrations released before it (later ones need not be there for this one to run).
    const before = sqliteStateMigrations.slice(
      0,
      sqliteStateMigrations.findIndex((migration) => migration.id === 'control-plane-2-state-serial'),
    );
    expect(before.length).toBe(5);
    const old = await openTestState({ folder, migrations: before });
    // The row as the exportctl of that schema wrote it (today's store writes columns added since).
    const row = access(['a@example.com']);
    old.sqlite
      .prepare(
        `INSERT INTO resources (kind, name, owner, spec, spec_hash, generation, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, 1, 0, 0)`,
      )
      .run(row.kind, row.name, row.owner, canonicalJson(row.spec), specHash(row.spec));
    await old.close();
    const raw = new Database(`${folder}/state.db`, { readonly: true });
    expect(
      raw.prepare("SELECT count(*) AS n FROM state_meta WHERE key IN ('serial', 'lineage')").get(),
    ).toEqual({
      n: 0,
    });
    raw.close();

    const store = await openTestState({ folder });
    expect(readAppliedMigrations(store.sqlite).map((row) => row.id)).toContain(
      'control-plane-2-state-serial',
    );
    expect(await store.serial()).toEqual({ lineage: expect.stringMatching(/^[0-9a-f-]{36}$/), serial: 0 });
    expect((await store.resources.get('Access', 'default'))?.spec).toEqual({
      administrators: ['a@example.com'],
    });
    await store.resources.put(access(['b@example.com']));
    expect((await store.serial()).serial).toBe(1);
  });
});
