import { rmSync } from 'node:fs';
import type { ResourceChange, RunEngineState, ScratchRunEngineState } from '../engine/control-plane';
import type { RunStore } from '../engine/run-store';
import { connectionRuntime } from '../resources/connection-runtime';
import { withCurrentSourceSecrets, withStoredSourceSecrets } from '../resources/profile-source-secrets';
import { type Clock, type StateStore, systemClock } from '../state';
import { inScratchFolder, stateBackendOf } from './state-backends';
import { rateLimitersFor } from './state-rate-limiters';

/**
 * The run engine's store for an opened state, from the state's backend entry (`state-backends.ts`).
 * Throws `state-backend-unsupported` for a state the engine has no store for.
 */
export function runStoreFor(store: StateStore, clock: Clock = systemClock): RunStore {
  return stateBackendOf(store).runStore(store, clock);
}

/**
 * What the run engine works with, from an opened state: its resources, run history and locks, the
 * run store (`runStoreFor`), the rate limiters every process using it shares (`rateLimitersFor`),
 * the runtime of applied connections, and throwaway copies for previews.
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
    rateLimiters: rateLimitersFor(store),
    connection: (name) => connectionRuntime(store, name),
    sourceWithSecrets: (name, spec) => withStoredSourceSecrets(store.secrets, name, spec),
    scratchCopy: (changes) =>
      scratchCopy(store, changes, options.env ?? process.env, options.clock ?? systemClock),
  };
}

/**
 * A copy of the state (the backend's own: a SQLite file in a temp folder, a scratch schema beside a
 * PostgreSQL one) with `changes` applied as apply would store them, and a temp folder for files.
 */
async function scratchCopy(
  store: StateStore,
  changes: readonly ResourceChange[],
  env: NodeJS.ProcessEnv,
  clock: Clock,
): Promise<ScratchRunEngineState> {
  const backend = stateBackendOf(store);
  // Before copying: a state the engine cannot run on has no data plan either.
  backend.runStore(store, clock);
  return inScratchFolder(async (folder) => {
    const scratch = await backend.scratchCopy(store, folder, env, clock);
    const copy = scratch.store;
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
      await scratch.dispose();
      throw error;
    }
    return {
      ...runEngineStateFor(copy, { env, clock }),
      // What the plan would store: a source it creates or re-points has no stored URL yet.
      sourceWithSecrets: (name, spec) => withCurrentSourceSecrets(copy, env, name, spec),
      folder,
      dispose: async () => {
        try {
          await scratch.dispose();
        } finally {
          rmSync(folder, { recursive: true, force: true });
        }
      },
    };
  });
}
