import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import type { ProfileSourceSpec } from '../../../src/config';
import {
  checkSourceReadable,
  checkSourceReadsWhole,
  locatedSourceSpec,
  readContacts,
  readSourceRows,
  resolveRowSources,
  SourceError,
  type SourceType,
  sourceAdapterFor,
  sourceAdapters,
  sourceFingerprint,
  sourceOriginFile,
  sourceWatchPaths,
} from '../../../src/profiles';
import { collect, profileFixture } from '../../support/profile-fixtures';
import { tempFolder } from '../../support/temp-folder';

/**
 * How the contract builds one data set (the contacts fixture) in a source type, and changes it. Every
 * registered adapter must have one: a new type is tested by the same cases as soon as it has.
 */
interface SourceFixture {
  /** The spec (paths relative to the folder) with key CustomerId and segment field Segment. */
  readonly spec: ProfileSourceSpec;
  /** Writes the contacts data set into `folder`; returns the files that hold the data. */
  write(folder: string): string[];
  /** Changes one profile row: ada@example.com becomes ada@changed.example.com. */
  changeProfile(folder: string): void;
  /** Changes one membership row: C3 moves from VIP to Newsletter. */
  changeMembership(folder: string): void;
}

const fileFixture = (type: 'csv' | 'jsonl'): SourceFixture => {
  const files = [`profiles.${type}`, `segment-membership.${type}`];
  const replace = (file: string, from: string, to: string) => {
    const text = readFileSync(file, 'utf8');
    expect(text).toContain(from);
    writeFileSync(file, text.replace(from, to));
  };
  return {
    spec: {
      type,
      profiles: files[0] ?? '',
      segmentMembership: files[1] ?? '',
      key: 'CustomerId',
      segmentField: 'Segment',
    },
    write(folder) {
      for (const file of files)
        copyFileSync(join(profileFixture(`contacts-${type}`), file), join(folder, file));
      return files.map((file) => join(folder, file));
    },
    changeProfile: (folder) =>
      replace(join(folder, files[0] ?? ''), 'ada@example.com', 'ada@changed.example.com'),
    changeMembership: (folder) =>
      replace(
        join(folder, files[1] ?? ''),
        type === 'csv' ? 'C3,VIP' : '{"CustomerId": "C3", "Segment": "VIP"}',
        type === 'csv' ? 'C3,Newsletter' : '{"CustomerId": "C3", "Segment": "Newsletter"}',
      ),
  };
};

const sqliteFixture: SourceFixture = {
  // A table for the profiles, a query for the membership: both kinds of relation.
  spec: {
    type: 'sqlite',
    database: 'crm.db',
    profiles: 'profiles',
    segmentMembership: 'SELECT CustomerId, SegmentName AS Segment FROM memberships',
    key: 'CustomerId',
    segmentField: 'Segment',
  },
  write(folder) {
    const file = join(folder, 'crm.db');
    const db = new Database(file);
    db.exec(readFileSync(join(profileFixture('contacts-sqlite'), 'source.sql'), 'utf8'));
    db.close();
    return [file];
  },
  changeProfile: (folder) =>
    sqliteWrite(
      folder,
      "UPDATE profiles SET EmailAddress = 'ada@changed.example.com' WHERE EmailAddress = 'ada@example.com'",
    ),
  changeMembership: (folder) =>
    sqliteWrite(folder, "UPDATE memberships SET SegmentName = 'Newsletter' WHERE CustomerId = 'C3'"),
};

function sqliteWrite(folder: string, sql: string): void {
  const db = new Database(join(folder, 'crm.db'));
  expect(db.prepare(sql).run().changes).toBe(1);
  db.close();
}

/**
 * The types whose data is in files, which this suite builds in temp folders. postgres (a server,
 * no files) passes the same data cases against a real server in
 * test/integration/profiles/postgres-source.test.ts.
 */
type FileSourceType = Exclude<SourceType, 'postgres'>;

const fixtures: Record<FileSourceType, SourceFixture> = {
  csv: fileFixture('csv'),
  jsonl: fileFixture('jsonl'),
  sqlite: sqliteFixture,
};

const schemaTypes = (
  JSON.parse(readFileSync(join(__dirname, '../../../schemas/profile-source.schema.json'), 'utf8')) as {
    properties: { spec: { properties: { type: { enum: string[] } } } };
  }
).properties.spec.properties.type.enum;

describe('the source adapter registry', () => {
  it('has one adapter per type of the schema, and the contract a fixture for each', () => {
    expect(Object.keys(sourceAdapters).sort()).toEqual([...schemaTypes].sort());
    expect(Object.keys(fixtures).sort()).toEqual(schemaTypes.filter((type) => type !== 'postgres').sort());
    for (const type of schemaTypes) expect(sourceAdapterFor({ type: type as SourceType }).type).toBe(type);
  });

  it('refuses a type no adapter reads, rather than reading it as another', () => {
    expect(() => sourceAdapterFor({ type: 'mysql' as SourceType })).toThrow(/no profile source adapter/);
    expect(() => sourceAdapterFor({ type: 'toString' as SourceType })).toThrow(/no profile source adapter/);
  });
});

