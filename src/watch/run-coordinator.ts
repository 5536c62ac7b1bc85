/** What started a run in watch mode (the run record's trigger). */
export type WatchTrigger = 'schedule' | 'refresh';

/** How a run ended, as watch mode reports it. */
export interface RunOutcome {
  readonly status: 'succeeded' | 'failed' | 'paused' | 'aborted';
  /** Contacts imported by this run. */
  readonly imported: number;
  readonly removed: number;
  readonly message?: string;
  /** What to do about a failure (the error's hint), when known. */
  readonly hint?: string;
}

/**
 * Starts one export run and resolves when it ends; never rejects for a failed run (that is an
 * outcome). `signal` asks it to stop at its next checkpoint.
 */
export type ExportRunner = (request: {
  destination: string;
  trigger: WatchTrigger;
  signal: AbortSignal;
}) => Promise<RunOutcome>;

export interface RunCoordinatorOptions {
  /** Runs of different destinations at once; they share each connection's rate limiter. */
  readonly maxConcurrent: number;
  readonly onStart?: (destination: string, trigger: WatchTrigger) => void;
  readonly onFinish?: (
    destination: string,
    trigger: WatchTrigger,
    outcome: RunOutcome,
    durationMs: number,
  ) => void;
}

/**
 * Decides when runs start: never two of one destination at once; a schedule firing for a running
 * destination is dropped (the run in progress covers it); a data change during a run queues exactly
 * one more run after it (the data it read may be stale). Different destinations run concurrently,
 * at most `maxConcurrent`.
 */
export class RunCoordinator {
  private readonly running = new Map<string, Promise<void>>();
  private readonly outcomes = new Map<string, Promise<RunOutcome>>();
  private readonly again = new Map<string, WatchTrigger>();
  private readonly waiting: { destination: string; trigger: WatchTrigger }[] = [];
  private readonly controller = new AbortController();
  private stopping = false;

  constructor(
    private readonly runner: ExportRunner,
    private readonly options: RunCoordinatorOptions,
  ) {}

  /**
   * Asks for a run. `started`: it began now; `queued`: it waits for a free slot or for the same
   * destination's current run (data changes only); `skipped`: a run of it is already in progress.
   */
  request(
    destination: string,
    trigger: WatchTrigger,
    reason: 'schedule' | 'data-changed',
  ): 'started' | 'queued' | 'skipped' {
    if (this.stopping) return 'skipped';
    if (this.running.has(destination)) {
      if (reason === 'schedule') return 'skipped';
      this.again.set(destination, trigger);
      return 'queued';
    }
    if (this.waiting.some((item) => item.destination === destination)) return 'skipped';
    if (this.running.size >= this.options.maxConcurrent) {
      this.waiting.push({ destination, trigger });
      return 'queued';
    }
    this.start(destination, trigger);
    return 'started';
  }

  /**
   * Runs `destination` now and resolves how it ended: for a queue worker, whose queue already
   * decided that it runs (one job of a destination at a time, at most `maxConcurrent` per worker).
   * A run of it already in progress here is not started twice: the answer is that run's outcome.
   */
  run(destination: string, trigger: WatchTrigger): Promise<RunOutcome> {
    if (this.stopping)
      return Promise.resolve({
        status: 'paused',
        imported: 0,
        removed: 0,
        message: 'watch mode is stopping',
      });
    const running = this.outcomes.get(destination);
    if (running) return running;
    return this.start(destination, trigger);
  }

  /** Whether {@link stop} was called. */
  get isStopping(): boolean {
    return this.stopping;
  }

  /** Destinations with a run in progress. */
  active(): string[] {
    return [...this.running.keys()].sort();
  }

  /**
   * Stops taking work and asks the runs in progress to stop at their next checkpoint; resolves when
   * they have, or after `timeoutMs` (resolving `false`).
   */
  async stop(timeoutMs: number): Promise<boolean> {
    this.stopping = true;
    this.waiting.length = 0;
    this.again.clear();
    this.controller.abort(new Error('watch mode is stopping'));
    const all = Promise.allSettled([...this.running.values()]).then(() => true);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    try {
      return await Promise.race([all, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  private start(destination: string, trigger: WatchTrigger): Promise<RunOutcome> {
    this.options.onStart?.(destination, trigger);
    const started = performance.now();
    const outcome = this.runner({ destination, trigger, signal: this.controller.signal })
      .catch(
        (error: unknown): RunOutcome => ({
          status: 'failed',
          imported: 0,
          removed: 0,
          message: error instanceof Error ? error.message : String(error),
        }),
      )
      .then((outcome) => {
        this.running.delete(destination);
        this.outcomes.delete(destination);
        this.options.onFinish?.(destination, trigger, outcome, performance.now() - started);
        this.next(destination);
        return outcome;
      });
    this.running.set(
      destination,
      outcome.then(() => undefined),
    );
    this.outcomes.set(destination, outcome);
    return outcome;
  }

  private next(finished: string): void {
    if (this.stopping) return;
    const again = this.again.get(finished);
    if (again) {
      this.again.delete(finished);
      this.start(finished, again);
      return;
    }
    while (this.running.size < this.options.maxConcurrent && this.waiting.length > 0) {
      const item = this.waiting.shift();
      if (item && !this.running.has(item.destination)) this.start(item.destination, item.trigger);
    }
  }
}
