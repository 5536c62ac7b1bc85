import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe } from 'vitest';
import { type OpenStateStoreOptions, openStateStore, type StateStore } from '../../src/state';
import { exportctlPostgresMigrations, exportctlSqliteMigrations } from '../../src/wiring/state-migrations';
import { type PostgresServer, startPostgresServer } from './postgres-server';
import { tempFolder } from './temp-folder';

export type TestStateOptions = Partial<OpenStateStoreOptions> & {
  /** Names one state: two opens with the same folder open the same state. Default: a new one. */
  folder?: string;
};

/** A state backend, as the contract suites see it. */
export interface StateBackendUnderTest {
  readonly name: 'SQLite' | 'PostgreSQL';
  /**
   * Opens the state named by `folder` (a fresh one when omitted), closed after the test. `env`
   * defaults to none but, on PostgreSQL, a secret key for the folder (a shared state has no key
   * file): pass `env` to choose.
   */
  open(options?: TestStateOptions): Promise<StateStore>;
  /** The state URL of `folder`, for child processes. */
  url(folder: string): string;
  /** The env a child process needs besides the URL (PostgreSQL: the folder's key). */
  childEnv(folder: string): NodeJS.ProcessEnv;
}

/** The key a PostgreSQL test state of `folder` gets when a test names none. */
export function folderKey(folder: string): string {
  return createHash('sha256').update(`key:${folder}`).digest('base64');
}

/** A schema name for `folder`. */
export function folderSchema(folder: string): string {
  return `s_${createHash('sha256').update(folder).digest('hex').slice(0, 16)}`;
}

/**
 * Runs `body` once per state backend (SQLite on a temp file, PostgreSQL on a real throwaway server
 * started for the file, a schema per state) with the same assertions: the contract every
 * `StateStore` keeps.
 */
export function describeStateStoreContract(
  title: string,
  body: (backend: StateBackendUnderTest) => void,
): void {
  describe(`${title} (SQLite)`, () => body(sqliteBackend()));
  describe(`${title} (PostgreSQL)`, () => body(postgresBackend()));
}

function closing(): (store: StateStore) => StateStore {
  const opened: StateStore[] = [];
  afterEach(async () => {
    for (const store of opened.splice(0)) await store.close();
  });
  return (store) => {
    opened.push(store);
    return store;
  };
}

export function sqliteBackend(): StateBackendUnderTest {
  const track = closing();
  const url = (folder: string) => `sqlite:${join(folder, 'state.db')}`;
  return {
    name: 'SQLite',
    url,
    childEnv: () => ({}),
    async open(options = {}) {
      const folder = options.folder ?? tempFolder();
      return track(
        await openStateStore(url(folder), {
          env: {},
          cwd: folder,
          migrations: exportctlSqliteMigrations,
          ...options,
        }),
      );
    },
  };
}

/** The PostgreSQL backend on a server started before the suite's tests and stopped after them. */
export function postgresBackend(): StateBackendUnderTest & { server(): PostgresServer; database(): string } {
  const track = closing();
  let server: PostgresServer | undefined;
  let database = '';
  beforeAll(async () => {
    server = await startPostgresServer();
    database = await server.createDatabase(`contract_${randomBytes(4).toString('hex')}`);
  }, 60_000);
  afterAll(async () => {
    await server?.dispose();
  });
  const url = (folder: string) => {
    if (server === undefined) throw new Error('the PostgreSQL server is not started');
    return server.url({ database, schema: folderSchema(folder) });
  };
  return {
    name: 'PostgreSQL',
    url,
    childEnv: (folder) => ({ EXPORTCTL_SECRET_KEY: folderKey(folder) }),
    server: () => server as PostgresServer,
    database: () => database,
    async open(options = {}) {
      const folder = options.folder ?? tempFolder();
      return track(
        await openStateStore(url(folder), {
          env: { EXPORTCTL_SECRET_KEY: folderKey(folder) },
          cwd: folder,
          migrations: exportctlSqliteMigrations,
          postgresMigrations: exportctlPostgresMigrations,
          ...options,
        }),
      );
    },
  };
}
