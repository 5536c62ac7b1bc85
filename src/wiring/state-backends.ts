import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RequestPermitStore } from '../constant-contact/request-limiter';
import { RunEngineError } from '../engine/run-engine-errors';
import type { RunStore } from '../engine/run-store';
import { SqliteRunStore, sqliteRunEngineTransfer } from '../engine/sqlite';
import type { ClusterView, RunQueue } from '../queue/run-queue';
import {
  type Clock,
  copyPostgresState,
  type PostgresStateStore,
  type SqliteStateStore,
  type StateStore,
} from '../state';
import { openExportctlState } from './open-exportctl-state';
import { postgresRunEngine } from './postgres-run-engine';
import { exportctlPostgresMigrations } from './state-migrations';
import { composeStateTransfer, type StateTransfer } from './state-transfer';

/** A throwaway copy of a state, for previews: opened, and removed by `dispose`. */
export interface ScratchState {
  readonly store: StateStore;
  dispose(): Promise<void>;
}

/** What the wiring knows about one state backend, besides how to open it (`openStateStore`). */
export interface StateBackend<S extends StateStore> {
  /** The run engine's store on a state of this backend. */
  runStore(store: S, clock: Clock): RunStore;
  /** A copy of `store` that previews may change; `folder` is a temp folder it may use for files. */
  scratchCopy(store: S, folder: string, env: NodeJS.ProcessEnv, clock: Clock): Promise<ScratchState>;
  /** The whole state as records, for `exportctl state migrate` to another state of any backend. */
  transfer(store: S): StateTransfer;
  /**
   * Where every process using `store` reserves Constant Contact request permits (see
   * `rateLimitersFor`); undefined when no other process can use it (an in-memory SQLite state).
   */
  requestPermits(store: S): RequestPermitStore | undefined;
  /**
   * The run queue that the watch processes of this state share, joined as one worker; undefined
   * when the backend has none (SQLite: one watch process runs everything itself).
   */
  openRunQueue(store: S, options: RunQueueOptions): Promise<RunQueue | undefined>;
  /** The cluster of watch workers on this state; undefined when there is none (or never was). */
  readCluster(store: S): Promise<ClusterView | undefined>;
}

/** How a watch process joins its state's run queue. */
export interface RunQueueOptions {
  readonly maxConcurrentRuns: number;
  readonly hostname: string;
  readonly pid: number;
  readonly onEvent?: (level: 'info' | 'warn', fields: Record<string, unknown>, message: string) => void;
}

/** A key of its own for a copy: its secrets are never read (a dry run makes no request). */
const scratchKey = Buffer.alloc(32, 7).toString('base64');

const sqliteBackend: StateBackend<SqliteStateStore> = {
  runStore: (store, clock) => new SqliteRunStore(store.sqlite, () => clock.now()),
  requestPermits: (store) => store.requestPermits,
  async scratchCopy(store, folder, env) {
    await store.sqlite.backup(join(folder, 'state.db'));
    const copy = await openExportctlState(`sqlite:${join(folder, 'state.db')}`, {
      cwd: folder,
      env: { ...env, EXPORTCTL_SECRET_KEY: scratchKey },
    });
    return { store: copy, dispose: () => copy.close() };
  },
  transfer: (store) => composeStateTransfer(store.transfer, sqliteRunEngineTransfer),
  openRunQueue: async () => undefined,
  readCluster: async () => undefined,
};

const postgresBackend: StateBackend<PostgresStateStore> = {
  runStore: (store, clock) => postgresRunEngine.runStore(store, () => clock.now()),
  requestPermits: (store) => store.requestPermits,
  async scratchCopy(store, _folder, _env, clock) {
    const copy = await copyPostgresState(store, {
      migrations: exportctlPostgresMigrations,
      clock,
      secretKey: scratchKey,
    });
    return { store: copy.store, dispose: copy.dispose };
  },
  transfer: (store) => composeStateTransfer(store.transfer, postgresRunEngine.transfer),
  async openRunQueue(store, options) {
    // Loaded on first use: only watch workers on a PostgreSQL state load pg-boss.
    const { PgBossRunQueue } =
      require('../queue/pg-boss-run-queue') as typeof import('../queue/pg-boss-run-queue');
    return PgBossRunQueue.open({ location: store.connectionSettings, ...options });
  },
  async readCluster(store) {
    const { readClusterView } =
      require('../queue/pg-boss-run-queue') as typeof import('../queue/pg-boss-run-queue');
    return readClusterView((sql, params) => store.pool.query(sql, params), store.schema);
  },
};

/**
 * The state backends, by `StateStore.backend`: the one place that pairs a state with its run store
 * and knows how to copy it. A new backend is a folder under `src/state` (and `src/engine` for its
 * run store) and a line here; nothing else asks which backend a state is.
 */
const stateBackends: Readonly<Record<string, StateBackend<StateStore>>> = {
  // Each entry receives only stores whose `backend` is its key, which is what the casts say.
  sqlite: sqliteBackend as unknown as StateBackend<StateStore>,
  postgres: postgresBackend as unknown as StateBackend<StateStore>,
};

/** The backend entry of `store`, or undefined for a backend the wiring lacks. */
export function findStateBackend(store: StateStore): StateBackend<StateStore> | undefined {
  return stateBackends[store.backend];
}

/** The backend entry of `store`; throws `state-backend-unsupported` for a backend the wiring lacks. */
export function stateBackendOf(store: StateStore): StateBackend<StateStore> {
  const backend = stateBackends[store.backend];
  if (backend === undefined) {
    throw new RunEngineError(
      'state-backend-unsupported',
      `export runs cannot use the state ${store.location}`,
      {
        hint: 'use --state sqlite:PATH (the default) or postgres://…',
      },
    );
  }
  return backend;
}

/** A temp folder for a scratch copy's files, removed if `work` fails. */
export async function inScratchFolder<T>(work: (folder: string) => Promise<T>): Promise<T> {
  const folder = mkdtempSync(join(tmpdir(), 'exportctl-data-plan-'));
  try {
    return await work(folder);
  } catch (error) {
    rmSync(folder, { recursive: true, force: true });
    throw error;
  }
}
