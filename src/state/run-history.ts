import type { JsonObject } from './spec-hash';

/** What started a run. */
export type RunTrigger = 'manual' | 'schedule' | 'refresh';

export type RunStatus = 'running' | 'succeeded' | 'failed' | 'paused' | 'aborted';

/** A status a run can end with. */
export type FinishedRunStatus = Exclude<RunStatus, 'running'>;

/** One export run, as `exportctl runs` and `status` show it. */
export interface RunRecord {
  /** Increasing: a later run has a larger id. */
  readonly id: number;
  readonly destination: string;
  readonly trigger: RunTrigger;
  /** Who asked for it; undefined for scheduled runs without an identity. */
  readonly actor: string | undefined;
  readonly status: RunStatus;
  readonly startedAt: number;
  readonly finishedAt: number | undefined;
  /** The commit of the manifests' Git checkout, when known. */
  readonly gitCommit: string | undefined;
  /** Counts, timings, the errors CSV path…: the run engine defines its shape. */
  readonly record: JsonObject;
}

export interface RunToStart {
  readonly destination: string;
  readonly trigger: RunTrigger;
  readonly actor?: string | undefined;
  readonly gitCommit?: string | undefined;
  readonly record?: JsonObject;
}

export interface RunUpdate {
  /** A run that waits in its process (for the daily quota) is `paused` and still unfinished. */
  readonly status?: 'running' | 'paused';
  /** Replaces the whole record. */
  readonly record?: JsonObject;
}

export interface RunFinish {
  readonly status: FinishedRunStatus;
  /** Replaces the whole record; omitted keeps it. */
  readonly record?: JsonObject;
}

export interface RunQuery {
  readonly destination?: string;
  /** At most this many runs; 50 when omitted. */
  readonly limit?: number;
  /** Only runs older than this one in the list's order (a cursor: pass the last run of a page). */
  readonly before?: Pick<RunRecord, 'id' | 'startedAt'>;
}

/** The run history. Finished runs are final: updating one throws `run-already-finished`. */
export interface RunHistory {
  /** Records a new run, status `running`, started now. */
  start(run: RunToStart): Promise<RunRecord>;
  /** Changes a running run's status or record. Throws `run-not-found` / `run-already-finished`. */
  update(id: number, update: RunUpdate): Promise<RunRecord>;
  /** Ends a running run now. Throws `run-not-found` / `run-already-finished`. */
  finish(id: number, finish: RunFinish): Promise<RunRecord>;
  get(id: number): Promise<RunRecord | undefined>;
  /** Newest first (by start time, then id). */
  list(query?: RunQuery): Promise<RunRecord[]>;
  /** The newest run of each destination that has one, sorted by destination. */
  lastPerDestination(): Promise<RunRecord[]>;
}
