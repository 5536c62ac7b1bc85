import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ConstantContactError,
  cutImportBatches,
  ImportBatchCutter,
  type ImportContact,
  importBatchLimits,
  importBody,
  importEntryJson,
} from '../../../src/constant-contact';

const listIds = ['04fe9a97-a579-43c5-bb1a-58ed29bf0a6a', '6b4f0a52-3c1e-4d8a-9f27-2e5b7c9d1a34'];
const bodyBytes = (contacts: readonly ImportContact[]) =>
  Buffer.byteLength(JSON.stringify(importBody(contacts, listIds)));

/** Names of any Unicode (astral planes, combining marks, quotes, control characters), short or long. */
const name = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.string({ unit: 'grapheme', minLength: 50, maxLength: 400 }),
  fc.constantFrom('"', '\\', '\u0000', '\u2028', '😀', 'Zoë', '美咲'),
);
const contact: fc.Arbitrary<ImportContact> = fc.record(
  {
    email: fc.oneof(fc.emailAddress(), fc.string({ unit: 'binary', maxLength: 60 })),
    first_name: name,
    last_name: name,
    // Wide contacts: standard and custom fields, numbers (birthday) and unsent (undefined) ones.
    fields: fc.uniqueArray(
      fc.tuple(
        fc.constantFrom('company_name', 'birthday_month', 'home_street', 'cf:Tier', 'cf:Lieblings"farbe'),
        fc.oneof(name, fc.integer({ min: 1, max: 31 }), fc.constant(undefined)),
      ),
      { maxLength: 6, selector: ([field]) => field },
    ),
  },
  { requiredKeys: ['email'] },
);

