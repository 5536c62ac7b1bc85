import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProfileSourceSpec } from '../../../src/config';
import {
  checkSourceReadable,
  checkSourceReadsWhole,
  readContacts,
  readSourceRows,
  resolveRowSources,
  SharedSourceRead,
  SourceError,
  type SourceRowProvider,
  sourceAdapterFor,
  sourceFingerprint,
  sourceOriginIdentity,
  sourceWatchPaths,
  watchSourceChanges,
  withPostgresUrl,
} from '../../../src/profiles';
import { type PostgresServer, startPostgresServer } from '../../support/postgres-server';
import { collect } from '../../support/profile-fixtures';

// The contacts fixture (test/fixtures/profiles/contacts-sqlite/source.sql) in PostgreSQL, with
// quoted mixed-case columns as a warehouse has them, and a second copy in a schema of its own.
const contactsSql = `
  CREATE TABLE profiles ("CustomerId" text, "EmailAddress" text, "FirstName" text, "LastName" text);
  INSERT INTO profiles VALUES
    ('C1', 'ada@example.com', 'Ada', 'Lovelace'),
    ('C2', '  BEN@Example.com ', 'Ben', NULL),
    ('C3', 'not-an-email', 'Cy', 'Young'),
    ('C4', '', 'Dee', 'Dee'),
    ('C5', 'eve@example.com', 'Maximiliana-Theodora-Wilhelmina-Bernadette-Konstanze-Rosalind', 'Evans'),
    ('C1', 'ada.second@example.com', 'Ada', 'Again'),
    ('C6', 'fay@example.com', 'Fay', 'Unselected'),
    ('C7', 'Ada@Example.com', 'Ada', 'Twin'),
    ('C8', 'gus@example.com', 'Gus', E'Multi\\nLine');
  CREATE TABLE memberships ("CustomerId" text, segment_id int);
  CREATE TABLE segments (id int PRIMARY KEY, "Name" text);
  INSERT INTO segments VALUES (1, 'VIP'), (2, 'Newsletter'), (3, 'Other');
  INSERT INTO memberships VALUES
    ('C1', 1), ('C2', 2), ('C3', 1), ('C4', 1), ('C5', 2), ('C7', 1), ('C8', 1), ('C9', 1), ('C6', 3), ('C1', 2);
  CREATE VIEW segment_membership AS
    SELECT m."CustomerId", s."Name" AS "Segment" FROM memberships m JOIN segments s ON s.id = m.segment_id;
  CREATE SCHEMA crm;
  CREATE TABLE crm."Profiles" AS SELECT * FROM profiles;
`;

const membershipQuery = `SELECT m."CustomerId", s."Name" AS "Segment"
  FROM memberships m JOIN segments s ON s.id = m.segment_id`;

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

