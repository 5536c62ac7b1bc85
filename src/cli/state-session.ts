import { throttledNotices } from '../net';
import { type LockHandle, lockCheck, type StateStore } from '../state';
import { openExportctlState } from '../wiring/open-exportctl-state';
import { type CliContext, type GlobalOptions, writeLine } from './cli-context';

export interface StateSession {
  readonly store: StateStore;
  /**
   * Throws `lock-lost` when the session's lock (if taken) is no longer held by this process; checked
   * at most once a second (see `lockCheck`).
   */
  assertLockHeld(): Promise<void>;
  /** Releases the lock (if taken) and closes the store; safe to call twice. */
  close(): Promise<void>;
}

/**
 * Opens the state named by `--state` / EXPORTCTL_STATE (default `sqlite:.exportctl/state.db`) and,
 * when `lock` is given, takes the control-plane lock, waiting up to `lockTimeoutMs` and failing with
 * a message that names the holder.
 */
export async function openStateSession(
  options: GlobalOptions,
  context: CliContext,
  actor: string | undefined,
  lock?: { command: string; timeoutMs: number },
): Promise<StateSession> {
  const store = await openExportctlState(options.state, {
    cwd: context.cwd,
    env: context.env,
    ...(actor ? { actor } : {}),
    onConnectionFault: throttledNotices((line) => writeLine(context.stderr, `warning: ${line}`)),
  });
  let handle: LockHandle | undefined;
  try {
    if (lock) {
      handle = await store.locks.acquire(
        'control-plane',
        { identity: actor ?? 'unknown', command: lock.command },
        { timeoutMs: lock.timeoutMs },
      );
    }
  } catch (error) {
    await store.close();
    throw error;
  }
  let closed = false;
  const check = handle === undefined ? async () => {} : lockCheck(handle);
  return {
    store,
    assertLockHeld: check,
    async close() {
      if (closed) return;
      closed = true;
      await handle?.release();
      await store.close();
    },
  };
}
