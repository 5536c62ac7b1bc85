import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PostgresServer, startPostgresServer } from '../../support/postgres-server';

// The suite's throwaway PostgreSQL server: a real server on loopback, with password auth on TCP.
describe('the PostgreSQL test server', () => {
  let server: PostgresServer;
  beforeAll(async () => {
    server = await startPostgresServer();
  }, 60_000);
  afterAll(async () => {
    await server?.dispose();
  });

  it('answers on 127.0.0.1 with the password and refuses a wrong one', async () => {
    const database = await server.createDatabase();
    const client = new pg.Client({ connectionString: server.url({ database }) });
    await client.connect();
    const { rows } = await client.query('select current_database() as db, host(inet_server_addr()) as addr');
    await client.end();
    expect(rows[0]).toEqual({ db: database, addr: '127.0.0.1' });

    const wrong = new pg.Client({ connectionString: server.url({ database, password: 'not-it' }) });
    await expect(wrong.connect()).rejects.toThrow(/password authentication failed/);
  });

  it('comes back on the same port after a restart', async () => {
    await server.restart();
    const client = new pg.Client({ connectionString: server.url() });
    await client.connect();
    expect((await client.query('select 1 as one')).rows[0].one).toBe(1);
    await client.end();
  }, 60_000);
});
