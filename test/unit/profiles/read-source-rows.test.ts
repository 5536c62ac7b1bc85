import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import {
  checkSourceReadsWhole,
  type RowSource,
  readSourceRows,
  SourceError,
  type SourceRecord,
  type SourceRowOptions,
} from '../../../src/profiles';
import { collect, profileFixture, sqliteFixture } from '../../support/profile-fixtures';
import { tempFolder } from '../../support/temp-folder';

/** A row as `{line, values}`, or an unreadable one as `{line, issue, values}`: easy to read in a table. */
function summarise(record: SourceRecord) {
  const position = record.where.line ?? record.where.rowid ?? record.where.row;
  const warning = record.warning === undefined ? {} : { warning: record.warning.code };
  return record.issue === undefined
    ? { at: position, values: record.values, ...warning }
    : { at: position, issue: record.issue.code, values: record.values };
}

const fields = ['Id', 'Email', 'First'];
const csv = (name: string): RowSource => ({ type: 'csv', file: join(profileFixture(name), 'profiles.csv') });
const jsonl = (name: string): RowSource => ({
  type: 'jsonl',
  file: join(profileFixture(name), 'profiles.jsonl'),
});
const none = [undefined, undefined, undefined];

describe('readSourceRows: rows per fixture', () => {
  const cases: {
    name: string;
    source: () => RowSource;
    options?: SourceRowOptions;
    expected: ReturnType<typeof summarise>[];
  }[] = [
    {
      name: 'csv-basic: header names are the fields; an empty cell is an empty string',
      source: () => csv('csv-basic'),
      expected: [
        { at: 2, values: ['P1', 'a@example.com', 'Ada'] },
        { at: 3, values: ['P2', 'b@example.com', ''] },
        { at: 4, values: ['P3', '', 'Cy'] },
      ],
    },
    {
      name: 'csv-bom-crlf: the BOM is not part of the first field name; CRLF ends lines',
      source: () => csv('csv-bom-crlf'),
      expected: [
        { at: 2, values: ['P1', 'a@example.com', 'Ada'] },
        { at: 3, values: ['P2', 'b@example.com', 'Ben'] },
      ],
    },
    {
      name: 'csv-quoted: commas, doubled quotes and line breaks inside quotes (of a field that may hold them); lines count physical lines',
      source: () => csv('csv-quoted'),
      options: { multiLineFields: ['First'] },
      expected: [
        { at: 2, values: ['P1', 'a@example.com', 'Smith, Jr.'] },
        { at: 3, values: ['P2', 'b@example.com', 'the "great"'] },
        { at: 4, values: ['P3', 'c@example.com', 'two\nlines'] },
        { at: 6, values: ['P4', 'd@example.com', 'crlf\r\ninside'] },
        { at: 8, values: ['P5', 'e@example.com', 'three\n\nlines'] },
        { at: 11, values: ['P6', 'f@example.com', 'after'] },
      ],
    },
    {
      name: 'csv-ragged: too many or too few columns is a row issue that keeps what it could read',
      source: () => csv('csv-ragged'),
      expected: [
        { at: 2, values: ['P1', 'a@example.com', 'Ada'] },
        { at: 3, issue: 'column-count', values: ['P2', 'b@example.com', 'Ben'] },
        { at: 4, issue: 'column-count', values: ['P3', 'c@example.com', undefined] },
        { at: 5, values: ['P4', 'd@example.com', 'Dee'] },
      ],
    },
    {
      name: 'csv-stray-quote-in-field: a quote inside an unquoted field is a malformed row, and reading goes on',
      source: () => csv('csv-stray-quote-in-field'),
      expected: [
        { at: 2, issue: 'malformed-row', values: none },
        { at: 3, values: ['P2', 'b@example.com', 'Ben'] },
        { at: 4, values: ['P3', 'c@example.com', 'Cy'] },
      ],
    },
    {
      name: 'csv-cut-short: a last line without a line break is read as it is, with a warning',
      source: () => csv('csv-cut-short'),
      expected: [
        { at: 2, values: ['P1', 'a@example.com', 'Ada'] },
        { at: 3, issue: 'column-count', values: ['P2', 'b@example.co', undefined] },
      ],
    },
    {
      name: 'csv-latin1: read as latin1 (windows-1252), bytes 0xE9 and 0x80 are é and €',
      source: () => ({ ...csv('csv-latin1'), encoding: 'latin1' }),
      expected: [
        { at: 2, values: ['P1', 'a@example.com', 'José'] },
        { at: 3, values: ['P2', 'b@example.com', '€uro'] },
      ],
    },
    {
      name: 'csv-latin1 read as UTF-8: the bytes that are not UTF-8 become U+FFFD (the mapping leaves them out, with a warning)',
      source: () => csv('csv-latin1'),
      expected: [
        { at: 2, values: ['P1', 'a@example.com', 'Jos\uFFFD'] },
        { at: 3, values: ['P2', 'b@example.com', '\uFFFDuro'] },
      ],
    },
    {
      name: 'jsonl-cut-short: a last line without a line break is read as it is (here not JSON: a row issue)',
      source: () => jsonl('jsonl-cut-short'),
      expected: [
        { at: 1, values: ['P1', 'a@example.com', 'Ada'] },
        { at: 2, issue: 'invalid-json', values: none },
      ],
    },
    { name: 'csv-header-only: no rows', source: () => csv('csv-header-only'), expected: [] },
    {
      name: 'csv-blank-lines: blank lines are skipped, mixed LF and CRLF line ends are both line ends',
      source: () => csv('csv-blank-lines'),
      expected: [
        { at: 4, values: ['P1', 'a@example.com', 'Ada'] },
        { at: 6, values: ['P2', 'b@example.com', 'Ben'] },
      ],
    },
    {
      name: 'jsonl-basic: BOM, CRLF, blank lines; values stringified; null and missing are absent',
      source: () => jsonl('jsonl-basic'),
      expected: [
        { at: 1, values: ['P1', 'a@example.com', 'Ada'] },
        { at: 3, values: ['2', 'b@example.com', undefined] },
        { at: 5, values: ['P3', 'c@example.com', 'true'] },
        { at: 6, values: ['P4', 'd@example.com', '{"nested":"x"}'] },
        { at: 7, values: ['P5', 'e@example.com', undefined] },
        { at: 8, issue: 'imprecise-number', values: ['1.2345678901234568e+22', 'f@example.com', 'Fay'] },
      ],
    },
    {
      name: 'jsonl-bad-lines: a line that is not JSON or not an object is a row issue',
      source: () => jsonl('jsonl-bad-lines'),
      expected: [
        { at: 1, values: ['P1', 'a@example.com', 'Ada'] },
        { at: 2, issue: 'invalid-json', values: none },
        { at: 3, issue: 'not-an-object', values: none },
        { at: 4, issue: 'not-an-object', values: none },
        { at: 5, values: ['P4', 'd@example.com', 'Dee'] },
      ],
    },
    { name: 'jsonl-empty: blank lines only, no rows', source: () => jsonl('jsonl-empty'), expected: [] },
  ];

  it.each(cases)('$name', async ({ source, options, expected }) => {
    const records = await collect(readSourceRows(source(), fields, options));
    expect(records.map(summarise)).toEqual(expected);
  });

  it('a last line without a line break that reads as a whole row is exported, with a no-final-line-break warning', async () => {
    const folder = tempFolder();
    const file = join(folder, 'profiles.csv');
    writeFileSync(file, 'Id,Email\nP1,a@example.com\nP2,b@example.co');
    const records = await collect(readSourceRows({ type: 'csv', file }, ['Id', 'Email']));
    expect(records.map(summarise)).toEqual([
      { at: 2, values: ['P1', 'a@example.com'] },
      { at: 3, values: ['P2', 'b@example.co'], warning: 'no-final-line-break' },
    ]);
    writeFileSync(file, '{"Id":"P1","Email":"a@example.com"}\n{"Id":"P2","Email":"b@example.co"}');
    const lines = await collect(readSourceRows({ type: 'jsonl', file }, ['Id', 'Email']));
    expect(lines.map(summarise)).toEqual([
      { at: 1, values: ['P1', 'a@example.com'] },
      { at: 2, values: ['P2', 'b@example.co'], warning: 'no-final-line-break' },
    ]);
  });

  it('jsonl: a CRLF split across two read chunks is one line end; lone CRs end lines too', async () => {
    const folder = tempFolder();
    const file = join(folder, 'profiles.jsonl');
    // The first line's CR is the last byte of the first 64 KiB chunk, its LF the first of the next.
    const head = '{"Id":"P1","Email":"a@example.com","Pad":"';
    const first = `${head}${'x'.repeat(65_535 - head.length - 2)}"}`;
    writeFileSync(file, `${first}\r\n{"Id":"P2"}\r\n{"Id":"P3"}\r{"Id":"P4"}\r`);
    expect(first.length).toBe(65_535);
    const records = await collect(readSourceRows({ type: 'jsonl', file }, ['Id', 'Email']));
    expect(records.map(summarise)).toEqual([
      { at: 1, values: ['P1', 'a@example.com'] },
      { at: 2, values: ['P2', undefined] },
      { at: 3, values: ['P3', undefined] },
      { at: 4, values: ['P4', undefined] },
    ]);
  });

  it('row issues name the file and line in their message and location', async () => {
    const [issue] = (await collect(readSourceRows(csv('csv-ragged'), fields)))
      .map((record) => record.issue)
      .filter((found) => found !== undefined);
    expect(issue).toMatchObject({
      severity: 'error',
      code: 'column-count',
      where: { file: join(profileFixture('csv-ragged'), 'profiles.csv'), line: 3 },
    });
    expect(issue?.message).toContain('profiles.csv:3');
  });
});

