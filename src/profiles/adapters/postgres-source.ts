import { createHash } from 'node:crypto';
import { StringDecoder } from 'node:string_decoder';
import { inspect } from 'node:util';
import pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { isSecretReference, type ProfileSourceSpec } from '../../config';
import { suggestName } from '../../config/suggest-name';
import type { SourceAdapter, SourceChangeWatch, SourceColumns, SourceRowFilter } from '../source-adapter';
import { SourceError } from '../source-error';
import { requireFields } from '../source-fields';
import type { SourceRecord } from '../source-record';
import { isSqliteQuery } from '../sqlite-relation';

/**
 * The resolved URL of a postgres source, kept where nothing prints it: a private field, so that
 * JSON, `util.inspect`, logs, plans and error contexts see the database's identity only
 * (`postgresql://host:port/database`, no user, no password).
 */
export class PostgresUrl {
  readonly #url: string;
  /** `postgresql://host:port/database`: where the data is, without credentials. */
  readonly identity: string;

  constructor(url: string) {
    this.#url = url;
    this.identity = databaseIdentity(url);
  }

  /** The URL itself, for the connection only. */
  reveal(): string {
    return this.#url;
  }

  toJSON(): string {
    return this.identity;
  }

  [inspect.custom](): string {
    return `PostgresUrl(${this.identity})`;
  }
}

/** A postgres part: a table, view or query (`relation`) of a PostgreSQL database. */
export interface PostgresPart {
  readonly type: 'postgres';
  /** The database's identity (`postgresql://host:port/database`), for messages and row locations. */
  readonly database: string;
  readonly relation: string;
  /** The URL, or undefined when the spec was not given one (see `withPostgresUrl`). */
  readonly url: PostgresUrl | undefined;
}

/**
 * The resolved URLs of specs' `database` references, by the reference object: the stored spec keeps
 * the reference as written (`{env: …}`), and whoever resolved it (an apply from the environment, a
 * run from the state's encrypted copy) hands the value over with `withPostgresUrl`. A WeakMap keeps
 * the value out of the spec's own properties: copying, hashing or printing a spec never shows it.
 */
const resolvedUrls = new WeakMap<object, PostgresUrl>();

/**
 * `spec` (of type postgres, `database` a secret reference) holding `url` as the value of its
 * reference, for the adapter to connect with. Other specs are returned as they are.
 */
export function withPostgresUrl(spec: ProfileSourceSpec, url: string): ProfileSourceSpec {
  if (spec.type !== 'postgres' || !isSecretReference(spec.database)) return spec;
  const database = { ...spec.database };
  resolvedUrls.set(database, new PostgresUrl(url));
  return { ...spec, database };
}

/** The URL handed to `spec` with `withPostgresUrl`, if any. */
export function postgresUrlOf(spec: ProfileSourceSpec): PostgresUrl | undefined {
  return isSecretReference(spec.database) ? resolvedUrls.get(spec.database) : undefined;
}

/**
 * `postgresql://host:port/database` of a URL: what a message, a row location or a run record may
 * say of the source. Never the user, the password or the query parameters.
 */
export function databaseIdentity(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'postgresql://(not a URL)';
  }
  const host = parsed.hostname || 'localhost';
  const port = parsed.port || '5432';
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, '')) || '(default database)';
  return `postgresql://${host}:${port}/${database}`;
}

/**
 * postgres sources: `database` is a secret reference to the connection URL (it may hold a
 * password; the state keeps it encrypted); `profiles` and `segmentMembership` are each a table or
 * view name (as the database spells it, optionally `schema.name`), or a SELECT query. Rows are read
 * in a read-only, repeatable-read transaction, streamed by `COPY (SELECT ...) TO STDOUT`, so
 * memory stays flat whatever the table size. Values arrive as PostgreSQL's text output (numbers,
 * timestamps in ISO form and UTC, json as its text), booleans as `true`/`false`, NULL as absent.
 */
