import { describe, expect, it } from 'vitest';
import type { DataMatching, ProfileSourceSpec } from '../../../src/config';
import {
  ownSourceRowsProvider,
  readContacts,
  SharedSourceRead,
  type SourceRowProvider,
} from '../../../src/profiles';
import { collect, profileFixture, type ReadingMember, readAsMember } from '../../support/profile-fixtures';

const source: ProfileSourceSpec = {
  type: 'csv',
  profiles: 'profiles.csv',
  segmentMembership: 'segment-membership.csv',
  key: 'CustomerId',
  segmentField: 'Segment',
};
const baseDir = profileFixture('contacts-csv');
const named: DataMatching = { email: 'EmailAddress', firstName: 'FirstName', lastName: 'LastName' };
const emailOnly: DataMatching = { email: 'EmailAddress' };

/** The files' own reads, counted by the file they open. */
function countingRows() {
  const opens: string[] = [];
  const rows: SourceRowProvider = {
    rowBatches: (part, fields, options) => {
      opens.push(
        part.type === 'sqlite' || part.type === 'postgres'
          ? part.relation
          : part.file.replace(`${baseDir}/`, ''),
      );
      return ownSourceRowsProvider.rowBatches(part, fields, options);
    },
  };
  return { rows, opens };
}

type Member = ReadingMember;

const readAs = (member: Member, rows: SourceRowProvider | undefined, spec = source) =>
  readAsMember(member, spec, baseDir, rows);

const members: Member[] = [
  { name: 'vip', segments: ['VIP'], dataMatching: named },
  { name: 'news', segments: ['Newsletter', 'Other'], dataMatching: named },
  { name: 'vip-emails', segments: ['VIP'], dataMatching: emailOnly },
];

describe('SharedSourceRead', () => {
  it('gives each member what a read of its own gives, reading each part once per way it is asked', async () => {
    const alone = await Promise.all(members.map((member) => readAs(member, undefined)));
    const { rows, opens } = countingRows();
    const shared = new SharedSourceRead(
      members.map((member) => member.name),
      { rows, maxBuffered: 1 },
    );
    const together = await Promise.all(
      members.map(async (member) => {
        const provider = shared.member(member.name);
        try {
          return await readAs(member, provider);
        } finally {
          provider.leave();
        }
      }),
    );
    expect(together).toEqual(alone);
    expect(alone[0]?.contacts?.length).toBeGreaterThan(0);
    // The membership once for all three; the profiles once for the two that map names, once for
    // the one that maps the email only (other fields, so other rows may fail).
    expect(opens.sort()).toEqual(['profiles.csv', 'profiles.csv', 'segment-membership.csv']);
  });

  it('does not wait for a member that leaves without reading', async () => {
    const { rows, opens } = countingRows();
    const shared = new SharedSourceRead(['a', 'b', 'skipped'], { rows });
    shared.member('skipped');
    const a = shared.member('a');
    const b = shared.member('b');
    const reads = [readAs(members[0] as Member, a), readAs(members[1] as Member, b)];
    shared.member('skipped').leave();
    const [first, second] = await Promise.all(reads);
    expect(first).toEqual(await readAs(members[0] as Member, undefined));
    expect(second).toEqual(await readAs(members[1] as Member, undefined));
    expect(opens.sort()).toEqual(['profiles.csv', 'segment-membership.csv']);
  });

  it('lets the others finish when a member fails while reading', async () => {
    const { rows, opens } = countingRows();
    const shared = new SharedSourceRead(['broken', 'fine'], { rows, maxBuffered: 1 });
    const broken = shared.member('broken');
    const failing = (async () => {
      const read = readContacts({
        source,
        baseDir,
        segments: ['VIP'],
        dataMatching: named,
        onIssue: () => {},
        rows: broken,
      });
      try {
        for await (const _ of read) throw new Error('staging failed');
      } finally {
        broken.leave();
      }
    })();
    const fine = readAs(members[1] as Member, shared.member('fine'));
    await expect(failing).rejects.toThrow('staging failed');
    expect(await fine).toEqual(await readAs(members[1] as Member, undefined));
    expect(opens.sort()).toEqual(['profiles.csv', 'segment-membership.csv']);
  });

  it('gives the source error to every member', async () => {
    const missing: ProfileSourceSpec = { ...source, profiles: 'no-such-profiles.csv' };
    const shared = new SharedSourceRead(['a', 'b']);
    const [a, b] = await Promise.all([
      readAs(members[0] as Member, shared.member('a'), missing),
      readAs(members[1] as Member, shared.member('b'), missing),
    ]);
    expect(a).toMatchObject({ error: 'source-file-missing' });
    expect(b).toMatchObject({ error: 'source-file-missing' });
    expect(a).toEqual(await readAs(members[0] as Member, undefined, missing));
  });

  it('checks a part whole once for the members that read it alike, and each sees the same verdict', async () => {
    const checks: string[] = [];
    const rows: SourceRowProvider = {
      ...ownSourceRowsProvider,
      checkReadsWhole: async (part, fields, options) => {
        checks.push(fields.join('+'));
        return (await ownSourceRowsProvider.checkReadsWhole?.(part, fields, options)) ?? false;
      },
    };
    const shared = new SharedSourceRead(
      members.map((member) => member.name),
      { rows },
    );
    const reads = members.map((member) => {
      const provider = shared.member(member.name);
      const read = readContacts({
        source,
        baseDir,
        segments: member.segments,
        dataMatching: member.dataMatching,
        onIssue: () => {},
        rows: provider,
        checkWhole: () => true,
      });
      return collect(read).then(async (contacts) => {
        await read.whole;
        provider.leave();
        return contacts.length;
      });
    });
    const counts = await Promise.all(reads);
    expect(counts[0]).toBeGreaterThan(0);
    // Two ways of reading the profiles (names mapped or not): two checks for three members.
    expect(checks.sort()).toEqual(['CustomerId+EmailAddress', 'CustomerId+EmailAddress+FirstName+LastName']);
  });
});
