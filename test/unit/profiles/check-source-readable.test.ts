import { copyFileSync, truncateSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { ProfileSourceSpec } from '../../../src/config';
import { checkSourceReadable, type SourceProblem } from '../../../src/profiles';
import { profileFixture, sqliteFixture } from '../../support/profile-fixtures';
import { tempFolder } from '../../support/temp-folder';

const csvSpec: ProfileSourceSpec = {
  type: 'csv',
  profiles: 'profiles.csv',
  segmentMembership: 'segment-membership.csv',
  key: 'CustomerId',
  segmentField: 'Segment',
};
const mapped = ['EmailAddress', 'FirstName', 'LastName'];

/** A temp copy of the contacts-csv fixture, with some files replaced. */
function csvFolder(files: Record<string, string> = {}): string {
  const folder = tempFolder();
  for (const file of ['profiles.csv', 'segment-membership.csv'])
    copyFileSync(join(profileFixture('contacts-csv'), file), join(folder, file));
  for (const [file, text] of Object.entries(files)) writeFileSync(join(folder, file), text);
  return folder;
}

const brief = (problems: SourceProblem[]) =>
  problems.map(({ code, severity, part, field }) => ({ code, severity, part, ...(field ? { field } : {}) }));

describe('checkSourceReadable', () => {
  it('finds nothing wrong with a good csv source', async () => {
    expect(await checkSourceReadable(csvSpec, csvFolder(), mapped)).toEqual([]);
  });

  it.each([
    {
      name: 'profiles file missing',
      spec: { ...csvSpec, profiles: 'nope.csv' },
      files: {},
      expected: [{ code: 'source-file-missing', severity: 'error', part: 'profiles' }],
    },
    {
      name: 'empty profiles file (no header)',
      spec: csvSpec,
      files: { 'profiles.csv': '' },
      expected: [{ code: 'source-no-header', severity: 'error', part: 'profiles' }],
    },
    {
      name: 'key column missing from both, and a mapped field missing',
      spec: { ...csvSpec, key: 'Id' },
      files: {},
      expected: [
        { code: 'source-field-missing', severity: 'error', part: 'profiles', field: 'Id' },
        { code: 'source-field-missing', severity: 'error', part: 'segmentMembership', field: 'Id' },
      ],
    },
    {
      name: 'mapped fields missing: every one is listed',
      spec: csvSpec,
      files: { 'profiles.csv': 'CustomerId,Email,First\nC1,a@example.com,Ada\n' },
      expected: [
        { code: 'source-field-missing', severity: 'error', part: 'profiles', field: 'EmailAddress' },
        { code: 'source-field-missing', severity: 'error', part: 'profiles', field: 'FirstName' },
        { code: 'source-field-missing', severity: 'error', part: 'profiles', field: 'LastName' },
      ],
    },
    {
      name: 'segment field missing',
      spec: { ...csvSpec, segmentField: 'SegmentName' },
      files: {},
      expected: [
        { code: 'source-field-missing', severity: 'error', part: 'segmentMembership', field: 'SegmentName' },
      ],
    },
    {
      name: 'a needed column named twice',
      spec: csvSpec,
      files: { 'segment-membership.csv': 'CustomerId,Segment,Segment\n' },
      expected: [
        { code: 'source-duplicate-field', severity: 'error', part: 'segmentMembership', field: 'Segment' },
      ],
    },
  ])('csv: $name', async ({ spec, files, expected }) => {
    expect(brief(await checkSourceReadable(spec, csvFolder(files), mapped))).toEqual(expected);
  });

  it('says where and what to do', async () => {
    const folder = csvFolder({ 'profiles.csv': 'CustomerId,EmailAdress\n' });
    const [problem] = await checkSourceReadable(csvSpec, folder, ['EmailAddress']);
    expect(problem).toMatchObject({
      file: join(folder, 'profiles.csv'),
      hint: expect.stringContaining('EmailAdress'),
    });
  });

  it.each([
    // gzip -c profiles.csv > profiles.csv.gz, renamed back to profiles.csv
    { kind: 'gzip', bytes: gzipSync(Buffer.from('CustomerId,EmailAddress,FirstName,LastName\n')) },
    // An .xlsx workbook (a zip archive) saved as profiles.csv
    {
      kind: 'zip',
      bytes: Buffer.from(
        'PK\u0003\u0004\u0014\u0000\u0006\u0000[Content_Types].xml\u0000\u00ff\u00fe',
        'latin1',
      ),
    },
    { kind: 'binary', bytes: Buffer.from('CustomerId\u0000\u0000\u0001\u0002,\u0000Email\n', 'latin1') },
  ])('a $kind file is described as one, not echoed as bytes', async ({ kind, bytes }) => {
    const folder = csvFolder();
    writeFileSync(join(folder, 'profiles.csv'), bytes);
    const problems = await checkSourceReadable(csvSpec, folder, mapped);
    expect(brief(problems)).toEqual([{ code: 'source-unreadable', severity: 'error', part: 'profiles' }]);
    const [problem] = problems;
    expect(problem?.message).toBe(
      `${join(folder, 'profiles.csv')} looks like a binary file (${kind}), not csv text`,
    );
    expect(problem?.hint).toMatch(kind === 'gzip' ? /gunzip/ : /export it as CSV/);
    // Not a byte of it is echoed: no control characters (JSON writes them \u00XX), no U+FFFD.
    expect(JSON.stringify(problem)).not.toMatch(/\\u00|\ufffd/);
  });

  it('a UTF-16 file read as UTF-8 is told to set its encoding, not called binary', async () => {
    const folder = csvFolder();
    writeFileSync(
      join(folder, 'profiles.csv'),
      Buffer.from('CustomerId,EmailAddress\nC1,a@example.com\n', 'utf16le'),
    );
    const [problem] = await checkSourceReadable(csvSpec, folder, mapped);
    expect(problem).toMatchObject({ code: 'source-unreadable', hint: expect.stringContaining('utf-16le') });
    expect(problem?.message).toContain('looks like UTF-16 text');
    // Declared as UTF-16 (both files are), it is read as such.
    writeFileSync(
      join(folder, 'segment-membership.csv'),
      Buffer.from('CustomerId,Segment\nC1,VIP\n', 'utf16le'),
    );
    expect(await checkSourceReadable({ ...csvSpec, encoding: 'utf-16le' }, folder, ['EmailAddress'])).toEqual(
      [],
    );
  });

  it('reads no more of a csv than its header line', async () => {
    // 1 GiB of sparse zeros after the header: reading on would take ages and memory (one giant field).
    const folder = csvFolder();
    const profiles = join(folder, 'profiles.csv');
    writeFileSync(profiles, 'CustomerId,EmailAddress,FirstName,LastName\n');
    truncateSync(profiles, 2 ** 30);
    expect(await checkSourceReadable(csvSpec, folder, mapped)).toEqual([]);
  });

  describe('jsonl', () => {
    const spec: ProfileSourceSpec = {
      ...csvSpec,
      type: 'jsonl',
      profiles: 'profiles.jsonl',
      segmentMembership: 'segment-membership.jsonl',
    };
    const folder = (files: Record<string, string>) => {
      const dir = tempFolder();
      for (const file of ['profiles.jsonl', 'segment-membership.jsonl'])
        copyFileSync(join(profileFixture('contacts-jsonl'), file), join(dir, file));
      for (const [file, text] of Object.entries(files)) writeFileSync(join(dir, file), text);
      return dir;
    };

    it('judges fields by the first object, as warnings: later objects may have them', async () => {
      // The fixture's second object has no LastName, the first one does: fine.
      expect(await checkSourceReadable(spec, folder({}), mapped)).toEqual([]);
      const problems = await checkSourceReadable(
        spec,
        folder({ 'profiles.jsonl': '\n{"CustomerId":"C1","EmailAddress":"a@example.com"}\n' }),
        mapped,
      );
      expect(brief(problems)).toEqual([
        { code: 'source-field-missing', severity: 'warning', part: 'profiles', field: 'FirstName' },
        { code: 'source-field-missing', severity: 'warning', part: 'profiles', field: 'LastName' },
      ]);
    });

    it('warns when the first line is not a JSON object (a csv declared as jsonl?)', async () => {
      const problems = await checkSourceReadable(
        spec,
        folder({ 'profiles.jsonl': 'CustomerId,EmailAddress\n' }),
        mapped,
      );
      expect(brief(problems)).toEqual([{ code: 'source-unreadable', severity: 'warning', part: 'profiles' }]);
    });

    it('reads the first object in the encoding the source names', async () => {
      const dir = folder({});
      const utf16 = (text: string) => Buffer.from(text, 'utf16le');
      writeFileSync(
        join(dir, 'profiles.jsonl'),
        utf16('{"CustomerId":"C1","EmailAddress":"a@example.com","FirstName":"Zoë","LastName":"Ng"}\n'),
      );
      writeFileSync(join(dir, 'segment-membership.jsonl'), utf16('{"CustomerId":"C1","Segment":"VIP"}\n'));
      expect(await checkSourceReadable({ ...spec, encoding: 'utf-16le' }, dir, mapped)).toEqual([]);
    });

    it('an empty file is readable (no rows)', async () => {
      expect(await checkSourceReadable(spec, folder({ 'segment-membership.jsonl': '' }), mapped)).toEqual([]);
    });

    it('a missing file is an error', async () => {
      expect(
        brief(await checkSourceReadable({ ...spec, segmentMembership: 'x.jsonl' }, folder({}), mapped)),
      ).toEqual([{ code: 'source-file-missing', severity: 'error', part: 'segmentMembership' }]);
    });
  });

  describe('sqlite', () => {
    const spec = (database: string, overrides: Partial<ProfileSourceSpec> = {}) => ({
      spec: {
        type: 'sqlite' as const,
        database: 'crm.db',
        profiles: 'profiles',
        segmentMembership: 'SELECT CustomerId, SegmentName FROM memberships',
        key: 'CustomerId',
        segmentField: 'SegmentName',
        ...overrides,
      },
      baseDir: dirname(database),
    });

    it.each([
      { name: 'a good table and query', overrides: {}, expected: [] },
      {
        name: 'database missing: said once for both parts',
        overrides: { database: 'other.db' },
        expected: [{ code: 'source-file-missing', severity: 'error', part: 'profiles' }],
      },
      {
        name: 'table missing',
        overrides: { profiles: 'profile' },
        expected: [{ code: 'source-table-missing', severity: 'error', part: 'profiles' }],
      },
      {
        name: 'query does not compile',
        overrides: { segmentMembership: 'SELECT CustomerId, SegmentName FROM membership' },
        expected: [{ code: 'source-query-invalid', severity: 'error', part: 'segmentMembership' }],
      },
      {
        name: 'columns missing from a table and from a query',
        overrides: { profiles: 'memberships', segmentMembership: 'SELECT CustomerId FROM memberships' },
        expected: [
          { code: 'source-field-missing', severity: 'error', part: 'profiles', field: 'EmailAddress' },
          { code: 'source-field-missing', severity: 'error', part: 'profiles', field: 'FirstName' },
          { code: 'source-field-missing', severity: 'error', part: 'profiles', field: 'LastName' },
          {
            code: 'source-field-missing',
            severity: 'error',
            part: 'segmentMembership',
            field: 'SegmentName',
          },
        ],
      },
      {
        name: 'a query is compiled, never run (this one fails only when run)',
        overrides: {
          segmentMembership:
            "SELECT CustomerId, SegmentName FROM memberships WHERE json_extract('not json', '$.a')",
        },
        expected: [],
      },
    ])('$name', async ({ overrides, expected }) => {
      const { spec: source, baseDir } = spec(sqliteFixture('contacts-sqlite', 'crm.db'), overrides);
      expect(brief(await checkSourceReadable(source, baseDir, mapped))).toEqual(expected);
    });

    it('a file that is not a database', async () => {
      const folder = tempFolder();
      writeFileSync(join(folder, 'crm.db'), 'CustomerId,EmailAddress\n'.repeat(100));
      const { spec: source } = spec(join(folder, 'crm.db'));
      expect(brief(await checkSourceReadable(source, folder, mapped))).toEqual([
        { code: 'source-unreadable', severity: 'error', part: 'profiles' },
      ]);
    });
  });
});
