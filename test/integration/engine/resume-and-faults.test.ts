import { beforeAll, describe, expect, it } from 'vitest';
import type { RunStore } from '../../../src/engine';
import { StateError } from '../../../src/state';
import {
  expectedMembers,
  exportWorld,
  fastTuning,
  generatedData,
  importedItems,
} from '../../support/export-world';
import { type RunStoreBackend, runStoreBackends } from '../../support/run-store-backends';

// 3,000 generated profiles: about 1,450 distinct contacts in Newsletter or VIP, sent 150 per call.
let data: string;
beforeAll(async () => {
  data = await generatedData(3_000);
});

const segments = ['Newsletter', 'VIP'];
const smallBatches = { maxContacts: 150, maxBodyBytes: 4_000_000 };

describe.each(runStoreBackends)('resuming and surviving faults, run store: $name', (runStore) => {
  it('stops between batches on a signal, pauses, and the next run resumes it without sending a batch twice', async () => {
    const w = await exportWorld(data, { runStore });
    await w.apply([{ name: 'vip', segments }]);
    const controller = new AbortController();
    const first = await w.run('vip', {
      signal: controller.signal,
      tuning: fastTuning({
        importBatchLimits: smallBatches,
        sendWhileReading: false,
        maxActivitiesInFlight: 2,
      }),
      onProgress: (progress) => {
        if (progress.importBatches.done >= 3) controller.abort();
      },
    });
    expect(first.run.status).toBe('paused');
    expect(first.record.pause).toMatchObject({ reason: 'stopped', resumeAt: null });
    const confirmed = first.record.batches.importsConfirmed;
    expect(confirmed).toBeGreaterThanOrEqual(3);
    expect(confirmed).toBeLessThan(first.record.batches.imports);
    // Every batch sent before the stop reached its checkpoint.
    expect(importedItems(w.sandbox)).toBe(first.record.counts.imported);

    const second = await w.run('vip', { tuning: fastTuning({ importBatchLimits: smallBatches }) });
    expect(second.resumed).toBe(true);
    expect(second.run.id).toBe(first.run.id);
    expect(second.run.status).toBe('succeeded');
    expect(second.record.resumes).toEqual([expect.objectContaining({ from: 'paused', trigger: 'manual' })]);
    expect(w.members()).toEqual(await expectedMembers(w.dataFolder, segments));
    expect(importedItems(w.sandbox)).toBe(second.record.counts.contacts);
    expect(second.record.counts.imported).toBe(second.record.counts.contacts);
  });

  it('pauses on the daily quota with its reset time, and each next day goes on from the checkpoint', async () => {
    let offset = 0;
    const day = 86_400_000;
    const w = await exportWorld(data, {
      runStore,
      sandbox: {
        now: () => Date.now() + offset,
        clientLimits: { requestsPerSecond: 100, requestsPerDay: 8 },
      },
    });
    await w.apply([{ name: 'vip', segments }]);
    // A limiter registry per "day": the process-wide one remembers the quota is used up until the
    // real 00:00 UTC, while the sandbox's days pass by `offset`.
    const tuning = () => fastTuning({ importBatchLimits: smallBatches, maxActivitiesInFlight: 2 });
    offset += day;
    const sameProcess = tuning();
    const first = await w.run('vip', { tuning: sameProcess });
    expect(first.run.status).toBe('paused');
    expect(first.error?.code).toBe('quota-exceeded');
    expect(first.record.pause?.reason).toBe('quota');
    expect(Date.parse(first.record.pause?.resumeAt ?? '')).toBeGreaterThan(Date.now());
    // Asked again the same day by the same process, it does not even send a request.
    const requests = w.sandbox.stats().total;
    expect((await w.run('vip', { tuning: sameProcess })).run.status).toBe('paused');
    expect(w.sandbox.stats().total).toBe(requests);
    let last = first;
    for (let days = 0; days < 20 && last.run.status === 'paused'; days++) {
      offset += day;
      last = await w.run('vip', { tuning: tuning() });
      expect(last.run.id).toBe(first.run.id);
    }
    expect(last.run.status).toBe('succeeded');
    expect(last.resumed).toBe(true);
    expect(w.members()).toEqual(await expectedMembers(w.dataFolder, segments));
    expect(importedItems(w.sandbox)).toBe(last.record.counts.contacts);
  });

  it('ends with the list exactly right through resets, 500s, 503s, 429s, slow answers and token expiry', async () => {
    const w = await exportWorld(data, { runStore });
    await w.apply([{ name: 'vip', segments }]);
    w.sandbox.setFaults({
      connectionReset: 0.1,
      serverError: 0.1,
      unavailable: 0.1,
      throttled: 0.1,
      tokenExpiry: 0.03,
      slow: 0.05,
      slowMs: 1_500,
      seed: 7,
    });
    let revoked = false;
    const result = await w.run('vip', {
      tuning: fastTuning({
        importBatchLimits: smallBatches,
        maxActivitiesInFlight: 3,
        maxSubmissions: 10,
        client: {
          ...fastTuning().client,
          retryPolicy: {
            baseDelayMs: 5,
            throttledBaseDelayMs: 10,
            maxDelayMs: 100,
            maxAttempts: 14,
            maxThrottledAttempts: 30,
          },
          timeouts: { requestMs: 5_000, importMs: 1_000 },
        },
      }),
      onProgress: (progress) => {
        if (!revoked && progress.importBatches.done >= 2) {
          revoked = true;
          w.sandbox.revokeAccessTokens();
        }
      },
    });
    w.sandbox.setFaults({});

    expect(result.error).toBeUndefined();
    expect(result.run.status).toBe('succeeded');
    expect(w.members()).toEqual(await expectedMembers(w.dataFolder, segments));
    const faults = w.sandbox.stats().faults;
    expect(Object.values(faults).reduce((sum, count) => sum + count, 0)).toBeGreaterThan(4);
    expect(result.record.counts.apiErrors).toBeGreaterThan(0);
    // Timeouts and lost answers were matched to their activities rather than sent again.
    expect(importedItems(w.sandbox)).toBe(result.record.counts.contacts);
  });
});

