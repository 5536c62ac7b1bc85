import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasErrors, loadManifests } from '../../../src/config';
import { previewDataPlans } from '../../../src/engine';
import { computePlan, renderPlanText } from '../../../src/reconcile';
import { createHandlerContext } from '../../../src/resources/live-handler-context';
import { runEngineStateFor } from '../../../src/wiring';
import {
  type ExportWorld,
  expectedMembers,
  exportWorld,
  generatedData,
  importedItems,
} from '../../support/export-world';
import { repoRoot } from '../../support/exportctl-cli';
import { type PostgresServer, startPostgresServer } from '../../support/postgres-server';

const sourceYaml = `apiVersion: exportctl/v1
kind: ProfileSource
metadata: { name: profiles }
spec:
  type: postgres
  database: { env: PROFILES_DATABASE_URL }
  profiles: crm.profiles_view
  key: CustomerId
  segmentMembership: segment_membership
`;

/** Loads `folder`'s CSVs with the example's loader (config-examples/postgres/load-profiles.mjs). */
function load(url: string, folder: string): void {
  execFileSync(
    process.execPath,
    [join(repoRoot, 'config-examples/postgres/load-profiles.mjs'), '--data', folder],
    {
      env: { PATH: process.env.PATH, PROFILES_DATABASE_URL: url },
      stdio: 'pipe',
    },
  );
}

