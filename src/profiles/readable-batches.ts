import { finished, type Readable } from 'node:stream';

/**
 * Reads an object-mode stream like `for await`, but hands over everything buffered at once: one
 * await per parsed chunk instead of one per record, which at 1,000,000 records is a visible share of
 * the read time. Ends when the stream ends; throws the stream's error; destroys the stream when the
 * consumer stops early (or at the end).
 */
export async function* readableBatches<T>(stream: Readable): AsyncGenerator<T[]> {
  let wake = () => {};
  let ended = false;
  let failure: unknown;
  const onReadable = () => wake();
  stream.on('readable', onReadable);
  const cleanup = finished(stream, { writable: false }, (error) => {
    ended = true;
    failure = error;
    wake();
  });
  try {
    while (true) {
      const batch: T[] = [];
      for (let item: T | null = stream.read(); item !== null; item = stream.read()) batch.push(item);
      if (batch.length > 0) yield batch;
      else if (failure) throw failure;
      else if (ended) return;
      else
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
    }
  } finally {
    stream.off('readable', onReadable);
    cleanup();
    stream.destroy();
  }
}

/** One item at a time from batches (the per-row readers are this over the batch readers). */
export async function* flattenBatches<T>(batches: AsyncIterable<readonly T[]>): AsyncGenerator<T> {
  for await (const batch of batches) yield* batch;
}