describe('postgres profile sources, against a real server', () => {
  let server: PostgresServer;
  let database: string;
  const spec = (overrides: Partial<ProfileSourceSpec> = {}, url = server.url({ database })) =>
    withPostgresUrl(
      {
        type: 'postgres',
        database: { env: 'PROFILES_DATABASE_URL' },
        profiles: 'profiles',
        segmentMembership: membershipQuery,
        key: 'CustomerId',
        segmentField: 'Segment',
        ...overrides,
      },
      url,
    );
  const failure = async (promise: Promise<unknown>): Promise<SourceError> => {
    const error = await promise.then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(SourceError);
    return error as SourceError;
  };

  beforeAll(async () => {
    server = await startPostgresServer();
    database = await server.createDatabase();
    server.psql(contactsSql, database);
  }, 60_000);
  afterAll(async () => {
    await server?.dispose();
  });

  it('reads the same records as every other type: a table, a query with a join, a view', async () => {
    const parts = resolveRowSources(spec(), '/ignored');
    const profiles = await collect(readSourceRows(parts.profiles, profileFields));
    expect(profiles.map((record) => record.values)).toEqual(expectedProfiles);
    expect(profiles[2]?.where).toMatchObject({ relation: 'profiles', row: 3 });
    const membership = await collect(readSourceRows(parts.segmentMembership, ['CustomerId', 'Segment']));
    expect(membership.map((record) => record.values)).toEqual(expectedMembership);
    const view = resolveRowSources(spec({ segmentMembership: 'segment_membership' }), '/');
    const viewRows = await collect(readSourceRows(view.segmentMembership, ['CustomerId', 'Segment']));
    expect(viewRows.map((record) => record.values)).toEqual(expectedMembership);
  });

  it("says a table reads whole, and a query or a view only at its read's end (an expression may fail on a row)", async () => {
    const parts = resolveRowSources(spec(), '/ignored');
    expect(await checkSourceReadsWhole(parts.profiles, profileFields)).toBe(true);
    expect(await checkSourceReadsWhole(parts.segmentMembership, ['CustomerId', 'Segment'])).toBe(false);
    const view = resolveRowSources(
      spec({ profiles: 'crm.Profiles', segmentMembership: 'segment_membership' }),
      '/',
    );
    expect(await checkSourceReadsWhole(view.profiles, profileFields)).toBe(true);
    expect(await checkSourceReadsWhole(view.segmentMembership, ['CustomerId', 'Segment'])).toBe(false);
    const missing = resolveRowSources(spec({ profiles: 'profile' }), '/');
    expect((await failure(checkSourceReadsWhole(missing.profiles, profileFields))).code).toBe(
      'source-table-missing',
    );
  });

  it('gives the same contacts to the run engine as every other type', async () => {
    const issues: string[] = [];
    const read = readContacts({
      source: spec({ profiles: 'crm.Profiles' }),
      baseDir: '/',
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
    // Only members of VIP left the database: 6 of the 10 membership rows, 6 of the 9 profiles.
    expect(read.summary).toMatchObject({ profileRows: 6, membershipRows: 6, membersWithoutProfile: 1 });
  });

  it('selects in the database but still reports near misses; a shared read serves every segment', async () => {
    const membership = `SELECT * FROM (VALUES ('C1', 'VIP'), ('C2', 'vip '), ('C5', 'Newsletter'), ('C6', 'Other'))
      AS t("CustomerId", "Segment")`;
    const source = spec({ segmentMembership: membership });
    const readAs = (segments: string[], rows?: SourceRowProvider) => {
      const read = readContacts({
        source,
        baseDir: '/',
        segments,
        dataMatching: { email: 'EmailAddress' },
        onIssue: () => {},
        ...(rows === undefined ? {} : { rows }),
      });
      return collect(read).then((contacts) => ({
        keys: contacts.map((contact) => contact.key),
        summary: read.summary,
      }));
    };
    const alone = await readAs(['VIP']);
    expect(alone.keys).toEqual(['C1']);
    expect(alone.summary).toMatchObject({
      membershipRows: 2,
      profileRows: 2,
      segmentNearMisses: [{ found: 'vip ', selected: 'VIP' }],
    });
    // Two destinations of other segments on one read: each gets what its own read gives.
    const shared = new SharedSourceRead(['vip', 'news']);
    const [vip, news] = await Promise.all([
      readAs(['VIP'], shared.member('vip')),
      readAs(['Newsletter'], shared.member('news')),
    ]);
    expect(vip.keys).toEqual(['C1']);
    expect(news.keys).toEqual(['C5']);
    expect(news.summary).toMatchObject({ membershipRows: 4, profileRows: 9 });
  });

  it('checks columns without reading rows, naming a misspelt one and its nearest match', async () => {
    expect(await checkSourceReadable(spec(), '/', ['EmailAddress', 'FirstName', 'LastName'])).toEqual([]);
    const problems = await checkSourceReadable(spec(), '/', ['EmailAdress', 'firstname']);
    expect(problems.map(({ code, part, field, hint }) => ({ code, part, field, hint }))).toEqual([
      {
        code: 'source-field-missing',
        part: 'profiles',
        field: 'EmailAdress',
        hint: expect.stringContaining('did you mean "EmailAddress"?'),
      },
      // Case-sensitive, as the database spells it.
      {
        code: 'source-field-missing',
        part: 'profiles',
        field: 'firstname',
        hint: expect.stringContaining('did you mean "FirstName"?'),
      },
    ]);
    const segment = await checkSourceReadable(spec({ segmentField: 'Segmnt' }), '/', []);
    expect(segment).toMatchObject([{ code: 'source-field-missing', part: 'segmentMembership' }]);
  });

  it('says which table is missing, with the nearest name, schema-qualified or not', async () => {
    const missing = await checkSourceReadable(spec({ profiles: 'profile' }), '/', []);
    expect(missing).toMatchObject([
      { code: 'source-table-missing', part: 'profiles', hint: expect.stringContaining('"profiles"') },
    ]);
    const wrongCase = await checkSourceReadable(spec({ profiles: 'crm.profiles' }), '/', []);
    expect(wrongCase).toMatchObject([
      { code: 'source-table-missing', hint: expect.stringContaining('"crm.Profiles"') },
    ]);
    expect(await checkSourceReadable(spec({ profiles: 'crm.Profiles' }), '/', ['EmailAddress'])).toEqual([]);
  });

  it("shows a query's error with the database's message and where it points", async () => {
    const problems = await checkSourceReadable(
      spec({ segmentMembership: 'SELECT "CustomerId", "Segment"\nFROM segment_membership WHERE nope' }),
      '/',
      [],
    );
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ code: 'source-query-invalid', part: 'segmentMembership' });
    expect(problems[0]?.message).toMatch(
      /column "nope" does not exist \(at line 2, column 31 of the query\)/,
    );
  });

  it('says a wrong password was refused without showing it, nor the URL anywhere', async () => {
    const wrong = 'wrong-Secret-123';
    const source = spec({}, server.url({ database, password: wrong }));
    const problems = await checkSourceReadable(source, '/', []);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ code: 'source-unreadable' });
    expect(problems[0]?.message).toMatch(/refused the login: password authentication failed/);
    const parts = resolveRowSources(spec(), '/');
    for (const text of [
      JSON.stringify(problems),
      JSON.stringify(source),
      JSON.stringify(parts),
      inspect(parts, { depth: 5 }),
      inspect(source, { depth: 5, showHidden: true }),
    ]) {
      expect(text).not.toContain(wrong);
      expect(text).not.toContain(server.password);
    }
    expect(parts.profiles).toMatchObject({ type: 'postgres' });
    expect(JSON.stringify(parts.profiles)).toContain(`postgresql://127.0.0.1:${server.port}/${database}`);
  });

  it('says the server does not answer, and that a spec without its URL must be applied again', async () => {
    const closed = spec({}, `postgres://u:p@127.0.0.1:1/${database}`);
    expect(await checkSourceReadable(closed, '/', [])).toMatchObject([
      { code: 'source-unreadable', message: expect.stringContaining('does not answer') },
    ]);
    const withoutUrl: ProfileSourceSpec = { ...spec(), database: { env: 'PROFILES_DATABASE_URL' } };
    expect(await checkSourceReadable(withoutUrl, '/', [])).toMatchObject([
      { code: 'source-unreadable', hint: expect.stringContaining('apply the ProfileSource again') },
    ]);
  });

  it('maps values of any column type as text, NULL as absent', async () => {
    server.psql(
      `CREATE EXTENSION IF NOT EXISTS citext;
       CREATE TABLE typed (id int, email citext, name varchar(20), score numeric(6,2), big bigint,
         seen timestamptz, born date, vip boolean, extra jsonb, nothing text);
       INSERT INTO typed VALUES (1, 'A@Example.com', 'Ada', 12.50, 9007199254740993,
         '2026-01-02 03:04:05+02', '1815-12-10', true, '{"a": [1, 2]}', NULL),
         (2, NULL, NULL, NULL, NULL, NULL, NULL, false, NULL, NULL);`,
      database,
    );
    const parts = resolveRowSources(spec({ profiles: 'typed' }), '/');
    const fields = ['id', 'email', 'name', 'score', 'big', 'seen', 'born', 'vip', 'extra', 'nothing'];
    const rows = await collect(readSourceRows(parts.profiles, fields));
    expect(rows.map((row) => row.values)).toEqual([
      [
        '1',
        'A@Example.com',
        'Ada',
        '12.50',
        '9007199254740993',
        '2026-01-02 01:04:05+00',
        '1815-12-10',
        'true',
        '{"a": [1, 2]}',
        undefined,
      ],
      ['2', undefined, undefined, undefined, undefined, undefined, undefined, 'false', undefined, undefined],
    ]);
    // COPY's text format escapes these: they come back as they were stored.
    server.psql(`CREATE TABLE escaped AS SELECT E'a\\tb\\\\c\\nd\\\\N' AS v, '\\N' AS literal`, database);
    const escaped = await collect(
      readSourceRows(resolveRowSources(spec({ profiles: 'escaped' }), '/').profiles, ['v', 'literal']),
    );
    expect(escaped.map((row) => row.values)).toEqual([['a\tb\\c\nd\\N', '\\N']]);
    // NULL email: a row error; NULL name: no name.
    server.psql(
      `CREATE TABLE typed_members AS SELECT id::text AS "CustomerId", 'VIP' AS "Segment" FROM typed`,
      database,
    );
    const issues: string[] = [];
    const read = readContacts({
      source: spec({
        profiles: 'SELECT id::text AS "CustomerId", email, name FROM typed',
        segmentMembership: 'typed_members',
      }),
      baseDir: '/',
      segments: ['VIP'],
      dataMatching: { email: 'email', firstName: 'name' },
      onIssue: (issue) => issues.push(issue.code),
    });
    const contacts = await collect(read);
    expect(contacts.map(({ key, emailKey, firstName }) => ({ key, emailKey, firstName }))).toEqual([
      { key: '1', emailKey: 'a@example.com', firstName: 'Ada' },
    ]);
    expect(issues).toEqual(['missing-email']);
  });

  it('fails a read cleanly when a column was dropped after the check', async () => {
    server.psql('CREATE TABLE shrinking AS SELECT * FROM profiles', database);
    const source = spec({ profiles: 'shrinking' });
    expect(await checkSourceReadable(source, '/', ['EmailAddress'])).toEqual([]);
    server.psql('ALTER TABLE shrinking DROP COLUMN "EmailAddress"', database);
    const parts = resolveRowSources(source, '/');
    const error = await failure(collect(readSourceRows(parts.profiles, profileFields)));
    expect(error.code).toBe('source-field-missing');
    expect(error.message).toContain('"EmailAddress"');
    server.psql('DROP TABLE shrinking', database);
    expect((await failure(collect(readSourceRows(parts.profiles, profileFields)))).code).toBe(
      'source-table-missing',
    );
  });

  it('fingerprints the content, watches no file and names its origin without credentials', async () => {
    server.psql('CREATE TABLE printed AS SELECT * FROM profiles', database);
    const source = spec({ profiles: 'printed' });
    const first = await sourceFingerprint(source, '/');
    expect(first).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(await sourceFingerprint(source, '/')).toBe(first);
    server.psql(
      `UPDATE printed SET "EmailAddress" = 'ada@changed.example.com' WHERE "EmailAddress" = 'ada@example.com'`,
      database,
    );
    expect(await sourceFingerprint(source, '/')).not.toBe(first);
    expect(sourceWatchPaths(source)).toEqual([]);
    expect(sourceOriginIdentity(source)).toBe(`postgresql://127.0.0.1:${server.port}/${database}#printed`);
    expect(sourceAdapterFor(source).originFile(source)).toBeUndefined();
  });

  it('streams a large table in batches without holding it', async () => {
    server.psql(
      `CREATE TABLE many AS SELECT 'K' || g AS "CustomerId", 'p' || g || '@example.com' AS "EmailAddress" FROM generate_series(1, 20000) g`,
      database,
    );
    const parts = resolveRowSources(spec({ profiles: 'many' }), '/');
    let rows = 0;
    let largest = 0;
    for await (const batch of sourceAdapterFor(parts.profiles).readRowBatches(
      parts.profiles,
      ['CustomerId'],
      {},
    )) {
      rows += batch.length;
      largest = Math.max(largest, batch.length);
    }
    expect(rows).toBe(20000);
    expect(largest).toBe(1000);
  });

  /** Does `poke` every 300 ms until `seen()` holds (the watch notices once its baseline is taken). */
  const until = async (seen: () => boolean, poke: () => void) => {
    for (let attempt = 0; attempt < 100 && !seen(); attempt++) {
      poke();
      await new Promise((done) => setTimeout(done, 300));
    }
    expect(seen()).toBe(true);
  };

  it('notices a change by its changeDetection query, without reading the table', async () => {
    server.psql(
      'CREATE TABLE stamped (id int, updated_at timestamptz DEFAULT now()); INSERT INTO stamped VALUES (1)',
      database,
    );
    const changes: string[] = [];
    const errors: string[] = [];
    const watch = watchSourceChanges(
      spec({ profiles: 'stamped', changeDetection: { query: 'select max(id) from stamped', every: '1s' } }),
      (what) => changes.push(what),
      (error) => errors.push(error.message),
    );
    expect(watch).toBeDefined();
    try {
      let next = 1;
      await until(
        () => changes.length > 0,
        () => server.psql(`INSERT INTO stamped VALUES (${++next})`, database),
      );
      expect(changes[0]).toMatch(/changeDetection query/);
      expect(errors).toEqual([]);
    } finally {
      await watch?.stop();
    }
    expect(
      watchSourceChanges(
        spec(),
        () => {},
        () => {},
      ),
    ).toBeUndefined();
  });

  it('notices a change by a NOTIFY on its LISTEN channel, and reports a broken query', async () => {
    const changes: string[] = [];
    const watch = watchSourceChanges(
      spec({ changeDetection: { listen: 'profiles_changed' } }),
      (what) => changes.push(what),
      () => {},
    );
    try {
      await until(
        () => changes.length > 0,
        () => server.psql(`NOTIFY profiles_changed, 'x'`, database),
      );
      expect(changes[0]).toBe('NOTIFY on profiles_changed');
    } finally {
      await watch?.stop();
    }
    const errors: SourceError[] = [];
    const broken = watchSourceChanges(
      spec({ changeDetection: { query: 'select max(nope) from profiles', every: '1s' } }),
      () => {},
      (error) => errors.push(error),
    );
    try {
      await until(
        () => errors.length > 0,
        () => {},
      );
      expect(errors[0]).toMatchObject({ code: 'source-query-invalid' });
      expect(errors[0]?.message).toContain('column "nope" does not exist');
    } finally {
      await broken?.stop();
    }
  });
});