/**
 * `backend`'s store, whose `failAt`-th batch confirmation throws what a PostgreSQL state throws once
 * its connection stayed lost past the retry bound (the activity did complete in Constant Contact).
 */
function losingTheStateOnce(backend: RunStoreBackend, failAt: number): RunStoreBackend {
  return {
    name: backend.name,
    async open(state) {
      const inner = await backend.open(state);
      let confirms = 0;
      const imports: RunStore['imports'] = Object.create(inner.imports);
      imports.confirm = (...args) => {
        confirms += 1;
        if (confirms === failAt) {
          return Promise.reject(
            new StateError('state-connection-lost', 'the connection to the state was lost (test)', {
              hint: 'run it again',
            }),
          );
        }
        return inner.imports.confirm(...args);
      };
      return Object.assign(Object.create(inner) as RunStore, { imports });
    },
  };
}

describe.each(runStoreBackends)('a state lost past its retries, run store: $name', (runStore) => {
  it('pauses the run at its checkpoint, and the next run resumes it with the list exact', async () => {
    const w = await exportWorld(data, { runStore: losingTheStateOnce(runStore, 3) });
    await w.apply([{ name: 'vip', segments }]);
    const tuning = fastTuning({ importBatchLimits: smallBatches, maxActivitiesInFlight: 2 });
    const first = await w.run('vip', { tuning });
    expect(first.run.status).toBe('paused');
    expect(first.error?.code).toBe('state-connection-lost');
    expect(first.record.pause).toMatchObject({ reason: 'state-unreachable', resumeAt: null });
    expect(first.record.pause?.message).toContain('run it again once it is back');

    const second = await w.run('vip', { tuning });
    expect([second.resumed, second.run.id, second.run.status]).toEqual([true, first.run.id, 'succeeded']);
    expect(w.members()).toEqual(await expectedMembers(w.dataFolder, segments));
    // The batch whose confirmation was lost was adopted from its activity, not sent again.
    expect(importedItems(w.sandbox)).toBe(second.record.counts.contacts);
  });
});
