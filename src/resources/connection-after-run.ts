import type { ExportDestinationSpec } from '../config';
import { CONTROL_PLANE_LOCK, type LockHolder, resourceState, type StateStore, stateReason } from '../state';
import { failureReason, isCredentialRejection } from './failure-reason';
import { type ObservedStatus, recordObservation } from './resource-handler';

/** How a run of a destination ended, as far as its connection is concerned. */
export interface RunOnConnection {
  /** The run sent its requests and succeeded (a dry run sends none: false). */
  readonly accepted: boolean;
  /** Why it failed, when it did. */
  readonly error?: unknown;
}

/**
 * Records what a run found out about its destination's connection, so that `status` does not show
 * a connection Ready while its runs fail on it: a run that Constant Contact refused for the
 * connection's credentials marks the connection Stalled (`CredentialsRejected`, with the error's
 * message); a run that was accepted proves them again, so a connection Stalled for its credentials
 * becomes Ready. Conditions are written under the control-plane lock, as apply writes them, so an
 * apply in another process is never overwritten by what a run saw before it; when the lock is busy,
 * nothing is written (the next refresh or run tells). Best effort, like `recordObservation`: it never
 * fails the run it follows.
 */
export async function recordRunOnConnection(
  store: StateStore,
  destination: string,
  run: RunOnConnection,
  holder: LockHolder,
): Promise<void> {
  const rejected = isCredentialRejection(run.error);
  if (!rejected && !run.accepted) return;
  const observation = async (): Promise<{ connection: string; status: ObservedStatus } | undefined> => {
    const spec = (await store.resources.get('ExportDestination', destination))?.spec as
      | ExportDestinationSpec
      | undefined;
    const connection = spec && (await store.resources.get('Connection', spec.connection));
    if (!connection) return undefined;
    if (rejected) {
      const message = run.error instanceof Error ? run.error.message : String(run.error);
      return {
        connection: connection.name,
        status: {
          ready: false,
          reason: failureReason(run.error),
          message: `a run of ExportDestination/${destination} was refused: ${message}`,
        },
      };
    }
    if (resourceState(connection) !== 'Stalled' || stateReason(connection)?.reason !== 'CredentialsRejected')
      return undefined;
    return {
      connection: connection.name,
      status: {
        ready: true,
        reason: 'Verified',
        message: `the credentials work: a run of ExportDestination/${destination} was accepted`,
      },
    };
  };
  try {
    // Most accepted runs change nothing: look before taking the lock, and again once it is held.
    if (!(await observation())) return;
    await store.locks.withLock(CONTROL_PLANE_LOCK, holder, { timeoutMs: 0 }, async () => {
      const found = await observation();
      if (found) await recordObservation(store, 'Connection', found.connection, found.status);
    });
  } catch {
    // The lock was busy, or the state failed: the run's own outcome is what the caller reports.
  }
}