export const postgresSource: SourceAdapter<PostgresPart> = {
  type: 'postgres',

  // A URL is not a path: nothing to make absolute.
  mapPaths: (spec) => spec,

  resolve(spec) {
    const url = postgresUrlOf(spec);
    const database = url?.identity ?? 'postgresql://(URL not loaded)';
    return {
      profiles: { type: 'postgres', database, relation: spec.profiles, url },
      segmentMembership: { type: 'postgres', database, relation: spec.segmentMembership, url },
    };
  },

  // A database answers for itself: connecting says whether it can be read.
  assertReadable: async () => {},

  async inspectColumns(part): Promise<SourceColumns> {
    return withReadOnly(part, async (client, relation) => ({
      origin: { file: part.database, relation: part.relation },
      names: await relation.columns(client),
      scope: 'every-row',
    }));
  },

  readRowBatches: (part, fields, options) => readPostgresRowBatches(part, fields, options.only),

  // A table reads whole; a query or view may fail on a row: only its read's end tells.
  checkReadsWhole: (part) => withReadOnly(part, (client, relation) => relation.readsWhole(client)),

  // Watch mode learns of changes by `changeDetection` (`watchChanges`), never by files.
  watchPaths: () => [],

  watchChanges: (spec, onChange, onError) => watchPostgresChanges(spec, onChange, onError),

  // No file: the run records the database's identity instead of a Git commit.
  originFile: () => undefined,

  originIdentity: (spec) => postgresOriginIdentity(spec),

  async fingerprint(parts) {
    const hash = createHash('sha256');
    for (const part of [parts.profiles, parts.segmentMembership]) {
      await withReadOnly(part, async (client, relation) => {
        const columns = await relation.columns(client);
        hash.update(`${JSON.stringify(columns)}\n`);
        let count = 0;
        const booleans = (await relation.columnTypes(client)).map((column) => column.type === booleanType);
        for await (const rows of copyRows(client, part, `SELECT * FROM ${relation.from}`, booleans)) {
          count += rows.length;
          hash.update(
            `${rows.map((row) => row.map((value) => (value === null ? 'n;' : `s${value.length}:${value};`)).join('')).join('\n')}\n`,
          );
        }
        hash.update(`${count} rows;`);
      });
    }
    return `sha256:${hash.digest('hex')}`;
  },
};

/**
 * What a run records of a postgres source instead of a Git commit: the database's identity and
 * the relation (`postgresql://host:5432/crm#public.profiles`, or `#query`), no credentials.
 */
export function postgresOriginIdentity(spec: ProfileSourceSpec): string | undefined {
  if (spec.type !== 'postgres') return undefined;
  const identity = postgresUrlOf(spec)?.identity;
  if (identity === undefined) return undefined;
  return `${identity}#${isSqliteQuery(spec.profiles) ? 'query' : spec.profiles}`;
}

/** `30s`, `1m`, `2h` in milliseconds (the schema's pattern); default one minute. */
function everyMs(every: string | undefined): number {
  const match = /^(\d+)(s|m|h)$/.exec(every ?? '1m');
  const unit = { s: 1000, m: 60_000, h: 3_600_000 }[(match?.[2] ?? 'm') as 's' | 'm' | 'h'];
  return Number(match?.[1] ?? 1) * unit;
}

/**
 * `changeDetection` of a postgres spec: `query` runs every `every` in a read-only transaction (its
 * first value, as text, is compared with the last one; the first answer is the baseline), or the
 * connection LISTENs on `listen` and every NOTIFY is a change (reconnecting after a lost
 * connection). The table itself is never read.
 */
