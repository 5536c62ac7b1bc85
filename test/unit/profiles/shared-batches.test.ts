import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { SharedBatches } from '../../../src/profiles';

/**
 * The slow-and-fast-consumer case of the test below, on the built module in a worker thread: a
 * consumer that spins in microtasks starves the event loop, so no timer of this thread could end
 * the test; the worker is terminated from outside instead, and the test fails rather than hangs.
 */
const spinCase = `
const { parentPort, workerData } = require('node:worker_threads');
const { SharedBatches } = require(workerData.module);
const source = () => (async function* () { for (let i = 0; i < 20; i++) yield [i]; })();
const shared = new SharedBatches(source, { maxBuffered: 2 });
const fast = shared.consumer();
const slow = shared.consumer();
shared.start();
const drain = async (consumer, wait) => {
  let rows = 0;
  for (let next = await consumer.next(); !next.done; next = await consumer.next()) {
    rows += next.value.length;
    if (wait) await new Promise((resolve) => setTimeout(resolve, 1));
  }
  return rows;
};
Promise.all([drain(fast, false), drain(slow, true)]).then((rows) => parentPort.postMessage(rows));
`;

/** A batch source that counts its opens, the batches it gave, and whether it was closed. */
function countingSource(batches: number, options: { failAfter?: number } = {}) {
  const log = { opens: 0, given: 0, closed: false };
  const open = () => {
    log.opens++;
    return (async function* () {
      try {
        for (let i = 0; i < batches; i++) {
          if (options.failAfter === i) throw new Error('disk gone');
          log.given++;
          yield [i * 10, i * 10 + 1];
        }
      } finally {
        log.closed = true;
      }
    })();
  };
  return { open, log };
}

async function drain(batches: AsyncIterable<number[]>, onBatch: () => Promise<void> | void = () => {}) {
  const rows: number[] = [];
  for await (const batch of batches) {
    rows.push(...batch);
    await onBatch();
  }
  return rows;
}

const allRows = (batches: number) => Array.from({ length: batches }, (_, i) => [i * 10, i * 10 + 1]).flat();

