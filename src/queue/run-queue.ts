/** What started a queued run: the run record's trigger, as watch mode passes it. */
export type QueuedTrigger = 'schedule' | 'refresh';

/** One run to do, as a worker takes it from the queue. */
export interface QueuedRun {
  /** The job's id (deterministic: derived from `key`). */
  readonly id: string;
  readonly destination: string;
  readonly trigger: QueuedTrigger;
  /** What asked for it: `schedule:<destination>@<ISO time>` or `data:<destination>@<fingerprint>`. */
  readonly key: string;
  /** 0 the first time; more when a lost or stopping worker handed it back. */
  readonly attempt: number;
}

/** How a worker's run of a queued job ended, for the queue. */
export type QueuedRunResult =
  | { readonly done: true; readonly status: string }
  /** Stopped at its checkpoint because this worker is stopping: another worker continues it. */
  | { readonly done: false; readonly reason: string };

/** A worker of the cluster, as the cluster table says. */
export interface ClusterWorker {
  readonly id: string;
  readonly hostname: string;
  readonly pid: number;
  /** Its session holds its worker lock: the process is up and reaches the database. */
  readonly alive: boolean;
  readonly startedAt: string;
  /** Seconds since its last heartbeat, by the database's clock (no host clock is compared). */
  readonly heartbeatAgeSeconds: number;
  readonly maxConcurrentRuns: number;
  /** The runs it has in progress. */
  readonly runs: readonly { destination: string; trigger: string; jobId: string; since: string }[];
}

/** What the cluster is doing: its workers, which run is where, and the queue's depth. */
export interface ClusterView {
  readonly queue: string;
  readonly workers: readonly ClusterWorker[];
  /** Jobs waiting for a worker (new, and handed back for another attempt). */
  readonly queued: number;
  readonly retrying: number;
  /** Jobs a worker has taken. */
  readonly active: number;
}

/** A run asked of the queue. */
export interface RunRequest {
  readonly destination: string;
  readonly trigger: QueuedTrigger;
  /** What asks for it (a schedule's firing, a file's version): N workers asking with one key make one job. */
  readonly key: string;
  /**
   * The key names a kind of change rather than one change (a database's changeDetection, which has
   * no version all workers see alike): a job of the key that was already taken (or ended) may have
   * read the data before this change, so this request then gets a job of its own. The
   * destination's one waiting job at most still holds; a worker that sees the change after
   * another took the job makes one extra run (which finds nothing more to send), never a missed one.
   */
  readonly laterChangesShareKey?: boolean;
}

/**
 * The shared queue of export runs that the watch processes of one state work off together (a
 * PostgreSQL state: see `pg-boss-run-queue.ts`). Enqueuing is idempotent per key: N workers asking
 * for the same firing make one job.
 */
export interface RunQueue {
  /** Asks for a run; resolves whether this call created the job (false: it exists, or one is waiting). */
  enqueue(request: RunRequest): Promise<boolean>;
  /**
   * Starts taking jobs, at most `concurrency` at once; `run` resolves how each ended. A job whose
   * worker dies is handed to another worker, which resumes it from its checkpoint.
   */
  work(concurrency: number, run: (job: QueuedRun) => Promise<QueuedRunResult>): Promise<void>;
  /** Stops taking new jobs; the ones in progress go on until they end. */
  stopTaking(): Promise<void>;
  /** The cluster as the database says now. */
  cluster(): Promise<ClusterView>;
  /** This worker's id in the cluster table. */
  readonly workerId: string;
  /** Leaves the cluster: waits up to `timeoutMs` for the jobs in progress, then closes. */
  close(timeoutMs: number): Promise<void>;
}

/** The key of a scheduled firing: every worker computes the same one for the same cron slot. */
export function firingKey(destination: string, firedAt: number): string {
  return `schedule:${destination}@${new Date(firedAt).toISOString()}`;
}