function watchPostgresChanges(
  spec: ProfileSourceSpec,
  onChange: (what: string) => void,
  onError: (error: SourceError) => void,
): SourceChangeWatch | undefined {
  const detection = spec.changeDetection;
  if (detection === undefined) return undefined;
  const part = postgresSource.resolve(spec, '/').profiles;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<void> = Promise.resolve();
  const later = (work: () => Promise<void>, ms: number) => {
    if (stopped) return;
    timer = setTimeout(() => {
      inFlight = work();
    }, ms);
    timer.unref?.();
  };
  const asSourceError = (error: unknown) =>
    error instanceof SourceError ? error : readFailed({ ...part, relation: 'changeDetection' }, error);

  if (detection.listen !== undefined) {
    const channel = detection.listen;
    let client: pg.Client | undefined;
    const listen = async (): Promise<void> => {
      try {
        const connected = await connect({ ...part, relation: `LISTEN ${channel}` });
        client = connected;
        if (stopped) return;
        connected.on('notification', (message) => {
          if (message.channel === channel) onChange(`NOTIFY on ${channel}`);
        });
        connected.on('end', () => {
          if (client !== connected || stopped) return;
          client = undefined;
          onError(asSourceError(new Error(`the connection listening on ${channel} was lost`)));
          later(listen, 5_000);
        });
        await connected.query(`LISTEN ${quoteIdentifier(channel)}`);
      } catch (error) {
        onError(asSourceError(error));
        later(listen, 5_000);
      }
    };
    inFlight = listen();
    return {
      async stop() {
        stopped = true;
        clearTimeout(timer);
        await inFlight;
        const open = client;
        client = undefined;
        await open?.end().catch(() => {});
      },
    };
  }

  const query = detection.query ?? '';
  const every = everyMs(detection.every);
  let last: string | undefined;
  const check = async (): Promise<void> => {
    try {
      const value = await withReadOnly({ ...part, relation: query }, async (client) => {
        let result: pg.QueryArrayResult<(string | null)[]>;
        try {
          result = await client.query({ text: query, rowMode: 'array', types: textTypes });
        } catch (error) {
          throw queryError({ ...part, relation: query }, error, query);
        }
        return JSON.stringify(result.rows[0] ?? null);
      });
      if (last !== undefined && value !== last) onChange(`the changeDetection query's value changed`);
      last = value;
    } catch (error) {
      onError(asSourceError(error));
    }
    later(check, every);
  };
  inFlight = check();
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await inFlight;
    },
  };
}

async function* readPostgresRowBatches(
  part: PostgresPart,
  fields: readonly string[],
  only: SourceRowFilter | undefined,
): AsyncGenerator<SourceRecord[]> {
  const client = await connect(part);
  try {
    await begin(client, part);
    const relation = openRelation(part);
    await relation.check(client);
    const columns = await relation.columnTypes(client);
    const indexes = requireFields(
      columns.map((column) => column.name),
      fields,
      { file: part.database, relation: part.relation },
    );
    const select =
      `SELECT ${fields.map(quoteIdentifier).join(', ')} FROM (SELECT * FROM ${relation.from}) AS exportctl_rows` +
      filterClause(part, only);
    const booleans = indexes.map((index) => columns[index]?.type === booleanType);
    let position = 0;
    for await (const rows of copyRows(client, part, select, booleans)) {
      const batch: SourceRecord[] = [];
      for (const row of rows) {
        position++;
        batch.push({
          values: row.map((value) => (value === null ? undefined : value)),
          where: { file: part.database, relation: part.relation, row: position },
        });
      }
      yield batch;
    }
    await client.query('COMMIT');
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * The WHERE clause that keeps a read's rows to those its caller selects (`SourceRowOptions.only`),
 * so that only members of the destination's segments leave the database: membership rows of the
 * selected segments (compared trimmed and lowercased, so near misses are still reported), profile
 * rows whose key is such a member's (a subquery on the membership part, when it is in the same
 * database). Empty without a filter. Segment names are inlined as literals: COPY takes no
 * parameters.
 */
function filterClause(part: PostgresPart, only: SourceRowFilter | undefined): string {
  if (only === undefined) return '';
  if (only.kind === 'segments') {
    const loose = only.segments.map((segment) => segment.trim().toLowerCase());
    return ` WHERE lower(btrim(${quoteIdentifier(only.segmentField)}::text)) = ANY (${textArray(loose)})`;
  }
  const membership = only.membership as Partial<PostgresPart>;
  if (
    membership.type !== 'postgres' ||
    membership.url === undefined ||
    membership.relation === undefined ||
    membership.url.reveal() !== part.url?.reveal()
  )
    return '';
  const key = quoteIdentifier(only.key);
  const from = openRelation(membership as PostgresPart).from;
  return (
    ` WHERE ${key}::text IN (SELECT exportctl_members.${key}::text FROM (SELECT * FROM ${from}) AS exportctl_members` +
    ` WHERE exportctl_members.${quoteIdentifier(only.segmentField)}::text = ANY (${textArray(only.segments)}))`
  );
}

/** `ARRAY[...]::text[]` of `values` as escaped string literals. */
function textArray(values: readonly string[]): string {
  const literals = values.map((value) => `E'${value.replaceAll('\\', '\\\\').replaceAll("'", "''")}'`);
  return `ARRAY[${literals.join(', ')}]::text[]`;
}

/** PostgreSQL's type OID of boolean. */
const booleanType = 16;

/**
 * Every row of `select`, streamed by `COPY (select) TO STDOUT` (text format: no round trip per
 * batch, the server sends while the rows are mapped; the socket's flow control keeps memory flat),
 * in batches of `batchRows` rows (the last one may be smaller). Values are PostgreSQL's
 * text output, NULL as null, booleans (`booleans[i]`) as `true`/`false`.
 */
async function* copyRows(
  client: pg.Client,
  part: PostgresPart,
  select: string,
  booleans: readonly boolean[],
): AsyncGenerator<(string | null)[][]> {
  const sql = `COPY (${select}) TO STDOUT`;
  const stream = client.query(copyTo(sql));
  const decoder = new StringDecoder('utf8');
  let rest = '';
  let batch: (string | null)[][] = [];
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      const lines = (rest + decoder.write(chunk)).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) {
        batch.push(copyLine(line, booleans));
        if (batch.length === batchRows) {
          yield batch;
          batch = [];
        }
      }
    }
  } catch (error) {
    throw queryError(part, error, sql);
  } finally {
    if (!stream.destroyed) stream.destroy();
  }
  rest += decoder.end();
  if (rest !== '') batch.push(copyLine(rest, booleans));
  if (batch.length > 0) yield batch;
}

