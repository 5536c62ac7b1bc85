import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ResourceChange, RunEngineState, ScratchRunEngineState } from '../engine/control-plane';
import { RunEngineError } from '../engine/run-engine-errors';
import type { RunStore } from '../engine/run-store';
import { SqliteRunStore } from '../engine/sqlite';
import { connectionRuntime } from '../resources/connection-runtime';
import { type Clock, SqliteStateStore, type StateStore, systemClock } from '../state';
import { openExportctlState } from './open-exportctl-state';

/**
 * The run engine's store for an opened state: the one place that knows which backend the state is
 * and which run store goes with it (a second backend adds a case here and a folder under
 * `src/engine`). Throws `state-backend-unsupported` for a state the engine has no store for.
 */
export function runStoreFor(store: StateStore, clock: Clock = systemClock): RunStore {
  if (store instanceof SqliteStateStore) return new SqliteRunStore(store.sqlite, () => clock.now());
  throw new RunEngineError(
    'state-backend-unsupported',
    `export runs need a SQLite state; ${store.location} is not one`,
    { hint: 'use --state sqlite:PATH (the default)' },
  );
}

/**
 * What the run engine works with, from an opened state: its resources, run history and locks, the
 * run store (`runStoreFor`), the runtime of applied connections, and throwaway copies for previews.
 * `env` is read when a copy is opened (EXPORTCTL_* besides the secret key); default process.env.
 */
export function runEngineStateFor(
  store: StateStore,
  options: { readonly clock?: Clock; readonly env?: NodeJS.ProcessEnv } = {},
): RunEngineState {
  const runStore = runStoreFor(store, options.clock);
  return {
    location: store.location,
    resources: store.resources,
    runs: store.runs,
    locks: store.locks,
    runStore,
    connection: (name) => connectionRuntime(store, name),
    scratchCopy: (changes) => scratchCopy(store, changes, options.env ?? process.env),
  };
}

/** A copy of the SQLite state in a temp folder with `changes` applied as apply would store them. */
async function scratchCopy(
  store: StateStore,
  changes: readonly ResourceChange[],
  env: NodeJS.ProcessEnv,
): Promise<ScratchRunEngineState> {
  if (!(store instanceof SqliteStateStore)) runStoreFor(store);
  const sqlite = (store as SqliteStateStore).sqlite;
  const folder = mkdtempSync(join(tmpdir(), 'exportctl-data-plan-'));
  try {
    await sqlite.backup(join(folder, 'state.db'));
    // A key of its own: the copy's secrets are never read (a dry run makes no request).
    const copy = await openExportctlState(`sqlite:${join(folder, 'state.db')}`, {
      cwd: folder,
      env: { ...env, EXPORTCTL_SECRET_KEY: Buffer.alloc(32, 7).toString('base64') },
    });
    try {
      for (const change of changes) {
        const existing = await copy.resources.get(change.kind, change.name);
        if (existing && (change.replace || change.spec === undefined))
          await copy.resources.delete(change.kind, change.name, existing.owner);
        if (change.spec !== undefined) {
          await copy.resources.put({
            kind: change.kind,
            name: change.name,
            owner: existing?.owner ?? 'exportctl',
            spec: change.spec,
          });
          if (change.facts !== undefined)
            await copy.resources.setRemoteFacts(change.kind, change.name, change.facts);
        }
      }
    } catch (error) {
      await copy.close();
      throw error;
    }
    return {
      ...runEngineStateFor(copy, { env }),
      folder,
      dispose: async () => {
        await copy.close();
        rmSync(folder, { recursive: true, force: true });
      },
    };
  } catch (error) {
    rmSync(folder, { recursive: true, force: true });
    throw error;
  }
}