// Apply and run against a real PostgreSQL source and the local sandbox: the URL is resolved at
// apply, kept encrypted in the state, and a run needs neither the manifest nor the variable.
describe('exports from a postgres ProfileSource', () => {
  let server: PostgresServer;
  let data: string;
  beforeAll(async () => {
    server = await startPostgresServer();
    data = await generatedData(300);
  }, 60_000);
  afterAll(async () => {
    await server?.dispose();
  });

  const world = async (): Promise<{ world: ExportWorld; url: string; database: string }> => {
    const database = await server.createDatabase();
    const url = server.url({ database });
    load(url, data);
    // A view in a schema of its own, as a warehouse exposes its unified profiles.
    server.psql('CREATE SCHEMA crm; CREATE VIEW crm.profiles_view AS SELECT * FROM profiles', database);
    const w = await exportWorld(data, { sourceYaml });
    w.env.PROFILES_DATABASE_URL = url;
    return { world: w, url, database };
  };

  it('exports what the same data as csv exports, keeps the URL encrypted and records where it read', async () => {
    const { world: w, database } = await world();
    await w.apply();
    delete w.env.PROFILES_DATABASE_URL;
    const result = await w.run('vip');
    expect(result.error).toBeUndefined();
    expect(result.run.status).toBe('succeeded');
    expect(w.members()).toEqual(await expectedMembers(data, ['VIP']));
    expect(result.run.gitCommit).toBe(`postgresql://127.0.0.1:${server.port}/${database}#crm.profiles_view`);

    const stateFile = join(w.folder, 'state.db');
    for (const file of [stateFile, `${stateFile}-wal`]) {
      if (existsSync(file)) expect(readFileSync(file).includes(server.password)).toBe(false);
    }
    const source = await w.store.resources.get('ProfileSource', 'profiles');
    expect(JSON.stringify(source)).not.toContain(server.password);
    expect(source?.spec).toMatchObject({ database: { env: 'PROFILES_DATABASE_URL' } });
    expect(await w.store.secrets.describe('ProfileSource/profiles')).toHaveLength(1);
  }, 60_000);

  it('refuses to apply a mapped column that is not there, or a wrong password, showing neither secret', async () => {
    const { world: w, database, url } = await world();
    server.psql(
      `DROP VIEW crm.profiles_view; ALTER TABLE profiles RENAME COLUMN "EmailAddress" TO "EmailAdress";
       CREATE VIEW crm.profiles_view AS SELECT * FROM profiles`,
      database,
    );
    const typo = await w.apply().then(
      () => '',
      (error: unknown) => String(error),
    );
    expect(typo).toContain('has no field \\"EmailAddress\\"');
    expect(typo).toContain('did you mean \\"EmailAdress\\"?');
    expect(typo).not.toContain(server.password);

    w.env.PROFILES_DATABASE_URL = server.url({ database, password: 'wrong-pg-password' });
    const refused = await w.apply().then(
      () => '',
      (error: unknown) => String(error),
    );
    expect(refused).toMatch(/refused the login: password authentication failed/);
    expect(refused).not.toContain('wrong-pg-password');
    // Checked before it is stored: the source (readable the first time; its destination was not)
    // keeps the URL that worked, not the refused one.
    expect(await w.store.secrets.describe('ProfileSource/profiles')).toEqual([
      expect.objectContaining({ fingerprint: await w.store.secrets.fingerprint(url) }),
    ]);
  }, 60_000);

  it('fails a run cleanly when a mapped column was dropped after apply: nothing is sent', async () => {
    const { world: w, database } = await world();
    await w.apply();
    server.psql('DROP VIEW crm.profiles_view; ALTER TABLE profiles DROP COLUMN "FirstName"', database);
    server.psql('CREATE VIEW crm.profiles_view AS SELECT * FROM profiles', database);
    const before = importedItems(w.sandbox);
    const result = await w.run('vip');
    expect(result.run.status).toBe('failed');
    expect(result.error?.code).toBe('source-field-missing');
    expect(result.error?.message).toContain('FirstName');
    expect(importedItems(w.sandbox)).toBe(before);
    expect(w.members()).toEqual([]);
  }, 60_000);

  it('plans a changed URL as a sensitive change, and no change for the same one, never showing it', async () => {
    const { world: w, database } = await world();
    await w.apply();
    const plan = async () => {
      const loaded = loadManifests([w.folder], { cwd: w.folder, skipRoleChecks: true });
      expect(hasErrors(loaded.problems)).toBe(false);
      const computed = await computePlan(
        {
          manifests: loaded.manifests,
          mode: 'apply',
          prune: true,
          refresh: false,
          actor: undefined,
          cwd: w.folder,
        },
        createHandlerContext({ store: w.store, owner: 'exportctl', env: w.env }),
      );
      return computed.plan;
    };
    const same = await plan();
    expect(same.changes.filter((change) => change.kind === 'ProfileSource')).toEqual([]);
    w.env.PROFILES_DATABASE_URL = server.url({ database, password: 'rotated-pg-password' });
    const rotated = await plan();
    const source = rotated.changes.find((change) => change.kind === 'ProfileSource');
    expect(source?.action).toBe('update');
    expect(source?.fields).toEqual([
      expect.objectContaining({ path: 'spec.database.url', sensitive: true, before: '(stored)' }),
    ]);
    const text = renderPlanText(rotated);
    expect(text).toContain('spec.database.url');
    expect(text).not.toContain('rotated-pg-password');
    expect(JSON.stringify(rotated)).not.toContain('rotated-pg-password');
  }, 60_000);

  it("previews a plan's data plan with the URL the plan would store, not only the stored one", async () => {
    const { world: w } = await world();
    await w.apply();
    // As for a source the plan creates (or re-points): no URL stored for it yet.
    await w.store.secrets.delete('ProfileSource/profiles');
    // As the plan command opens it: the scratch copy resolves references in the command's env.
    const state = { ...runEngineStateFor(w.store, { env: w.env }), runStore: w.runStore };
    const [preview] = await previewDataPlans(state, [], ['vip'], { env: w.env });
    expect(preview && 'error' in preview ? preview.error.message : undefined).toBeUndefined();
    expect(preview && 'record' in preview ? preview.record.dryRun : undefined).toBe(true);
    // A real run has only the state: it says to apply the source again.
    const run = await w.run('vip', { dryRun: true });
    expect(run.error?.hint).toContain('apply the ProfileSource again');
  }, 60_000);
});