/** Rows per batch of a read. */
const batchRows = 1000;

/** One row of COPY's text format: tab-separated, `\N` for NULL, backslash escapes. */
function copyLine(line: string, booleans: readonly boolean[]): (string | null)[] {
  const values: (string | null)[] = line.split('\t');
  for (let index = 0; index < values.length; index++) {
    const value = values[index] as string;
    if (value === '\\N') values[index] = null;
    else if (booleans[index]) values[index] = value === 't' ? 'true' : 'false';
    else if (value.includes('\\')) values[index] = unescapeCopy(value);
  }
  return values;
}

const copyEscapes: Readonly<Record<string, string>> = {
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
};

function unescapeCopy(value: string): string {
  return value.replace(/\\(?:([0-7]{1,3})|x([0-9a-fA-F]{1,2})|(.))/g, (_match, octal, hex, other) => {
    if (octal !== undefined) return String.fromCharCode(Number.parseInt(octal, 8));
    if (hex !== undefined) return String.fromCharCode(Number.parseInt(hex, 16));
    return copyEscapes[other as string] ?? (other as string);
  });
}

/**
 * Every value as the text PostgreSQL prints for it (exact numbers, json as its text, ISO
 * timestamps), except booleans, `true`/`false` as in every other source type.
 */
const textTypes = {
  getTypeParser: (oid: number) =>
    oid === 16 ? (value: string) => (value === 't' ? 'true' : 'false') : (value: string) => value,
} as unknown as pg.CustomTypesConfig;

interface OpenedRelation {
  /** What follows FROM: the quoted table name, or the query as a subquery. */
  readonly from: string;
  /** Rejects with `source-table-missing` (and the nearest name) when the table is not there. */
  check(client: pg.Client): Promise<void>;
  /** The relation's column names, in order; runs the query with LIMIT 0 (no row is read). */
  columns(client: pg.Client): Promise<string[]>;
  /** The columns with their type OIDs, as `columns` reads them. */
  columnTypes(client: pg.Client): Promise<{ readonly name: string; readonly type: number }[]>;
  /**
   * Whether reading it cannot fail on a row for what the row holds: a table or materialized view
   * (stored values, written as text) without virtual generated columns. A query, a view or a
   * foreign table computes or fetches its rows as they are read, and can fail on one.
   */
  readsWhole(client: pg.Client): Promise<boolean>;
}

