/** How a fan-out buffers; see `SharedBatches`. */
export interface SharedBatchesOptions {
  /**
   * Batches read ahead of the slowest consumer, at most; default 4. The source is not read further
   * until that consumer has taken one, so memory is this many batches whatever the consumers' speed.
   */
  readonly maxBuffered?: number;
}

const defaults = { maxBuffered: 4 } satisfies Required<SharedBatchesOptions>;

/**
 * One iteration of a batch source handed to several consumers: each sees every batch, in order,
 * and the source's failure after the batches before it, as if it iterated the source alone. The
 * source is opened (`open`) once the first consumer asks for a batch, and read ahead of the
 * slowest consumer by at most `maxBuffered` batches (back-pressure: memory is bounded by the
 * slowest, the fastest waits for it). A consumer that stops early (`return`, as `for await` does on
 * a `break` or a throw) detaches at once and holds no one back; when every consumer has detached,
 * the source is closed (its `return`).
 *
 * Consumers join with `consumer()` before the read starts: `start()` (or the first batch asked for
 * once `start()` has been called) begins it for those that joined; a consumer that joins after the
 * read began reads the source on its own (`open` again) rather than miss batches. A batch is the
 * same object for every consumer: consumers must not change it. `B` is whatever a batch is (an array
 * of rows; for `SharedSourceRead`, the rows with each member's share of them).
 */
export class SharedBatches<B> {
  private readonly options: Required<SharedBatchesOptions>;
  /** Batches not yet taken by every attached consumer; `base` is the index of the first. */
  private buffer: B[] = [];
  private base = 0;
  private readonly cursors = new Map<symbol, number>();
  private started = false;
  private reading = false;
  private ended = false;
  private failed = false;
  private failure: unknown;
  private source: AsyncIterator<B> | undefined;
  private waiters: (() => void)[] = [];

  constructor(
    private readonly open: () => AsyncIterable<B>,
    options: SharedBatchesOptions = {},
  ) {
    this.options = { ...defaults, ...options };
  }

  /** Consumers attached now (joined and not detached). */
  get consumers(): number {
    return this.cursors.size;
  }

  /** Whether the read has begun (no consumer can join any more). */
  get hasStarted(): boolean {
    return this.started;
  }

  /**
   * A consumer's view, iterated once. Joining happens now, so that the read waits for it; iterate
   * it, or `return()` it to detach without reading.
   */
  consumer(): AsyncIterator<B> & AsyncIterable<B> {
    if (this.started) {
      const own = this.open()[Symbol.asyncIterator]();
      return Object.assign(own, { [Symbol.asyncIterator]: () => own });
    }
    const id = Symbol('consumer');
    this.cursors.set(id, 0);
    const detach = () => {
      if (!this.cursors.delete(id)) return;
      this.trim();
      if (this.cursors.size === 0 && this.started) this.close();
      this.wake();
    };
    const next = async (): Promise<IteratorResult<B>> => {
      for (;;) {
        const at = this.cursors.get(id);
        if (at === undefined) return { done: true, value: undefined };
        const batch = this.buffer[at - this.base];
        if (batch !== undefined) {
          this.cursors.set(id, at + 1);
          this.trim();
          this.wake();
          return { done: false, value: batch };
        }
        if (this.failed) {
          detach();
          throw this.failure;
        }
        if (this.ended) {
          detach();
          return { done: true, value: undefined };
        }
        if (this.started) this.pump();
        await this.changed();
      }
    };
    const iterator: AsyncIterator<B> & AsyncIterable<B> = {
      next,
      return: async () => {
        detach();
        return { done: true, value: undefined };
      },
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }

  /** Begins the read for the consumers that joined (none joins after); idempotent. */
  start(): void {
    if (this.started) return;
    this.started = true;
    if (this.cursors.size === 0) {
      this.ended = true;
      return;
    }
    this.pump();
  }

  /** Reads batches while the slowest consumer is fewer than `maxBuffered` behind; one loop at a time. */
  private pump(): void {
    if (this.reading || this.ended || this.failed) return;
    // A full buffer waits for the slowest consumer's `trim`. Starting a read that would return at
    // once, and waking every waiter when it did, let a waiting consumer wake itself in microtasks
    // forever and starve the event loop (so a consumer waiting on I/O never caught up).
    if (this.cursors.size === 0 || this.buffer.length >= this.options.maxBuffered) return;
    this.reading = true;
    void this.read().finally(() => {
      this.reading = false;
      this.wake();
    });
  }

  private async read(): Promise<void> {
    try {
      this.source ??= this.open()[Symbol.asyncIterator]();
      while (this.cursors.size > 0 && this.buffer.length < this.options.maxBuffered) {
        const result = await this.source.next();
        if (result.done) {
          this.ended = true;
          return;
        }
        // Every consumer may have left while this batch was read: nobody to keep it for.
        if (this.cursors.size === 0) return;
        this.buffer.push(result.value);
        this.wake();
      }
    } catch (error) {
      this.failed = true;
      this.failure = error;
    }
  }

  /** Drops the batches every attached consumer has taken. */
  private trim(): void {
    let lowest = Number.POSITIVE_INFINITY;
    for (const at of this.cursors.values()) lowest = Math.min(lowest, at);
    if (!Number.isFinite(lowest)) lowest = this.base + this.buffer.length;
    const drop = lowest - this.base;
    if (drop <= 0) return;
    this.buffer = this.buffer.slice(drop);
    this.base = lowest;
    if (this.started) this.pump();
  }

  private close(): void {
    this.buffer = [];
    if (this.ended || this.failed) return;
    this.ended = true;
    const source = this.source;
    // The read loop may be awaiting `next()`: closing a generator then would be refused, so close it
    // once that batch has come.
    const finish = () => void source?.return?.(undefined)?.catch(() => {});
    if (this.reading) {
      const waitForRead = async () => {
        while (this.reading) await this.changed();
        finish();
      };
      void waitForRead();
    } else finish();
  }

  private changed(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const resolve of waiters) resolve();
  }
}
