import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { DataMatching, ProfileSourceSpec } from '../../../src/config';
import {
  batchRows,
  maxUnselectedSegments,
  ownSourceRowsProvider,
  resolveRowSources,
  SegmentSelection,
  SharedSourceRead,
  type SourceRecord,
  type SourceRowProvider,
} from '../../../src/profiles';
import { SelectionUnion } from '../../../src/profiles/selection-union';
import { type ReadingMember, readAsMember } from '../../support/profile-fixtures';
import { tempFolder } from '../../support/temp-folder';

const spec: ProfileSourceSpec = {
  type: 'csv',
  profiles: 'profiles.csv',
  segmentMembership: 'segment-membership.csv',
  key: 'CustomerId',
  segmentField: 'Segment',
};
const named: DataMatching = { email: 'EmailAddress', firstName: 'FirstName', lastName: 'LastName' };
const emailOnly: DataMatching = { email: 'EmailAddress' };

type Member = ReadingMember;

/** A csv source in a fresh folder: its two files as given (lines joined, no line break added). */
function csvSource(membership: string, profiles: string): string {
  const folder = tempFolder();
  writeFileSync(join(folder, 'segment-membership.csv'), membership);
  writeFileSync(join(folder, 'profiles.csv'), profiles);
  return folder;
}

const readAs = (member: Member, baseDir: string, rows: SourceRowProvider | undefined) =>
  readAsMember(member, spec, baseDir, rows);

/** Each member's result read alone (its own read of the files) and read together (one shared read). */
async function aloneAndTogether(members: readonly Member[], baseDir: string, maxBuffered?: number) {
  const alone = [];
  for (const member of members) alone.push(await readAs(member, baseDir, ownSourceRowsProvider));
  const shared = new SharedSourceRead(
    members.map((member) => member.name),
    maxBuffered === undefined ? {} : { maxBuffered },
  );
  const together = await Promise.all(
    members.map(async (member) => {
      const provider = shared.member(member.name);
      try {
        return await readAs(member, baseDir, provider);
      } finally {
        provider.leave();
      }
    }),
  );
  return { alone, together };
}

const membership = [
  'CustomerId,Segment',
  'K1,VIP',
  'K2,Newsletter',
  'K1,Newsletter',
  'K3,vip',
  'K4, VIP',
  'K5,Other',
  ',VIP',
  'K6,VIP,extra',
  'K7',
  'K8,Gold,extra',
  'K9,Gold',
  'K10,VIP',
  'K2,VIP',
  'K13,newsletter ',
  'K11,Newsletter',
].join('\n');
const profiles = [
  'CustomerId,EmailAddress,FirstName,LastName',
  'K1,k1@example.com,Kay,One',
  'K2,k2@example.com,Kim,Two',
  'K1,k1b@example.com,Kay,Again',
  ',nokey@example.com,No,Key',
  ',bad@example.com,Bad',
  'K10,k10@example.com,Ten',
  'K9,k9@example.com,Nine,Gold,extra',
  'K5,not-an-email,Five,Other',
  'K12,k12@example.com,Twelve,Nobody',
  'K11,k11@example.com,Eleven,News',
].join('\n');

const members: Member[] = [
  { name: 'vip', segments: ['VIP'], dataMatching: named },
  { name: 'news', segments: ['Newsletter'], dataMatching: named },
  { name: 'both', segments: ['Newsletter', 'VIP'], dataMatching: named },
  { name: 'gold', segments: ['Gold'], dataMatching: named },
  { name: 'missing', segments: ['Platinum'], dataMatching: named },
  { name: 'other-emails', segments: ['Other', 'VIP'], dataMatching: emailOnly },
  { name: 'vip-emails', segments: ['VIP'], dataMatching: emailOnly },
];