function openRelation(part: PostgresPart): OpenedRelation {
  const origin = { file: part.database, relation: part.relation };
  if (isSqliteQuery(part.relation)) {
    const query = part.relation.trim().replace(/;\s*$/, '');
    const from = `(\n${query}\n) AS exportctl_source`;
    return {
      from,
      check: async () => {},
      readsWhole: async () => false,
      async columnTypes(client) {
        const sql = `SELECT * FROM ${from} LIMIT 0`;
        try {
          const result = await client.query({ text: sql, rowMode: 'array' });
          return result.fields.map((field) => ({ name: field.name, type: field.dataTypeID }));
        } catch (error) {
          throw queryError(part, error, sql);
        }
      },
      async columns(client) {
        return (await this.columnTypes(client)).map((column) => column.name);
      },
    };
  }
  const name = qualifiedName(part.relation);
  const table = {
    from: name,
    async check(client: pg.Client) {
      const found = await client.query<{ found: boolean }>('SELECT to_regclass($1) IS NOT NULL AS found', [
        name,
      ]);
      if (found.rows[0]?.found) return;
      const names = (
        await client.query<{ name: string }>(
          `SELECT CASE WHEN n.nspname = ANY (current_schemas(false)) THEN c.relname
                       ELSE n.nspname || '.' || c.relname END AS name
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind IN ('r', 'v', 'm', 'p', 'f')
              AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
            ORDER BY 1`,
        )
      ).rows.map((row) => row.name);
      const suggestion = suggestName(part.relation, names);
      throw new SourceError(
        'source-table-missing',
        `${part.database} has no table or view "${part.relation}"`,
        {
          context: origin,
          hint:
            suggestion === undefined
              ? `its tables and views are: ${names.slice(0, 20).join(', ') || '(none)'}; or write a SELECT query (names are case-sensitive)`
              : `did you mean "${suggestion}"? (names are case-sensitive)`,
        },
      );
    },
    async readsWhole(client: pg.Client) {
      await table.check(client);
      const kind = await client.query<{ relkind: string; computed: boolean }>(
        `SELECT c.relkind, EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0
                  AND NOT a.attisdropped AND a.attgenerated NOT IN ('', 's')) AS computed
           FROM pg_class c WHERE c.oid = to_regclass($1)`,
        [name],
      );
      const row = kind.rows[0];
      return row !== undefined && ['r', 'p', 'm'].includes(row.relkind) && !row.computed;
    },
    async columnTypes(client: pg.Client) {
      await table.check(client);
      const result = await client.query({ text: `SELECT * FROM ${name} LIMIT 0`, rowMode: 'array' });
      return result.fields.map((field) => ({ name: field.name, type: field.dataTypeID }));
    },
    async columns(client: pg.Client) {
      return (await table.columnTypes(client)).map((column) => column.name);
    },
  };
  return table;
}

/**
 * A table name as written (`profiles`, `crm.Profiles`) quoted part by part, so that it means
 * exactly the name the database has (case-sensitive, like the columns); a name that holds double
 * quotes is taken as already quoted SQL (`"Crm"."Profiles"`).
 */
function qualifiedName(name: string): string {
  if (name.includes('"')) return name.trim();
  return name
    .trim()
    .split('.')
    .map((part) => quoteIdentifier(part.trim()))
    .join('.');
}

function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Connects, opens a read-only transaction, runs `work`, and always disconnects. */
async function withReadOnly<T>(
  part: PostgresPart,
  work: (client: pg.Client, relation: OpenedRelation) => Promise<T>,
): Promise<T> {
  const client = await connect(part);
  try {
    await begin(client, part);
    const result = await work(client, openRelation(part));
    await client.query('COMMIT');
    return result;
  } finally {
    await client.end().catch(() => {});
  }
}

async function begin(client: pg.Client, part: PostgresPart): Promise<void> {
  try {
    // One snapshot for the whole read; UTC and ISO dates whatever the server's defaults.
    await client.query(
      "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET LOCAL TimeZone = 'UTC'; SET LOCAL DateStyle = 'ISO, YMD'",
    );
  } catch (error) {
    throw readFailed(part, error);
  }
}

/**
 * A client connected to the part's database. Rejects with `source-unreadable`: the URL is not
 * loaded or not a URL, the server does not answer, refuses the login (the message says so, never
 * the password), or has no such database.
 */
async function connect(part: PostgresPart): Promise<pg.Client> {
  const origin = { file: part.database, relation: part.relation };
  if (part.url === undefined)
    throw new SourceError('source-unreadable', `the URL of ${part.database} is not known to this process`, {
      context: origin,
      hint: 'apply the ProfileSource again (with its URL in the environment variable or file its database reference names): the state keeps the URL, encrypted',
    });
  const url = part.url.reveal();
  if (!/^postgres(ql)?:\/\//i.test(url))
    throw new SourceError(
      'source-unreadable',
      'the database URL is not a postgres:// URL (it is not shown)',
      {
        context: origin,
        hint: 'the variable or file behind database must hold postgres://user:password@host:port/database',
      },
    );
  const client = new pg.Client({
    connectionString: url,
    application_name: 'exportctl',
    connectionTimeoutMillis: 10_000,
  });
  // A connection cut mid-read surfaces as the failed query; this only keeps it from crashing.
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => {});
    throw connectError(part, error);
  }
  return client;
}

