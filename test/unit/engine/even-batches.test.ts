import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { evenBatches } from '../../../src/engine/read-and-plan';

const limits = { maxContacts: 40_000, maxBodyBytes: 4_000_000 };

describe('evenBatches', () => {
  it('evens the contacts per batch over the fewest batches, the byte bound kept', () => {
    expect(evenBatches(limits, 50_000)).toEqual({ maxContacts: 25_000, maxBodyBytes: 4_000_000 });
    expect(evenBatches(limits, 970_000)).toEqual({ maxContacts: 38_800, maxBodyBytes: 4_000_000 });
    expect(evenBatches(limits, 80_001)).toEqual({ maxContacts: 26_667, maxBodyBytes: 4_000_000 });
    // One batch's worth or fewer: the limits as they are.
    expect(evenBatches(limits, 40_000)).toBe(limits);
    expect(evenBatches(limits, 0)).toBe(limits);
  });

  it('never needs more batches by count than the limits did, nor allows more per batch', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 50_000 }),
        fc.integer({ min: 0, max: 5_000_000 }),
        (max, most) => {
          const even = evenBatches({ maxContacts: max, maxBodyBytes: 1 }, most);
          expect(even.maxContacts).toBeLessThanOrEqual(max);
          expect(Math.ceil(most / even.maxContacts)).toBe(Math.ceil(most / max));
        },
      ),
    );
  });
});