describe('cutImportBatches', () => {
  it('keeps every batch within both bounds, in order, losing and duplicating nothing (property)', () => {
    fc.assert(
      fc.property(
        fc.array(contact, { maxLength: 120 }),
        fc.integer({ min: 1, max: 30 }),
        fc.integer({ min: 1_200, max: 20_000 }),
        (contacts, maxContacts, smallestBound) => {
          // The bound must at least fit the largest single contact (that case has its own test).
          const maxBodyBytes = Math.max(smallestBound, ...contacts.map((item) => bodyBytes([item]) + 1));
          const batches = [...cutImportBatches(contacts, listIds, { maxContacts, maxBodyBytes })];
          let next = 0;
          for (const batch of batches) {
            expect(batch.contacts.length).toBeGreaterThan(0);
            expect(batch.contacts.length).toBeLessThanOrEqual(maxContacts);
            expect(batch.bodyBytes).toBe(bodyBytes(batch.contacts));
            expect(batch.bodyBytes).toBeLessThan(maxBodyBytes);
            expect(batch.firstIndex).toBe(next);
            next += batch.contacts.length;
          }
          // Every contact once, in order, exactly as sent (only CC's fields).
          expect(
            importBody(
              batches.flatMap((batch) => batch.contacts),
              listIds,
            ).import_data,
          ).toEqual(importBody(contacts, listIds).import_data);
          expect(batches.flatMap((batch) => batch.contacts)).toEqual(contacts);
          // Greedy: a batch was cut only because the next contact would break a bound.
          for (let index = 0; index + 1 < batches.length; index++) {
            const batch = batches[index] as (typeof batches)[number];
            const following = (batches[index + 1] as (typeof batches)[number]).contacts[0] as ImportContact;
            const full = batch.contacts.length === maxContacts;
            expect(full || bodyBytes([...batch.contacts, following]) >= maxBodyBytes).toBe(true);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('keeps to 40,000 contacts and 4,000,000 bytes with the real limits', () => {
    const long = 'Ä'.repeat(50);
    const contacts = Array.from({ length: 100_000 }, (_, index) => ({
      email: `person.${index}@example.com`,
      first_name: long,
      last_name: index % 3 === 0 ? long : 'Short',
    }));
    const batches = [...cutImportBatches(contacts, listIds)];
    expect(batches.reduce((sum, batch) => sum + batch.contacts.length, 0)).toBe(100_000);
    for (const batch of batches) {
      expect(batch.contacts.length).toBeLessThanOrEqual(importBatchLimits.maxContacts);
      expect(batch.bodyBytes).toBeLessThan(importBatchLimits.maxBodyBytes);
      expect(batch.bodyBytes).toBe(bodyBytes(batch.contacts));
    }
    // These names are long: the byte bound cuts before the count bound does.
    expect(batches[0]?.contacts.length).toBeLessThan(40_000);
    expect(batches[0]?.bodyBytes).toBeGreaterThan(3_990_000);
  });

  it('cuts by count when contacts are small', () => {
    const contacts = Array.from({ length: 80_001 }, (_, index) => ({ email: `p${index}@example.com` }));
    expect([...cutImportBatches(contacts, listIds)].map((batch) => batch.contacts.length)).toEqual([
      40_000, 40_000, 1,
    ]);
  });

  it('refuses a contact that alone does not fit in a body', () => {
    const huge = { email: 'a@example.com', first_name: 'x'.repeat(2_000) };
    const cut = () => [...cutImportBatches([huge], listIds, { maxContacts: 10, maxBodyBytes: 1_000 })];
    expect(cut).toThrow(ConstantContactError);
    expect(cut).toThrow(expect.objectContaining({ code: 'contact-too-large' }));
  });

  it('measures only what is sent: fields other than those of CC are ignored', () => {
    const contacts = [
      { email: 'a@example.com', first_name: undefined, key: 'C0000001', segments: ['VIP'] },
      { email: 'b@example.com', last_name: 'Ø', note: 'x'.repeat(10_000) },
    ];
    const [batch] = [...cutImportBatches(contacts, listIds)];
    expect(batch?.contacts).toEqual(contacts);
    expect(batch?.bodyBytes).toBe(bodyBytes(contacts));
    expect(importBody(contacts, listIds).import_data).toEqual([
      { email: 'a@example.com' },
      { email: 'b@example.com', last_name: 'Ø' },
    ]);
  });

  it('yields nothing for no contacts', () => {
    expect([...cutImportBatches([], listIds)]).toEqual([]);
  });

  it('cuts serialized entries (importEntryJson, measured by their bytes) exactly as the contacts (property)', () => {
    fc.assert(
      fc.property(
        fc.array(contact, { maxLength: 80 }),
        fc.integer({ min: 1, max: 20 }),
        (contacts, maxContacts) => {
          const limits = {
            maxContacts,
            maxBodyBytes: Math.max(2_000, ...contacts.map((item) => bodyBytes([item]) + 1)),
          };
          const cutter = new ImportBatchCutter<string>(listIds, limits, (entry) => Buffer.byteLength(entry));
          const serialized: { contacts: readonly string[]; bodyBytes: number }[] = [];
          for (const item of contacts) {
            const closed = cutter.add(importEntryJson(item));
            if (closed) serialized.push(closed);
          }
          const last = cutter.finish();
          if (last) serialized.push(last);
          const expected = [...cutImportBatches(contacts, listIds, limits)];
          expect(serialized.map((batch) => batch.bodyBytes)).toEqual(
            expected.map((batch) => batch.bodyBytes),
          );
          for (const [index, batch] of serialized.entries()) {
            const body = `{"import_data":[${batch.contacts.join(',')}],"list_ids":${JSON.stringify(listIds)}}`;
            expect(body).toBe(JSON.stringify(importBody(expected[index]?.contacts ?? [], listIds)));
            expect(Buffer.byteLength(body)).toBe(batch.bodyBytes);
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('takes a batch as soon as it is full, cutting exactly as when it closes on the next contact (property)', () => {
    fc.assert(
      fc.property(
        fc.array(contact, { maxLength: 80 }),
        fc.integer({ min: 1, max: 20 }),
        fc.array(fc.boolean(), { maxLength: 80 }),
        (contacts, maxContacts, looks) => {
          const limits = {
            maxContacts,
            maxBodyBytes: Math.max(2_000, ...contacts.map((item) => bodyBytes([item]) + 1)),
          };
          const cutter = new ImportBatchCutter<string>(listIds, limits, (entry) => Buffer.byteLength(entry));
          const taken: { contacts: readonly string[]; bodyBytes: number }[] = [];
          for (const [index, item] of contacts.entries()) {
            const closed = cutter.add(importEntryJson(item));
            if (closed) taken.push(closed);
            // Looked at now and then, as a caller handing batches over between writes does.
            const full = looks[index] ? cutter.takeFull() : undefined;
            if (full) {
              expect(full.contacts.length).toBe(maxContacts);
              taken.push(full);
            }
          }
          const last = cutter.finish();
          if (last) taken.push(last);
          const expected = [...cutImportBatches(contacts, listIds, limits)];
          expect(taken.map((batch) => [batch.contacts.length, batch.bodyBytes])).toEqual(
            expected.map((batch) => [batch.contacts.length, batch.bodyBytes]),
          );
        },
      ),
      { numRuns: 200 },
    );
  });
});