function connectError(part: PostgresPart, error: unknown): SourceError {
  const origin = { file: part.database, relation: part.relation };
  const code = (error as { code?: string }).code;
  const message = redact(part, describe(error));
  if (code === '28P01' || code === '28000')
    return new SourceError('source-unreadable', `${part.database} refused the login: ${message}`, {
      cause: error,
      context: { ...origin, reason: code },
      hint: 'check the user and password in the database URL (the password is not shown); rotate it in the variable or file, then apply again',
    });
  if (code === '3D000')
    return new SourceError('source-unreadable', `${part.database}: ${message}`, {
      cause: error,
      context: { ...origin, reason: code },
      hint: 'check the database name in the URL',
    });
  return new SourceError('source-unreadable', `${part.database} does not answer: ${message}`, {
    cause: error,
    context: { ...origin, ...(code === undefined ? {} : { reason: code }) },
    hint: 'check the host and port in the database URL, and that the server is running and accepts this client',
  });
}

/**
 * A failed statement over the part's relation: a missing column (it was dropped, or is spelled
 * otherwise) is `source-field-missing`, a missing table `source-table-missing`, anything else in a
 * query `source-query-invalid` with the database's message and where in the query it points.
 */
function queryError(part: PostgresPart, error: unknown, sql: string): SourceError {
  const origin = { file: part.database, relation: part.relation };
  const detail = error as { code?: string; position?: string };
  const message = redact(part, describe(error));
  const at = isSqliteQuery(part.relation) ? queryPosition(part.relation, sql, detail.position) : '';
  // A column the query itself names is the query's error; one only the read names is a field's.
  if (detail.code === '42703' && at === '')
    return new SourceError('source-field-missing', `${part.database} ${part.relation}: ${message}`, {
      cause: error,
      context: origin,
      hint: 'the column was dropped or renamed since the source was applied: restore it, or change the manifest and apply again',
    });
  if (detail.code === '42P01' && !isSqliteQuery(part.relation))
    return new SourceError(
      'source-table-missing',
      `${part.database} has no table or view "${part.relation}"`,
      {
        cause: error,
        context: origin,
        hint: 'restore the table, or change the manifest and apply again',
      },
    );
  if (!isSqliteQuery(part.relation)) return readFailed(part, error);
  return new SourceError('source-query-invalid', `the query in ${part.database} fails: ${message}${at}`, {
    cause: error,
    context: origin,
    hint: 'the profiles/segmentMembership query must be one SELECT (or WITH ... SELECT); try it in psql',
  });
}

/** ` at line L, column C of the query` for PostgreSQL's 1-based character `position` in `sql`. */
function queryPosition(query: string, sql: string, position: string | undefined): string {
  if (position === undefined) return '';
  const start = sql.indexOf(query.trim().replace(/;\s*$/, ''));
  const offset = Number(position) - 1 - start;
  const length = query.trim().replace(/;\s*$/, '').length;
  if (start < 0 || !Number.isInteger(offset) || offset < 0 || offset > length) return '';
  const before = query.trim().slice(0, offset).split('\n');
  return ` (at line ${before.length}, column ${(before.at(-1)?.length ?? 0) + 1} of the query)`;
}

function readFailed(part: PostgresPart, error: unknown): SourceError {
  return new SourceError(
    'source-unreadable',
    `reading ${part.database} ${part.relation} failed: ${redact(part, describe(error))}`,
    {
      cause: error,
      context: { file: part.database, relation: part.relation },
      hint: 'check the database and the relation',
    },
  );
}

/** `text` without the URL's password, should a driver message ever quote it. */
function redact(part: PostgresPart, text: string): string {
  let password = '';
  try {
    password = decodeURIComponent(new URL(part.url?.reveal() ?? '').password);
  } catch {}
  return password.length >= 3 ? text.replaceAll(password, '***') : text;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
