import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStateStore } from '../../../src/state';
import { exportctlPostgresMigrations, exportctlSqliteMigrations } from '../../../src/wiring/state-migrations';
import { type PostgresServer, startPostgresServer } from '../../support/postgres-server';
import { builtDynamic, configOf, providerWorld } from './provider-world';

// The provider's `exportctl:state` goes through the same opener as --state: a postgres:// URL works.
const { exportctlProvider } = builtDynamic();
let server: PostgresServer;

beforeAll(async () => {
  server = await startPostgresServer();
}, 60_000);

afterAll(async () => {
  await server?.dispose();
});

describe('the dynamic provider on a PostgreSQL state (exportctl:state)', () => {
  it('creates and deletes a resource in the schema the URL names', async () => {
    const url = server.url({ schema: 'pulumi_stack' });
    const world = await providerWorld({ 'exportctl:state': url });
    const provider = exportctlProvider('Access');
    await provider.configure({ config: configOf(world.config) });
    const props = world.props('Access/default');
    const checked = await provider.check({} as typeof props, props);
    expect(checked.failures).toEqual([]);
    const created = await provider.create(checked.inputs);
    expect(created.outs.owner).toBe('pulumi');

    const store = await openStateStore(url, {
      env: {},
      migrations: exportctlSqliteMigrations,
      postgresMigrations: exportctlPostgresMigrations,
    });
    try {
      expect((await store.resources.list()).map((item) => `${item.kind}/${item.name} ${item.owner}`)).toEqual(
        ['Access/default pulumi'],
      );
      await provider.delete(created.id, created.outs);
      expect(await store.resources.list()).toEqual([]);
    } finally {
      await store.close();
    }
  });
});
