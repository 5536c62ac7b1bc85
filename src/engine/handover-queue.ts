/**
 * Items handed from a producer to one consumer as they come: `push` them, `end` once there are no
 * more; iterating waits for the next. Unbounded (the producer here cuts a few dozen import batches
 * at most, each a few numbers), iterable once.
 */
export class HandoverQueue<T> implements AsyncIterable<T> {
  private readonly items: T[] = [];
  private ended = false;
  private wake: (() => void) | undefined;
  private iterated = false;

  /** Queues `item`; after `end` (the producer failed, its consumer stopped) it is dropped. */
  push(item: T): void {
    if (this.ended) return;
    this.items.push(item);
    this.notify();
  }

  end(): void {
    this.ended = true;
    this.notify();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T> {
    if (this.iterated) throw new Error('HandoverQueue: iterated twice');
    this.iterated = true;
    for (;;) {
      const item = this.items.shift();
      if (item !== undefined) {
        yield item;
        continue;
      }
      if (this.ended) return;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}