const profileFields = ['CustomerId', 'EmailAddress', 'FirstName'];
const expectedProfiles = [
  ['C1', 'ada@example.com', 'Ada'],
  ['C2', '  BEN@Example.com ', 'Ben'],
  ['C3', 'not-an-email', 'Cy'],
  ['C4', '', 'Dee'],
  ['C5', 'eve@example.com', 'Maximiliana-Theodora-Wilhelmina-Bernadette-Konstanze-Rosalind'],
  ['C1', 'ada.second@example.com', 'Ada'],
  ['C6', 'fay@example.com', 'Fay'],
  ['C7', 'Ada@Example.com', 'Ada'],
  ['C8', 'gus@example.com', 'Gus'],
];
const expectedMembership = [
  ['C1', 'VIP'],
  ['C2', 'Newsletter'],
  ['C3', 'VIP'],
  ['C4', 'VIP'],
  ['C5', 'Newsletter'],
  ['C7', 'VIP'],
  ['C8', 'VIP'],
  ['C9', 'VIP'],
  ['C6', 'Other'],
  ['C1', 'Newsletter'],
];

describe.each(Object.keys(fixtures) as FileSourceType[])('source adapter contract: %s', (type) => {
  const fixture = fixtures[type];
  const adapter = sourceAdapterFor({ type });
  const written = () => {
    const folder = tempFolder();
    const files = fixture.write(folder);
    return { folder, files, spec: fixture.spec };
  };

  it('resolves both parts to absolute paths of its own type, reading nothing', () => {
    const parts = resolveRowSources(fixture.spec, '/nowhere/data');
    for (const part of [parts.profiles, parts.segmentMembership]) {
      expect(part.type).toBe(type);
      expect(sourceAdapterFor(part)).toBe(adapter);
      expect(JSON.stringify(part)).toContain('/nowhere/data/');
    }
  });

  it('makes every path of the spec absolute against its folder, and nothing else', () => {
    const located = locatedSourceSpec(fixture.spec, '/srv/data', 'crm');
    expect({ ...located, profiles: '', segmentMembership: '', database: '' }).toEqual({
      ...fixture.spec,
      profiles: '',
      segmentMembership: '',
      database: '',
    });
    const parts = resolveRowSources(located, '/elsewhere');
    expect(parts).toEqual(resolveRowSources(fixture.spec, '/srv/data'));
    expect(() => locatedSourceSpec(fixture.spec, undefined, 'crm')).toThrow(
      expect.objectContaining({ code: 'source-location-unknown' }),
    );
  });

  it('reads the same records from the same data as every other type', async () => {
    const { folder, spec } = written();
    const parts = resolveRowSources(spec, folder);
    const profiles = await collect(readSourceRows(parts.profiles, profileFields));
    expect(profiles.map((record) => record.values)).toEqual(expectedProfiles);
    expect(profiles.every((record) => record.issue === undefined)).toBe(true);
    const membership = await collect(readSourceRows(parts.segmentMembership, ['CustomerId', 'Segment']));
    expect(membership.map((record) => record.values)).toEqual(expectedMembership);
    // Batches hold the same rows, in the same order.
    const batches = await collect(adapter.readRowBatches(parts.profiles, profileFields, {}));
    expect(batches.flat().map((record) => record.values)).toEqual(expectedProfiles);
  });

  it('gives the same contacts to the run engine as every other type', async () => {
    const { folder, spec } = written();
    const issues: string[] = [];
    const read = readContacts({
      source: spec,
      baseDir: folder,
      segments: ['VIP'],
      dataMatching: { email: 'EmailAddress', firstName: 'FirstName' },
      onIssue: (issue) => issues.push(issue.code),
    });
    const contacts = (await collect(read)).map(({ key, emailKey, firstName, segments }) => ({
      key,
      emailKey,
      firstName,
      segments,
    }));
    expect(contacts).toEqual([
      { key: 'C1', emailKey: 'ada@example.com', firstName: 'Ada', segments: ['VIP'] },
      { key: 'C7', emailKey: 'ada@example.com', firstName: 'Ada', segments: ['VIP'] },
      { key: 'C8', emailKey: 'gus@example.com', firstName: 'Gus', segments: ['VIP'] },
    ]);
    expect(issues.sort()).toEqual(['duplicate-key', 'invalid-email', 'missing-email']);
    expect(read.summary).toMatchObject({ profileRows: 9, membershipRows: 10, membersWithoutProfile: 1 });
  });

  it('inspects the columns without reading the rows, and the check finds no problem', async () => {
    const { folder, spec } = written();
    const parts = resolveRowSources(spec, folder);
    const columns = await adapter.inspectColumns(parts.profiles);
    expect(columns.names).toEqual(
      expect.arrayContaining(['CustomerId', 'EmailAddress', 'FirstName', 'LastName']),
    );
    expect(columns.origin.file.startsWith(folder)).toBe(true);
    expect(['every-row', 'first-row']).toContain(columns.scope);
    const membership = await adapter.inspectColumns(parts.segmentMembership);
    expect(membership.names).toEqual(expect.arrayContaining(['CustomerId', 'Segment']));
    expect(await checkSourceReadable(spec, folder, ['EmailAddress', 'FirstName', 'LastName'])).toEqual([]);
    // The fixture's data (files, or tables) reads whole: a run may send while it reads it.
    await expect(checkSourceReadsWhole(parts.profiles, profileFields)).resolves.toBe(true);
  });

  it('reports a field the source does not have as source-field-missing, naming the part', async () => {
    const { folder, spec } = written();
    const problems = await checkSourceReadable(spec, folder, ['Email']);
    expect(problems.map(({ code, part, field }) => ({ code, part, field }))).toEqual([
      { code: 'source-field-missing', part: 'profiles', field: 'Email' },
    ]);
    expect(problems[0]?.file.startsWith(folder)).toBe(true);
  });

  it('watches every file that holds the data, and anchors the source in its folder', () => {
    const { folder, files, spec } = written();
    const located = locatedSourceSpec(spec, folder, 'crm');
    const paths = sourceWatchPaths(located);
    for (const file of files) expect(paths).toContain(file);
    for (const path of paths) {
      expect(isAbsolute(path)).toBe(true);
      expect(dirname(path)).toBe(folder);
    }
    const origin = sourceOriginFile(located);
    expect(origin === undefined ? undefined : dirname(origin)).toBe(folder);
  });

  it('fingerprints the content: the same data gives the same fingerprint, a changed row another', async () => {
    const first = written();
    const fingerprint = await sourceFingerprint(first.spec, first.folder);
    expect(fingerprint).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(await sourceFingerprint(first.spec, first.folder)).toBe(fingerprint);
    // The same data written again, elsewhere and later: the content is what counts.
    const second = written();
    expect(await sourceFingerprint(second.spec, second.folder)).toBe(fingerprint);

    fixture.changeProfile(second.folder);
    const profileChanged = await sourceFingerprint(second.spec, second.folder);
    expect(profileChanged).not.toBe(fingerprint);

    const third = written();
    fixture.changeMembership(third.folder);
    const membershipChanged = await sourceFingerprint(third.spec, third.folder);
    expect(membershipChanged).not.toBe(fingerprint);
    expect(membershipChanged).not.toBe(profileChanged);
    // The first copy was never changed.
    expect(await sourceFingerprint(first.spec, first.folder)).toBe(fingerprint);
  });

  it('fails a read, a fingerprint and a check of missing data with source-file-missing', async () => {
    const folder = tempFolder();
    const parts = resolveRowSources(fixture.spec, folder);
    const failures = [
      () => collect(readSourceRows(parts.profiles, profileFields)),
      () => adapter.inspectColumns(parts.profiles),
      () => sourceFingerprint(fixture.spec, folder),
      () => checkSourceReadsWhole(parts.profiles, profileFields),
    ];
    for (const failure of failures) {
      const error = await failure().then(
        () => undefined,
        (caught: unknown) => caught,
      );
      expect(error).toBeInstanceOf(SourceError);
      expect(error).toMatchObject({ code: 'source-file-missing' });
    }
    const problems = await checkSourceReadable(fixture.spec, folder, []);
    expect(problems.map((problem) => problem.code)).toContain('source-file-missing');
    expect(problems.every((problem) => problem.code === 'source-file-missing')).toBe(true);
  });

  it('fails on a folder where a data file should be with source-unreadable', async () => {
    const { folder, files, spec } = written();
    const file = files[0] ?? '';
    rmSync(file);
    mkdirSync(file);
    const parts = resolveRowSources(spec, folder);
    for (const failure of [
      () => collect(readSourceRows(parts.profiles, profileFields)),
      () => adapter.inspectColumns(parts.profiles),
      () => sourceFingerprint(spec, folder),
    ]) {
      const error = await failure().then(
        () => undefined,
        (caught: unknown) => caught,
      );
      expect(error).toBeInstanceOf(SourceError);
      expect(error).toMatchObject({ code: 'source-unreadable' });
    }
  });

  it('says a gzip file in place of the data is unreadable, before reading it as rows', async () => {
    const { folder, files, spec } = written();
    const file = files[0] ?? '';
    writeFileSync(file, gzipSync(readFileSync(file)));
    const problems = await checkSourceReadable(spec, folder, ['EmailAddress']);
    expect(problems[0]).toMatchObject({ code: 'source-unreadable', severity: 'error', part: 'profiles' });
    const parts = resolveRowSources(spec, folder);
    const error = await adapter
      .assertReadable(parts.profiles)
      .then(() => adapter.inspectColumns(parts.profiles))
      .then(
        () => undefined,
        (caught: unknown) => caught,
      );
    expect(error).toMatchObject({ code: 'source-unreadable' });
  });
});
