import Database from 'better-sqlite3';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { duplicateEmailIssue, type ExportContact } from '../../../src/profiles';
import { ContactDeduper, compareCodePoints, preferredContact } from '../../support/reference-dedupe';

const contact = (key: string, emailKey: string, extra: Partial<ExportContact> = {}): ExportContact => ({
  key,
  email: emailKey,
  emailKey,
  segments: ['VIP'],
  where: { file: '/data/profiles.csv', line: 2 },
  ...extra,
});

const byCodePoints = (a: string, b: string) => {
  const x = [...a].map((char) => char.codePointAt(0) ?? 0);
  const y = [...b].map((char) => char.codePointAt(0) ?? 0);
  for (let index = 0; index < Math.min(x.length, y.length); index++)
    if (x[index] !== y[index]) return (x[index] ?? 0) - (y[index] ?? 0);
  return x.length - y.length;
};

// Keys from a small alphabet that mixes ASCII, BMP above the surrogates and astral characters, so
// the orders of code units and code points disagree often.
const keyChar = fc.constantFrom('a', 'b', 'Z', '1', 'é', '\uff5e', '\ue000', '😀', '𝔸');
const key = fc.string({ unit: keyChar, minLength: 1, maxLength: 4 });

describe('compareCodePoints', () => {
  it('orders by code point, like comparing the code point arrays', () => {
    // Any scalar value, weighted to the ranges where UTF-16 and code point order part ways (fast-check's
    // own 'binary' unit costs a second to build).
    const char = fc
      .oneof(
        fc.integer({ min: 0x20, max: 0x7e }),
        fc.integer({ min: 0xe000, max: 0xffff }),
        fc.integer({ min: 0x10000, max: 0x10ffff }),
        fc.integer({ min: 0, max: 0xd7ff }),
      )
      .map((codePoint) => String.fromCodePoint(codePoint));
    const text = fc.string({ unit: char, maxLength: 8 });
    fc.assert(
      fc.property(text, text, (a, b) => {
        expect(Math.sign(compareCodePoints(a, b))).toBe(Math.sign(byCodePoints(a, b)));
      }),
      { numRuns: 500 },
    );
  });

  it('orders like SQLite ORDER BY on TEXT (BINARY collation), so a SQL dedupe agrees', () => {
    const db = new Database(':memory:');
    db.exec('CREATE TABLE k (key TEXT)');
    const insert = db.prepare('INSERT INTO k VALUES (?)');
    const select = db.prepare('SELECT key FROM k ORDER BY key').pluck();
    fc.assert(
      fc.property(fc.uniqueArray(key, { minLength: 2, maxLength: 12 }), (keys) => {
        db.exec('DELETE FROM k');
        for (const value of keys) insert.run(value);
        expect([...keys].sort(compareCodePoints)).toEqual(select.all());
      }),
    );
    db.close();
  });

  it('differs from UTF-16 order where that one is wrong', () => {
    expect(compareCodePoints('\uff5e', '😀')).toBeLessThan(0);
    expect('\uff5e' < '😀').toBe(false);
  });
});

describe('preferredContact', () => {
  it('keeps the smallest key, whichever is offered first', () => {
    const a = contact('C0000022', 'household@example.com');
    const b = contact('C0000023', 'household@example.com');
    expect(preferredContact(a, b)).toBe(a);
    expect(preferredContact(b, a)).toBe(a);
  });

  it('compares keys as text by code point: "10" < "9"', () => {
    expect(preferredContact(contact('9', 'x@example.com'), contact('10', 'x@example.com')).key).toBe('10');
  });

  it('does not depend on argument order, even for equal keys', () => {
    const contactArbitrary = fc.record({
      key,
      email: fc.constantFrom('x@example.com', 'X@example.com'),
      firstName: fc.option(fc.constantFrom('Ada', 'Ben'), { nil: undefined }),
    });
    fc.assert(
      fc.property(contactArbitrary, contactArbitrary, (x, y) => {
        const a = contact(x.key, 'x@example.com', {
          email: x.email,
          ...(x.firstName ? { firstName: x.firstName } : {}),
        });
        const b = contact(y.key, 'x@example.com', {
          email: y.email,
          ...(y.firstName ? { firstName: y.firstName } : {}),
        });
        expect(preferredContact(a, b)).toEqual(preferredContact(b, a));
      }),
    );
  });
});

describe('ContactDeduper', () => {
  it('keeps one contact per email key and reports each loser with the winner’s key', () => {
    const deduper = new ContactDeduper();
    for (const each of [
      contact('C3', 'a@example.com'),
      contact('C2', 'b@example.com'),
      contact('C1', 'a@example.com'),
      contact('C4', 'a@example.com'),
    ])
      deduper.add(each);
    expect(deduper.size).toBe(2);
    expect(deduper.contacts().map((each) => each.key)).toEqual(['C1', 'C2']);
    expect(
      deduper.duplicates().map(({ key, keptKey, code, severity }) => ({ key, keptKey, code, severity })),
    ).toEqual([
      { key: 'C3', keptKey: 'C1', code: 'duplicate-email', severity: 'warning' },
      { key: 'C4', keptKey: 'C1', code: 'duplicate-email', severity: 'warning' },
    ]);
  });

  it('any order of the same contacts gives the same winners and the same losers', () => {
    const contacts = fc.uniqueArray(
      fc.record({ key, email: fc.constantFrom('a@x.example', 'b@x.example', 'c@x.example') }),
      { selector: (each) => each.key, minLength: 1, maxLength: 30 },
    );
    const run = (list: ExportContact[]) => {
      const deduper = new ContactDeduper();
      for (const each of list) deduper.add(each);
      return {
        winners: deduper
          .contacts()
          .map((each) => each.key)
          .sort(compareCodePoints),
        losers: deduper
          .duplicates()
          .map((issue) => `${issue.key}->${issue.keptKey}`)
          .sort(),
      };
    };
    fc.assert(
      fc.property(
        contacts.chain((list) =>
          fc.tuple(
            fc.constant(list),
            fc.shuffledSubarray(list, { minLength: list.length, maxLength: list.length }),
          ),
        ),
        ([list, shuffled]) => {
          const toContacts = (items: typeof list) => items.map((each) => contact(each.key, each.email));
          const expected = run(toContacts(list));
          expect(run(toContacts(shuffled))).toEqual(expected);
          // And each winner is its email's smallest key.
          for (const email of new Set(list.map((each) => each.email))) {
            const smallest = list
              .filter((each) => each.email === email)
              .map((each) => each.key)
              .sort(compareCodePoints)[0];
            expect(expected.winners).toContain(smallest);
          }
        },
      ),
    );
  });
});

describe('duplicateEmailIssue', () => {
  it('names the dropped row, its email and the kept key', () => {
    const dropped = contact('C23', 'household@example.com', { email: 'HOUSEHOLD@example.com' });
    expect(duplicateEmailIssue(dropped, contact('C22', 'household@example.com'))).toEqual({
      severity: 'warning',
      code: 'duplicate-email',
      message: expect.stringContaining('profiles.csv:2: C23'),
      where: dropped.where,
      key: 'C23',
      value: 'HOUSEHOLD@example.com',
      keptKey: 'C22',
    });
  });
});