describe('SharedSourceRead routing', () => {
  it('gives each member what it reads alone: issues, warnings, near misses, duplicates, counts', async () => {
    const baseDir = csvSource(membership, profiles);
    const { alone, together } = await aloneAndTogether(members, baseDir);
    expect(together).toEqual(alone);
    // The data holds what routing must keep: without these, the comparison proves little.
    const [vip, news] = alone;
    const codes = (result: typeof vip) => result?.issues.map((issue) => issue.code) ?? [];
    expect(codes(vip)).toEqual(expect.arrayContaining(['column-count', 'missing-key', 'duplicate-key']));
    expect(vip?.issues.filter((issue) => issue.severity === 'warning').length).toBeGreaterThanOrEqual(2);
    expect(vip?.summary).toMatchObject({ membershipRows: 15, profileRows: 10 });
    expect(vip?.summary?.segmentNearMisses).toEqual([
      { found: ' VIP', selected: 'VIP' },
      { found: 'vip', selected: 'VIP' },
    ]);
    expect(news?.summary?.segmentNearMisses).toEqual([{ found: 'newsletter ', selected: 'Newsletter' }]);
  });

  it('hands each member only the rows it would not ignore, and counts the others', async () => {
    const baseDir = csvSource(membership, profiles);
    const part = resolveRowSources(spec, baseDir).segmentMembership;
    const fields = ['CustomerId', 'Segment'];
    const shared = new SharedSourceRead(['gold', 'platinum']);
    const read = async (name: string, segments: readonly string[]) => {
      const seen: SourceRecord[] = [];
      let rows = 0;
      const only = { kind: 'segments', segmentField: 'Segment', segments } as const;
      for await (const batch of shared.member(name).rowBatches(part, fields, { only })) {
        rows += batchRows(batch);
        seen.push(...batch);
      }
      return { rows, lines: seen.map((record) => record.where.line) };
    };
    const [gold, platinum] = await Promise.all([read('gold', ['Gold']), read('platinum', ['Platinum'])]);
    // Every segment's first readable row (a pass looks there for near misses), unreadable rows
    // without a segment (K7), rows of its own (K8, K9), and the last row (it has a warning).
    expect(gold).toEqual({ rows: 15, lines: [2, 3, 5, 6, 7, 10, 11, 12, 15, 16] });
    expect(platinum).toEqual({ rows: 15, lines: [2, 3, 5, 6, 7, 10, 12, 15, 16] });
  });

  it('hands a profile row to the members that selected its key only', async () => {
    const baseDir = csvSource(membership, profiles);
    const part = resolveRowSources(spec, baseDir).profiles;
    const fields = ['CustomerId', 'EmailAddress'];
    const shared = new SharedSourceRead(['a', 'b']);
    const read = async (name: string, keys: readonly string[]) => {
      const selection = new SegmentSelection(['S']);
      for (const key of keys) selection.add(key, 0);
      const only = { kind: 'members', key: 'CustomerId', membership: part, segmentField: 'Segment' } as const;
      const lines: number[] = [];
      let rows = 0;
      const options = { only: { ...only, segments: ['S'], selection } };
      for await (const batch of shared.member(name).rowBatches(part, fields, options)) {
        rows += batchRows(batch);
        for (const record of batch) lines.push(record.where.line ?? 0);
      }
      return { rows, lines };
    };
    const [a, b] = await Promise.all([read('a', ['K1', 'K9']), read('b', ['K2', 'K12'])]);
    // Its keys' rows (K1 twice), the unreadable row without a key (line 6), the last (a warning).
    expect(a).toEqual({ rows: 10, lines: [2, 4, 6, 8, 11] });
    expect(b).toEqual({ rows: 10, lines: [3, 6, 10, 11] });
  });

  it('routes the others as if alone when a reader stops before the read begins', async () => {
    const baseDir = csvSource(membership, profiles);
    const alone = [];
    for (const member of members.slice(0, 3))
      alone.push(await readAs(member, baseDir, ownSourceRowsProvider));
    const shared = new SharedSourceRead(['early', ...members.slice(0, 3).map((member) => member.name)]);
    const early = shared.member('early');
    const part = resolveRowSources(spec, baseDir).segmentMembership;
    const only = { kind: 'segments', segmentField: 'Segment', segments: ['Gold'] } as const;
    // It joins the membership read, and stops before the others join (the read has not begun).
    await early.rowBatches(part, ['CustomerId', 'Segment'], { only })[Symbol.asyncIterator]().return?.();
    const together = members.slice(0, 3).map(async (member) => {
      const provider = shared.member(member.name);
      try {
        return await readAs(member, baseDir, provider);
      } finally {
        provider.leave();
      }
    });
    early.leave();
    expect(await Promise.all(together)).toEqual(alone);
  });

  it('looks for near misses among as many segments as a read of its own remembers', async () => {
    const lines = ['CustomerId,Segment'];
    for (let index = 0; index < maxUnselectedSegments + 100; index++) {
      lines.push(`K${index},S${index}`);
      // A near miss before a pass's memory is full (reported), others after (not, as a read alone):
      // before and after the routes stop looking for new segments.
      if (index === 100) lines.push('N1,vip');
      if (index === maxUnselectedSegments + 10) lines.push('N2, VIP', 'N3,s7 ');
      if (index === maxUnselectedSegments + 80) lines.push('N4,VIP ', 'N5,S1 ');
    }
    lines.push('K1,VIP', '');
    const baseDir = csvSource(lines.join('\n'), 'CustomerId,EmailAddress\nK1,k1@example.com\n');
    const capped: Member[] = [
      { name: 'vip', segments: ['VIP'], dataMatching: emailOnly },
      { name: 'many', segments: ['S1', 'S2', 'S3', 'S7', 'VIP'], dataMatching: emailOnly },
      { name: 'late', segments: [`S${maxUnselectedSegments + 50}`], dataMatching: emailOnly },
    ];
    const { alone, together } = await aloneAndTogether(capped, baseDir, 2);
    expect(together).toEqual(alone);
    expect(alone[0]?.summary?.segmentNearMisses).toEqual([{ found: 'vip', selected: 'VIP' }]);
  });

  it('gives each member what it reads alone, for any data', async () => {
    const segmentNames = ['VIP', 'vip', ' VIP', 'News', 'Gold'];
    const keys = ['K1', 'K2', 'K3', 'K4', 'K5', 'K6', ''];
    const cell = (values: readonly string[]) => fc.constantFrom(...values);
    // A row as written: its cells, one too many (an unreadable row) or one too few.
    const shape = fc.constantFrom('whole', 'extra', 'short');
    const shaped = (cells: string[], as: string) =>
      (as === 'extra' ? [...cells, 'extra'] : as === 'short' ? cells.slice(0, -1) : cells).join(',');
    const membershipRow = fc
      .tuple(cell(keys), cell(segmentNames), shape)
      .map(([key, segment, as]) => shaped([key, segment], as));
    const profileRow = fc
      .tuple(cell(keys), cell(['a@example.com', 'b@example.com', 'nope']), cell(['Ann', '']), shape)
      .map(([key, email, name, as]) => shaped([key, email, name, 'Last'], as));
    const member = fc.record({
      segments: fc.uniqueArray(cell(['VIP', 'News', 'Gold', 'Platinum']), { minLength: 1, maxLength: 3 }),
      dataMatching: fc.constantFrom(named, emailOnly),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(membershipRow, { maxLength: 30 }),
        fc.array(profileRow, { maxLength: 30 }),
        fc.boolean(),
        fc.array(member, { minLength: 2, maxLength: 5 }),
        async (membershipRows, profileRows, lineBreakAtEnd, picked) => {
          const end = lineBreakAtEnd ? '\n' : '';
          const baseDir = csvSource(
            ['CustomerId,Segment', ...membershipRows].join('\n') + end,
            ['CustomerId,EmailAddress,FirstName,LastName', ...profileRows].join('\n') + end,
          );
          const named = picked.map((chosen, index) => ({ ...chosen, name: `m${index}` }));
          const { alone, together } = await aloneAndTogether(named, baseDir);
          expect(together).toEqual(alone);
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('SelectionUnion', () => {
  it('names the selections holding each key', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.string({ minLength: 1, maxLength: 4 }), { maxLength: 40 }), { maxLength: 6 }),
        fc.array(fc.string({ maxLength: 4 }), { maxLength: 20 }),
        (keysPerSelection, others) => {
          const selections = keysPerSelection.map((keys) => {
            const selection = new SegmentSelection(['S']);
            for (const key of keys) selection.add(key, 0);
            return selection;
          });
          const union = new SelectionUnion(selections);
          const expected = (key: string) =>
            keysPerSelection.flatMap((held, index) => (held.includes(key) ? [index] : []));
          for (const key of [...keysPerSelection.flat(), ...others])
            expect(union.membersOf(key)).toEqual(expected(key));
          expect(union.size).toBe(new Set(keysPerSelection.flat()).size);
        },
      ),
    );
  });
});