describe('SharedBatches', () => {
  it('lets a slow consumer that waits on timers (I/O) catch up while a fast one waits: the fast one does not spin', async () => {
    // Found with watch on a PostgreSQL state: the fast consumer, waiting for a batch the full buffer
    // could not take, woke itself through the read loop in microtasks and starved the event loop,
    // so the slow consumer's timer (its database write) never fired.
    const { open } = countingSource(20);
    const shared = new SharedBatches(open, { maxBuffered: 2 });
    const fast = shared.consumer();
    const slow = shared.consumer();
    shared.start();
    const timer = () => new Promise<void>((resolve) => setTimeout(resolve, 1));
    const [fastRows, slowRows] = await Promise.all([
      drain({ [Symbol.asyncIterator]: () => fast }),
      drain({ [Symbol.asyncIterator]: () => slow }, timer),
    ]);
    expect(fastRows).toEqual(allRows(20));
    expect(slowRows).toEqual(allRows(20));
  }, 10_000);

  it('ends the same case within seconds even when run alone in a thread of its own (a spin fails, not hangs)', async () => {
    const worker = new Worker(spinCase, {
      eval: true,
      workerData: {
        module: join(__dirname, '..', '..', '..', 'dist', 'src', 'profiles', 'shared-batches.js'),
      },
    });
    let timer: NodeJS.Timeout | undefined;
    try {
      const outcome = await Promise.race([
        new Promise<number[]>((resolve, reject) => {
          worker.once('message', resolve);
          worker.once('error', reject);
        }),
        new Promise<'spinning'>((resolve) => {
          timer = setTimeout(() => resolve('spinning'), 8_000);
        }),
      ]);
      expect(outcome).toEqual([20, 20]);
    } finally {
      clearTimeout(timer);
      await worker.terminate();
    }
  }, 15_000);

  it('hands every consumer the same rows in order, from one read of the source', async () => {
    const { open, log } = countingSource(50);
    const shared = new SharedBatches(open, { maxBuffered: 3 });
    const consumers = [shared.consumer(), shared.consumer(), shared.consumer()];
    shared.start();
    const results = await Promise.all(consumers.map((consumer) => drain(consumer)));
    for (const rows of results) expect(rows).toEqual(allRows(50));
    expect(log.opens).toBe(1);
    expect(log.given).toBe(50);
  });

  it('reads at most maxBuffered batches ahead of the slowest consumer', async () => {
    const { open, log } = countingSource(40);
    const shared = new SharedBatches(open, { maxBuffered: 2 });
    const fast = shared.consumer();
    const slow = shared.consumer();
    shared.start();
    let slowTaken = 0;
    let worstLead = 0;
    // The slow one takes a batch only when told; the fast one drains as fast as it can.
    const fastDone = drain(fast, () => {
      worstLead = Math.max(worstLead, log.given - slowTaken);
    });
    const slowRows: number[] = [];
    for (;;) {
      // Let the fast consumer and the read run as far as they can.
      for (let i = 0; i < 20; i++) await Promise.resolve();
      worstLead = Math.max(worstLead, log.given - slowTaken);
      const next = await slow.next();
      if (next.done) break;
      slowTaken++;
      slowRows.push(...next.value);
    }
    expect(await fastDone).toEqual(allRows(40));
    expect(slowRows).toEqual(allRows(40));
    expect(worstLead).toBeLessThanOrEqual(2 + 1);
    expect(worstLead).toBeGreaterThan(0);
  });

  it('lets a consumer that throws detach while the others finish', async () => {
    const { open, log } = countingSource(30);
    const shared = new SharedBatches(open, { maxBuffered: 2 });
    const failing = shared.consumer();
    const others = [shared.consumer(), shared.consumer()];
    shared.start();
    let seen = 0;
    const failed = drain(failing, () => {
      seen++;
      if (seen === 3) throw new Error('consumer broke');
    }).catch((error: Error) => error.message);
    const results = await Promise.all(others.map((consumer) => drain(consumer)));
    expect(await failed).toBe('consumer broke');
    for (const rows of results) expect(rows).toEqual(allRows(30));
    expect(log.opens).toBe(1);
  });

  it('lets a consumer that stops without reading detach (the read does not wait for it)', async () => {
    const { open } = countingSource(10);
    const shared = new SharedBatches(open, { maxBuffered: 1 });
    const idle = shared.consumer();
    const reader = shared.consumer();
    shared.start();
    await idle.return?.();
    expect(await drain(reader)).toEqual(allRows(10));
  });

  it('gives the source error to every consumer, after the batches before it', async () => {
    const { open } = countingSource(10, { failAfter: 4 });
    const shared = new SharedBatches(open, { maxBuffered: 2 });
    const consumers = [shared.consumer(), shared.consumer()];
    shared.start();
    const outcomes = await Promise.all(
      consumers.map(async (consumer) => {
        const rows: number[] = [];
        try {
          for await (const batch of consumer) rows.push(...batch);
          return { rows, error: undefined };
        } catch (error) {
          return { rows, error: (error as Error).message };
        }
      }),
    );
    for (const outcome of outcomes) expect(outcome).toEqual({ rows: allRows(4), error: 'disk gone' });
  });

  it('closes the source when every consumer has left', async () => {
    const { open, log } = countingSource(100);
    const shared = new SharedBatches(open, { maxBuffered: 2 });
    const consumers = [shared.consumer(), shared.consumer()];
    shared.start();
    await Promise.all(
      consumers.map(async (consumer) => {
        for await (const _ of consumer) break;
      }),
    );
    for (let i = 0; i < 20 && !log.closed; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(log.closed).toBe(true);
    expect(log.given).toBeLessThan(10);
  });

  it('waits for start: nothing is read before, and a consumer joining after reads on its own', async () => {
    const { open, log } = countingSource(5);
    const shared = new SharedBatches(open);
    const early = shared.consumer();
    const first = early.next();
    for (let i = 0; i < 10; i++) await Promise.resolve();
    expect(log.opens).toBe(0);
    shared.start();
    expect((await first).value).toEqual([0, 1]);
    const late = shared.consumer();
    expect(await drain(late)).toEqual(allRows(5));
    expect(log.opens).toBe(2);
    expect(await drain(early)).toEqual(allRows(5).slice(2));
  });
});
