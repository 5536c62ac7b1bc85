import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { DataMatching, ProfileSourceSpec } from '../../../src/config';
import { contactFingerprint, readContacts } from '../../../src/profiles';
import { tempFolder } from '../../support/temp-folder';

const dataMatching: DataMatching = {
  email: 'EmailAddress',
  companyName: 'Company',
  birthdayMonth: 'BMonth',
  birthdayDay: 'BDay',
  anniversary: 'Since',
  customFields: { Tier: 'Tier' },
};
const source: ProfileSourceSpec = {
  type: 'jsonl',
  profiles: 'profiles.jsonl',
  segmentMembership: 'segment-membership.jsonl',
  key: 'CustomerId',
  segmentField: 'Segment',
};

type Row = Record<string, string | number | null>;

/** Each selected profile's fingerprint, by key, read from jsonl rows as a run reads them. */
async function fingerprints(rows: readonly Row[]): Promise<Map<string, string>> {
  const folder = tempFolder();
  writeFileSync(join(folder, 'profiles.jsonl'), `${rows.map((row) => JSON.stringify(row)).join('\n')}\n`);
  writeFileSync(
    join(folder, 'segment-membership.jsonl'),
    `${rows.map((row) => JSON.stringify({ CustomerId: row.CustomerId, Segment: 'VIP' })).join('\n')}\n`,
  );
  const read = readContacts({ source, baseDir: folder, segments: ['VIP'], dataMatching, onIssue: () => {} });
  const found = new Map<string, string>();
  for await (const contact of read) found.set(contact.key, contactFingerprint(contact));
  return found;
}

const value = fc.oneof(
  fc.constant(null),
  fc.integer({ min: 0, max: 40 }),
  fc.constantFrom('', 'Acme', '2020-02-29', '13', '7', 'gold'),
  fc.string({ maxLength: 6 }),
);
const rows = fc.array(
  fc.record({
    Company: value,
    BMonth: value,
    BDay: value,
    Since: value,
    Tier: value,
    Notes: value,
  }),
  { minLength: 1, maxLength: 8 },
);

describe('the fingerprint of contacts read with mapped fields (property)', () => {
  it('changes for the one profile whose mapped value changed, for none when an unmapped one did', async () => {
    await fc.assert(
      fc.asyncProperty(
        rows,
        fc.nat(),
        fc.constantFrom('Notes', 'Company', 'Tier'),
        async (data, pick, column) => {
          const keyed: Row[] = data.map((row, index) => ({
            CustomerId: `K${index}`,
            EmailAddress: `p${index}@example.com`,
            ...row,
          }));
          const index = pick % keyed.length;
          const changed = keyed.map((row, at) =>
            // A value it never had: an unmapped column's, or a mapped one Constant Contact takes as it is.
            at === index ? { ...row, [column]: `changed ${String(row[column])}`.slice(0, 40) } : row,
          );
          const before = await fingerprints(keyed);
          const after = await fingerprints(changed);
          for (const [key, fingerprint] of before) {
            const expectChange = key === `K${index}` && column !== 'Notes';
            expect({ key, changed: after.get(key) !== fingerprint }).toEqual({ key, changed: expectChange });
          }
        },
      ),
      { numRuns: 40 },
    );
  });
});
