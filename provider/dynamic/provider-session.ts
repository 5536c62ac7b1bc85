import type { HandlerContext } from '../../src/resources';
import { createHandlerContext, sharedListings } from '../../src/resources/live-handler-context';
import { CONTROL_PLANE_LOCK, type LockHandle, type ResourceOwner, type StateStore } from '../../src/state';
import { openExportctlState } from '../../src/wiring/open-exportctl-state';
import { rateLimitersFor } from '../../src/wiring/state-rate-limiters';
import type { ProviderSettings } from './provider-settings';

/**
 * The host runs the calls of one `pulumi up` in one process, many at once: calls that need a
 * connection's listing of lists while another call is waiting for it share that answer, so 100
 * destination creates do not make 100 requests at Constant Contact's 4 per second. Only requests in
 * flight are shared (nothing is cached across calls), and a list missing from a listing is still
 * asked for directly.
 */
const listingsInFlight = sharedListings();

/** What one provider call works with; valid only inside {@link withProviderSession}. */
export interface ProviderSession {
  readonly store: StateStore;
  /** The handlers' context: the session's owner, the real Constant Contact client and source checks. */
  readonly context: HandlerContext;
}

/** How a provider call uses the state: whether it changes it (and so locks), and its secrets. */
export interface ProviderSessionOptions {
  /** Take the control-plane lock for this change (create, update, delete), named as this command. */
  readonly lock?: string;
  /** Values for `{env}` secret references that win over the process environment (stack config). */
  readonly secretEnv?: Readonly<Record<string, string>> | undefined;
  /**
   * Who the handlers write as: the calling stack (`pulumi:<org>/<project>/<stack>`, see
   * `stackOwner`); default the legacy owner `pulumi`, for calls that write no resource.
   */
  readonly owner?: ResourceOwner | undefined;
  /**
   * Runs first, before the lock is taken, with the same session `work` gets (so what it read from
   * Constant Contact answers `work`'s checks too): the remote verification of a change, which may
   * wait on the API's rate limit and so must not hold the lock. If it throws, the lock is never
   * taken and `work` does not run.
   */
  readonly beforeLock?: ((session: ProviderSession) => Promise<void>) | undefined;
}

/**
 * Opens the state store, runs `beforeLock` if given, optionally takes the control-plane lock, runs
 * `work`, then releases the lock and closes the store however they end. Nothing outlives the call
 * (but a listing other calls are waiting for): the provider object that Pulumi serializes holds no
 * store, client or timer. Throws what opening the store throws
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
    const context = createHandlerContext({
      store,
      owner: options.owner ?? 'pulumi',
      env: { ...process.env, ...options.secretEnv },
      sharedListings: listingsInFlight,
      // The state's permit store: the calls of this process, and every other process on the
      // state (a run, watch), count together against each API key's requests per second.
      rateLimiters: rateLimitersFor(store),
    });
    await options.beforeLock?.({ store, context });
    if (options.lock) {
      lock = await store.locks.acquire(
        CONTROL_PLANE_LOCK,
        { identity: settings.actor, command: options.lock },
        { timeoutMs: settings.lockTimeoutMs },
      );
    }
    return await work({ store, context });
  } finally {
    await lock?.release();
    await store.close();
  }
}
