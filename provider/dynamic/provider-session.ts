import type { HandlerContext } from '../../src/resources';
import { createHandlerContext } from '../../src/resources/live-handler-context';
import { CONTROL_PLANE_LOCK, type LockHandle, type StateStore } from '../../src/state';
import { openExportctlState } from '../../src/wiring/open-exportctl-state';
import type { ProviderSettings } from './provider-settings';

/** What one provider call works with; valid only inside {@link withProviderSession}. */
export interface ProviderSession {
  readonly store: StateStore;
  /** The handlers' context: owner `pulumi`, the real Constant Contact client and source checks. */
  readonly context: HandlerContext;
}

/** How a provider call uses the state: whether it changes it (and so locks), and its secrets. */
export interface ProviderSessionOptions {
  /** Take the control-plane lock for this change (create, update, delete), named as this command. */
  readonly lock?: string;
  /** Values for `{env}` secret references that win over the process environment (stack config). */
  readonly secretEnv?: Readonly<Record<string, string>> | undefined;
}

/**
 * Opens the state store, optionally takes the control-plane lock, runs `work`, then releases the
 * lock and closes the store however `work` ends. Nothing outlives the call: the provider object that
 * Pulumi serializes holds no store, client or timer. Throws what opening the store throws
 * (`StateError`) and `LockTimeoutError` (`lock-timeout`, naming the holder) when the lock stays
 * held past `settings.lockTimeoutMs`; then `work` did not run.
 */
export async function withProviderSession<T>(
  settings: ProviderSettings,
  options: ProviderSessionOptions,
  work: (session: ProviderSession) => Promise<T>,
): Promise<T> {
  const store = await openExportctlState(settings.state, {
    cwd: settings.root,
    env: process.env,
    actor: settings.actor,
  });
  let lock: LockHandle | undefined;
  try {
    if (options.lock) {
      lock = await store.locks.acquire(
        CONTROL_PLANE_LOCK,
        { identity: settings.actor, command: options.lock },
        { timeoutMs: settings.lockTimeoutMs },
      );
    }
    const context = createHandlerContext({
      store,
      owner: 'pulumi',
      env: { ...process.env, ...options.secretEnv },
    });
    return await work({ store, context });
  } finally {
    await lock?.release();
    await store.close();
  }
}