describe('readSourceRows: sqlite', () => {
  const sqlite = (relation: string): RowSource => ({
    type: 'sqlite',
    database: sqliteFixture('sqlite-source'),
    relation,
  });

  it.each([
    {
      name: 'a table: rowids, values stringified (exact integers, bytes as text), NULL absent',
      relation: 'profiles',
      fields: ['Id', 'First', 'Score', 'Visits', 'Photo'],
      expected: [
        { at: 10, values: ['P1', 'Ada', '1.5', '9007199254740993', undefined] },
        { at: 11, values: ['P2', undefined, undefined, undefined, 'Bob'] },
        { at: 20, values: ['P3', 'Cy', '2', '3', undefined] },
      ],
    },
    {
      name: 'a table name that needs quoting, found whatever its case',
      relation: 'SEGMENT MEMBERSHIP',
      fields: ['Id', 'Segment'],
      expected: [
        { at: 1, values: ['P1', 'VIP'] },
        { at: 2, values: ['P2', 'Newsletter'] },
        { at: 3, values: ['P3', 'VIP'] },
        { at: 4, values: ['P3', 'Newsletter'] },
      ],
    },
    {
      name: 'a query (WITH … SELECT): rows numbered in result order',
      relation:
        "  with v as (select Id, Email from profiles where Id <> 'P2') SELECT * FROM v ORDER BY Id DESC",
      fields: ['Email', 'Id'],
      expected: [
        { at: 1, values: ['c@example.com', 'P3'] },
        { at: 2, values: ['a@example.com', 'P1'] },
      ],
    },
    {
      name: 'a view has no rowid: rows numbered',
      relation: 'vip_profiles',
      fields: ['Id'],
      expected: [
        { at: 1, values: ['P1'] },
        { at: 2, values: ['P3'] },
      ],
    },
    {
      name: 'a WITHOUT ROWID table: rows numbered',
      relation: 'keyed',
      fields: ['Id', 'Email'],
      expected: [
        { at: 1, values: ['K1', 'k1@example.com'] },
        { at: 2, values: ['K2', 'k2@example.com'] },
      ],
    },
    {
      name: 'columns that shadow every rowid alias: rows numbered, the columns read',
      relation: 'shadowed',
      fields: ['rowid', 'Id'],
      expected: [{ at: 1, values: ['r', 'S1'] }],
    },
    {
      name: 'identifiers with quotes and dashes',
      relation: 'we"ird',
      fields: ['E-mail'],
      expected: [{ at: 1, values: ['w@example.com'] }],
    },
  ])('$name', async ({ relation, fields: wanted, expected }) => {
    const records = await collect(readSourceRows(sqlite(relation), wanted));
    expect(records.map(summarise)).toEqual(expected);
  });

  it('says which relation a row came from', async () => {
    const [first] = await collect(readSourceRows(sqlite('profiles'), ['Id']));
    expect(first?.where).toMatchObject({ relation: 'profiles', rowid: 10 });
  });

  it('says a table reads whole, and a query, a view or a table with a virtual generated column only at its end', async () => {
    expect(await checkSourceReadsWhole(sqlite('profiles'), ['Id'])).toBe(true);
    expect(await checkSourceReadsWhole(sqlite('keyed'), ['Id'])).toBe(true);
    expect(await checkSourceReadsWhole(sqlite('vip_profiles'), ['Id'])).toBe(false);
    expect(await checkSourceReadsWhole(sqlite('SELECT Id FROM profiles'), ['Id'])).toBe(false);
    const database = join(tempFolder(), 'generated.db');
    const db = new Database(database);
    db.exec(`CREATE TABLE t (Id TEXT, Raw TEXT, Parsed TEXT GENERATED ALWAYS AS (json(Raw)) VIRTUAL);
             CREATE TABLE s (Id TEXT, Raw TEXT, Parsed TEXT GENERATED ALWAYS AS (json(Raw)) STORED);`);
    db.close();
    expect(await checkSourceReadsWhole({ type: 'sqlite', database, relation: 't' }, ['Id'])).toBe(false);
    // A STORED one was computed when the row was written: reading it cannot fail.
    expect(await checkSourceReadsWhole({ type: 'sqlite', database, relation: 's' }, ['Id'])).toBe(true);
  });

  it('closes the database when the reader stops early', async () => {
    const source = sqlite('profiles');
    for await (const _ of readSourceRows(source, ['Id'])) break;
    // A second full read works: nothing was left locked or half-iterated.
    expect(await collect(readSourceRows(source, ['Id']))).toHaveLength(3);
  });
});

