import { dirname } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { DataMatching, ProfileSourceSpec } from '../../../src/config';
import { type RowIssue, readContacts, SourceError } from '../../../src/profiles';
import { collect, profileFixture, sqliteFixture } from '../../support/profile-fixtures';
import { ContactDeduper } from '../../support/reference-dedupe';

const dataMatching: DataMatching = { email: 'EmailAddress', firstName: 'FirstName', lastName: 'LastName' };

// One data set (see the fixtures) in each source type; every type must read it the same way.
const sources: { type: string; spec: () => { source: ProfileSourceSpec; baseDir: string } }[] = [
  {
    type: 'csv',
    spec: () => ({
      source: {
        type: 'csv',
        profiles: 'profiles.csv',
        segmentMembership: 'segment-membership.csv',
        key: 'CustomerId',
        segmentField: 'Segment',
      },
      baseDir: profileFixture('contacts-csv'),
    }),
  },
  {
    type: 'jsonl',
    spec: () => ({
      source: {
        type: 'jsonl',
        profiles: 'profiles.jsonl',
        segmentMembership: 'segment-membership.jsonl',
        key: 'CustomerId',
        segmentField: 'Segment',
      },
      baseDir: profileFixture('contacts-jsonl'),
    }),
  },
  {
    type: 'sqlite (table + query)',
    spec: () => {
      const database = sqliteFixture('contacts-sqlite', 'crm.db');
      return {
        source: {
          type: 'sqlite',
          database: 'crm.db',
          profiles: 'profiles',
          segmentMembership: 'SELECT CustomerId, SegmentName FROM memberships',
          key: 'CustomerId',
          segmentField: 'SegmentName',
        },
        baseDir: dirname(database),
      };
    },
  },
];

describe.each(sources)('readContacts from $type', ({ spec }) => {
  async function read(segments: string[]) {
    const issues: RowIssue[] = [];
    const run = readContacts({ ...spec(), segments, dataMatching, onIssue: (issue) => issues.push(issue) });
    const contacts = await collect(run);
    return { contacts, issues, summary: run.summary };
  }

  it('yields the selected profiles with a sendable email, normalised, in source order', async () => {
    const { contacts } = await read(['VIP', 'Newsletter']);
    expect(
      contacts.map(({ key, email, emailKey, firstName, lastName, segments }) => ({
        key,
        email,
        emailKey,
        firstName,
        lastName,
        segments,
      })),
    ).toEqual([
      {
        key: 'C1',
        email: 'ada@example.com',
        emailKey: 'ada@example.com',
        firstName: 'Ada',
        lastName: 'Lovelace',
        segments: ['VIP', 'Newsletter'],
      },
      {
        key: 'C2',
        email: 'BEN@Example.com',
        emailKey: 'ben@example.com',
        firstName: 'Ben',
        lastName: undefined,
        segments: ['Newsletter'],
      },
      {
        key: 'C5',
        email: 'eve@example.com',
        emailKey: 'eve@example.com',
        firstName: 'Maximiliana-Theodora-Wilhelmina-Bernadette-Konstan',
        lastName: 'Evans',
        segments: ['Newsletter'],
      },
      {
        key: 'C7',
        email: 'Ada@Example.com',
        emailKey: 'ada@example.com',
        firstName: 'Ada',
        lastName: 'Twin',
        segments: ['VIP'],
      },
      {
        key: 'C8',
        email: 'gus@example.com',
        emailKey: 'gus@example.com',
        firstName: 'Gus',
        lastName: 'Multi Line',
        segments: ['VIP'],
      },
    ]);
  });

  it('reports each bad selected row once, and nothing about unselected rows', async () => {
    const { issues } = await read(['VIP', 'Newsletter']);
    expect(issues.map(({ severity, code, key }) => ({ severity, code, key }))).toEqual([
      { severity: 'error', code: 'invalid-email', key: 'C3' },
      { severity: 'error', code: 'missing-email', key: 'C4' },
      { severity: 'warning', code: 'name-truncated', key: 'C5' },
      { severity: 'error', code: 'duplicate-key', key: 'C1' },
      { severity: 'warning', code: 'name-control-characters', key: 'C8' },
    ]);
  });

  it('counts what it read', async () => {
    const { summary } = await read(['VIP', 'Newsletter']);
    expect(summary).toEqual({
      membershipRows: 10,
      segmentNearMisses: [],
      selectedMembers: 8,
      membersPerSegment: { VIP: 6, Newsletter: 3 },
      profileRows: 9,
      contacts: 5,
      membersWithoutProfile: 1,
      rowErrors: 3,
      rowWarnings: 2,
    });
  });

  it('selects only the destination’s segments', async () => {
    const { contacts } = await read(['Other']);
    expect(contacts.map((contact) => contact.key)).toEqual(['C6']);
  });

  it('dedupes by email after the read: C7 shares C1’s mailbox, C1 is kept', async () => {
    const { contacts } = await read(['VIP', 'Newsletter']);
    const deduper = new ContactDeduper();
    for (const contact of contacts) deduper.add(contact);
    expect(deduper.contacts().map((contact) => contact.key)).toEqual(['C1', 'C2', 'C5', 'C8']);
    expect(deduper.duplicates()).toMatchObject([{ code: 'duplicate-email', key: 'C7', keptKey: 'C1' }]);
  });

  it('stops with a SourceError when a mapped field is not in the source', async () => {
    const run = readContacts({
      ...spec(),
      segments: ['VIP'],
      dataMatching: { email: 'EmailAddress', firstName: 'GivenName' },
      onIssue: () => {},
    });
    const error = await collect(run).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SourceError);
    expect(error).toMatchObject({ code: 'source-field-missing', context: { field: 'GivenName' } });
  });
});

describe('readContacts', () => {
  it('hands out the same contacts in batches', async () => {
    const [csv] = sources;
    if (csv === undefined) throw new Error('no csv source');
    const options = { ...csv.spec(), segments: ['VIP', 'Newsletter'], dataMatching, onIssue: () => {} };
    const batched = (await collect(readContacts(options).batches())).flat();
    expect(batched).toEqual(await collect(readContacts(options)));
    expect(batched).toHaveLength(5);
  });

  it('can be iterated only once', async () => {
    const [csv] = sources;
    if (csv === undefined) throw new Error('no csv source');
    const run = readContacts({ ...csv.spec(), segments: ['VIP'], dataMatching, onIssue: () => {} });
    await collect(run);
    expect(() => run[Symbol.asyncIterator]()).toThrow();
  });
});
