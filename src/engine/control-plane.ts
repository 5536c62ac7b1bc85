import type { ManifestKind, ProfileSourceSpec } from '../config';
import type { RateLimiterRegistry } from '../constant-contact/rate-limiter-registry';
import type { ConnectionRuntime } from '../resources/remote-services';
import type { RunStore } from './run-store';

/**
 * What the run engine needs from the control plane's state (applied resources, run history,
 * locks), as interfaces the engine owns. `src/state`'s types satisfy them structurally: the wiring
 * passes its StateStore's parts, and the engine imports nothing from `src/state` (a second state
 * backend changes nothing here).
 */

/** A JSON value as the state stores it (run records, specs). */
export type JsonValue = string | number | boolean | null | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue | undefined;
}

/** What started a run. */
export type RunTrigger = 'manual' | 'schedule' | 'refresh';

export type RunStatus = 'running' | 'succeeded' | 'failed' | 'paused' | 'aborted';

/** A status a run can end with. */
export type FinishedRunStatus = Exclude<RunStatus, 'running'>;

/** One export run, as the run history holds it. */
export interface RunRecord {
  /** Increasing: a later run has a larger id. */
  readonly id: number;
  readonly destination: string;
  readonly trigger: RunTrigger;
  readonly actor: string | undefined;
  readonly status: RunStatus;
  readonly startedAt: number;
  readonly finishedAt: number | undefined;
  readonly gitCommit: string | undefined;
  /** The run engine's record (see `ExportRunRecord`). */
  readonly record: JsonObject;
}

/**
 * The run history. Finished runs are final: updating one throws `run-already-finished`; an unknown
 * id throws `run-not-found`.
 */
export interface RunHistoryPort {
  /** Records a new run, status `running`, started now. */
  start(run: {
    readonly destination: string;
    readonly trigger: RunTrigger;
    readonly actor?: string | undefined;
    readonly gitCommit?: string | undefined;
    readonly record?: JsonObject;
  }): Promise<RunRecord>;
  /** Changes a running run's status (`running` or `paused`) or replaces its record. */
  update(
    id: number,
    update: { readonly status?: 'running' | 'paused'; readonly record?: JsonObject },
  ): Promise<RunRecord>;
  /** Ends a running run now. */
  finish(
    id: number,
    finish: { readonly status: FinishedRunStatus; readonly record?: JsonObject },
  ): Promise<RunRecord>;
  get(id: number): Promise<RunRecord | undefined>;
  /** Newest first (by start time, then id); at most `limit` (50 when omitted), older than `before`. */
  list(query?: {
    readonly destination?: string;
    readonly limit?: number;
    readonly before?: Pick<RunRecord, 'id' | 'startedAt'>;
  }): Promise<RunRecord[]>;
}

/** The lock a run of a destination holds: `destination:<name>`. */
export type DestinationLockName = `destination:${string}`;

/** The lock a run of `destination` holds, so two runs of one destination never overlap. */
export function destinationLockName(destination: string): DestinationLockName {
  return `destination:${destination}`;
}

/** Who holds a lock, as the state records it. */
export interface LockHolderRecord {
  readonly lock: string;
  readonly identity: string;
  readonly command: string;
  readonly pid: number;
  readonly hostname: string;
  readonly since: number;
  readonly heartbeatAt: number;
}

/** A stale holder whose lock was taken over, with why it was judged stale. */
export interface StaleHolderTakenOver {
  readonly holder: LockHolderRecord;
  readonly reason: string;
}

/** A held lock. */
export interface HeldLock {
  readonly tookOver: StaleHolderTakenOver | undefined;
  /** Releases the lock if still held; later calls do nothing. */
  release(): Promise<void>;
  /** Throws `lock-lost` if the lock was released or taken over. */
  assertHeld(): Promise<void>;
}

/** The state's named locks, shared by every process that opens it. */
export interface RunLocks {
  /**
   * Takes `name`, waiting up to `timeoutMs` (0: one try). Throws an ExportctlError with code
   * `lock-timeout` when it stays held.
   */
  acquire(
    name: DestinationLockName,
    holder: { readonly identity: string; readonly command: string },
    options?: { readonly timeoutMs?: number },
  ): Promise<HeldLock>;
  /** The current holder of `name`, or undefined when it is free. */
  holder(name: DestinationLockName): Promise<LockHolderRecord | undefined>;
}

/** One applied resource, as much of it as the engine reads. */
export interface AppliedResourceView {
  readonly kind: ManifestKind;
  readonly name: string;
  readonly owner: string;
  readonly spec: JsonObject;
  readonly generation: number;
  readonly remoteFacts: { readonly facts: JsonObject } | undefined;
  /** When it was first applied (epoch ms). */
  readonly createdAt: number;
}

/** The applied resources, read only. */
export interface AppliedResources {
  get(kind: ManifestKind, name: string): Promise<AppliedResourceView | undefined>;
  list(filter: { readonly kind: ManifestKind }): Promise<AppliedResourceView[]>;
}

/**
 * Everything a run works with: the control plane's parts, the engine's durable state (`runStore`),
 * and how to reach an applied connection. Built by the wiring from an opened state
 * (`runEngineStateFor`), never by the engine.
 */
export interface RunEngineState {
  /** Where the state is, for messages and the default folder of row-issue CSVs. */
  readonly location: string;
  readonly resources: AppliedResources;
  readonly runs: RunHistoryPort;
  readonly locks: RunLocks;
  readonly runStore: RunStore;
  /**
   * The rate limiters of the API keys runs on this state use, shared with every other process that
   * uses it (the wiring's `rateLimitersFor`). Absent: this process's only (`sharedRateLimiters`).
   */
  readonly rateLimiters?: RateLimiterRegistry;
  /** The runtime (credentials, endpoints, token store) of the applied connection `name`. */
  connection(name: string): Promise<ConnectionRuntime>;
  /**
   * The applied source `name`'s spec holding the secrets the state keeps for it (a postgres
   * source's database URL, decrypted) for the read to connect with; the spec as it is when it has
   * none. Left out (a state without secrets), the spec is read as it is.
   */
  sourceWithSecrets?(name: string, spec: ProfileSourceSpec): Promise<ProfileSourceSpec>;
  /**
   * A throwaway copy of this state with `changes` applied to its resources as apply would store
   * them (a replaced or deleted destination's snapshot and checkpoint dropped with it), for a plan's
   * preview to dry-run against. The copy's secrets are never read; this state is only read.
   * `dispose` deletes the copy.
   */
  scratchCopy(changes: readonly ResourceChange[]): Promise<ScratchRunEngineState>;
}

/** One planned change of the control plane, as apply would store it. */
export interface ResourceChange {
  readonly kind: ManifestKind;
  readonly name: string;
  /** The spec as apply stores it; undefined for a delete. */
  readonly spec: JsonObject | undefined;
  /** The facts apply records with it (a ProfileSource's folder), if any. */
  readonly facts?: JsonObject | undefined;
  /** A replacement: the resource (and a destination's snapshot) starts over. */
  readonly replace: boolean;
}

/** A copy of the state for previews, deleted by `dispose`. */
export interface ScratchRunEngineState extends RunEngineState {
  /** A folder beside the copy for the files the previews write (row-issue CSVs). */
  readonly folder: string;
  dispose(): Promise<void>;
}