describe('readSourceRows: sources that cannot be read at all', () => {
  const folder = () => {
    const dir = tempFolder();
    mkdirSync(join(dir, 'a-folder'));
    writeFileSync(join(dir, 'text.db'), 'this is not a database, it is a text file\n'.repeat(20));
    return dir;
  };

  it.each([
    {
      name: 'csv file missing',
      source: (): RowSource => ({ type: 'csv', file: '/nonexistent/profiles.csv' }),
      code: 'source-file-missing',
    },
    {
      name: 'jsonl file missing',
      source: (): RowSource => ({ type: 'jsonl', file: '/nonexistent/p.jsonl' }),
      code: 'source-file-missing',
    },
    {
      name: 'csv path is a folder',
      source: (): RowSource => ({ type: 'csv', file: join(folder(), 'a-folder') }),
      code: 'source-unreadable',
    },
    { name: 'csv empty file', source: () => csv('csv-empty'), code: 'source-no-header' },
    {
      name: 'csv header that does not parse',
      source: () => csv('csv-unparseable-header'),
      code: 'source-no-header',
    },
    {
      name: 'csv needed field named twice',
      source: () => csv('csv-duplicate-column'),
      code: 'source-duplicate-field',
    },
    {
      name: 'jsonl field in no object at all (after the rows)',
      source: () => jsonl('jsonl-field-never-present'),
      code: 'source-field-missing',
    },
    {
      name: 'sqlite database missing',
      source: (): RowSource => ({ type: 'sqlite', database: '/nonexistent/x.db', relation: 'profiles' }),
      code: 'source-file-missing',
    },
    {
      name: 'sqlite file that is not a database',
      source: (): RowSource => ({
        type: 'sqlite',
        database: join(folder(), 'text.db'),
        relation: 'profiles',
      }),
      code: 'source-unreadable',
    },
    {
      name: 'sqlite table missing',
      source: (): RowSource => ({
        type: 'sqlite',
        database: sqliteFixture('sqlite-source'),
        relation: 'profile',
      }),
      code: 'source-table-missing',
    },
    {
      name: 'sqlite query that does not compile',
      source: (): RowSource => ({
        type: 'sqlite',
        database: sqliteFixture('sqlite-source'),
        relation: 'SELECT Id FROM nowhere',
      }),
      code: 'source-query-invalid',
    },
    {
      name: 'sqlite query that would write',
      source: (): RowSource => ({
        type: 'sqlite',
        database: sqliteFixture('sqlite-source'),
        relation: 'WITH x AS (SELECT 1) DELETE FROM profiles',
      }),
      code: 'source-query-invalid',
    },
    {
      name: 'sqlite query with a parameter',
      source: (): RowSource => ({
        type: 'sqlite',
        database: sqliteFixture('sqlite-source'),
        relation: 'SELECT Id, Email, First FROM profiles WHERE Id = ?',
      }),
      code: 'source-query-invalid',
    },
    {
      name: 'sqlite column missing',
      source: (): RowSource => ({
        type: 'sqlite',
        database: sqliteFixture('sqlite-source'),
        relation: 'keyed',
      }),
      code: 'source-field-missing',
    },
  ])('$name → $code', async ({ source, code }) => {
    const error = await collect(readSourceRows(source(), fields)).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SourceError);
    expect(error).toMatchObject({ code });
  });

  it.each([
    { name: 'csv-unclosed-quote: a quote never closed', fixture: 'csv-unclosed-quote', line: 3 },
    { name: 'csv-bad-quotes: a quote closed in the wrong place', fixture: 'csv-bad-quotes', line: 4 },
    {
      name: 'csv-swallowed-rows: two stray quotes make one record of three lines',
      fixture: 'csv-swallowed-rows',
      line: 3,
    },
  ])('$name is a failed read naming the line, not a row issue', async ({ fixture, line }) => {
    const error = await collect(readSourceRows(csv(fixture), fields)).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SourceError);
    expect(error).toMatchObject({ code: 'source-unterminated-quote', context: { line } });
    expect((error as SourceError).message).toContain(`profiles.csv:${line}:`);
  });

  it('a line break in a field that may not hold one (the key, the email) is a failed read', async () => {
    const folder = tempFolder();
    const file = join(folder, 'profiles.csv');
    writeFileSync(file, 'Id,Email,First\nP1,"a@example.com\nP2",Ann\nP3,c@example.com,Cy\n');
    const error = await collect(
      readSourceRows({ type: 'csv', file }, fields, { multiLineFields: ['First'] }),
    ).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'source-unterminated-quote', context: { line: 2 } });
    expect((error as SourceError).message).toContain('Email');
  });

  it('a file that changes while it is read is a failed read (source-changed-while-read)', async () => {
    const folder = tempFolder();
    const file = join(folder, 'profiles.csv');
    writeFileSync(
      file,
      `Id,Email,First\n${Array.from({ length: 20_000 }, (_, i) => `P${i},u${i}@example.com,N`).join('\n')}\n`,
    );
    for (const type of ['csv', 'jsonl'] as const) {
      if (type === 'jsonl')
        writeFileSync(
          file,
          `${Array.from({ length: 20_000 }, (_, i) => `{"Id":"P${i}","Email":"u${i}@example.com"}`).join('\n')}\n`,
        );
      let appended = false;
      const read = async () => {
        for await (const _ of readSourceRows({ type, file }, ['Id', 'Email'])) {
          if (!appended) {
            appended = true;
            writeFileSync(file, type === 'csv' ? 'P-new,new@example.com,N\n' : '{"Id":"P-new"}\n', {
              flag: 'a',
            });
          }
        }
      };
      const error = await read().catch((caught: unknown) => caught);
      expect(error, type).toBeInstanceOf(SourceError);
      expect(error, type).toMatchObject({ code: 'source-changed-while-read', context: { file } });
    }
  });

  it('names the missing field and suggests the near one', async () => {
    const error = await collect(readSourceRows(csv('csv-basic'), ['Id', 'email'])).catch(
      (caught: unknown) => caught,
    );
    expect(error).toMatchObject({ code: 'source-field-missing', context: { field: 'email' } });
    expect((error as SourceError).hint).toContain('"Email"');
  });
});
