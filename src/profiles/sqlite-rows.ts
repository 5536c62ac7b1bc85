import Database from 'better-sqlite3';
import { suggestName } from '../config/suggest-name';
import { stringifyFieldValue } from './field-value';
import { formatSourceOrigin } from './row-location';
import { SourceError } from './source-error';
import { requireFields } from './source-fields';
import { assertSourceFile } from './source-file';
import type { SourceRecord } from './source-record';
import { isSqliteQuery, quoteSqliteIdentifier } from './sqlite-relation';

/** A table, view or query of a sqlite database, opened read-only, with its column names. */
export interface SqliteRelation {
  readonly columns: readonly string[];
  /**
   * Whether reading it cannot fail on a row for what the row holds: a table without virtual
   * generated columns. A query or a view computes its values as it is read, and an expression can fail on
   * one row (a `json()` of text that is not JSON, an integer overflow).
   */
  readonly readsWhole: boolean;
  /**
   * A statement over `fields` (its first result column is the rowid, or absent) in raw mode with
   * exact integers. Throws a SourceError like `readSqliteRowBatches` when a field is missing.
   */
  select(fields: readonly string[]): {
    statement: Database.Statement;
    indexes: readonly number[];
    rowid: boolean;
  };
  /** A statement over every column (`SELECT *`, or the query), in raw mode with exact integers. */
  everyColumn(): Database.Statement;
  close(): void;
}

/**
 * Opens `database` read-only and resolves `relation`: a query if it starts with SELECT or WITH,
 * otherwise a table or view name (looked up like SQLite does, ignoring ASCII case). Compiles the
 * query or reads `pragma_table_xinfo` only: no row is read. Rejects with a SourceError:
 * `source-file-missing`, `source-unreadable` (not a database), `source-table-missing`,
 * `source-query-invalid` (does not compile, returns no rows, or would write).
 */
export async function openSqliteRelation(database: string, relation: string): Promise<SqliteRelation> {
  await assertSourceFile(database);
  let db: Database.Database | undefined;
  try {
    db = new Database(database, { readonly: true, fileMustExist: true });
    db.prepare('SELECT 1 FROM sqlite_schema LIMIT 0').all();
  } catch (error) {
    db?.close();
    throw new SourceError(
      'source-unreadable',
      `cannot read ${database} as a sqlite database (${describe(error)})`,
      {
        cause: error,
        context: { file: database },
        hint: 'the ProfileSource database must be a sqlite 3 file this user may read',
      },
    );
  }
  try {
    return isSqliteQuery(relation) ? openQuery(db, database, relation) : openTable(db, database, relation);
  } catch (error) {
    db.close();
    throw error;
  }
}

function openQuery(db: Database.Database, database: string, query: string): SqliteRelation {
  const origin = { file: database, relation: query };
  const invalid = (reason: string, cause?: unknown) =>
    new SourceError('source-query-invalid', `the query in ${database} ${reason}`, {
      cause,
      context: origin,
      hint: 'the profiles/segmentMembership query must be one read-only SELECT (or WITH ... SELECT)',
    });
  let statement: Database.Statement;
  try {
    statement = db.prepare(query);
  } catch (error) {
    throw invalid(`does not compile: ${describe(error)}`, error);
  }
  if (!statement.reader) throw invalid('returns no rows');
  if (!statement.readonly) throw invalid('would change the database');
  const columns = statement.columns().map((column) => column.name);
  return {
    columns,
    readsWhole: false,
    select(fields) {
      const indexes = requireFields(columns, fields, origin);
      return { statement: statement.raw(true).safeIntegers(true), indexes, rowid: false };
    },
    everyColumn: () => statement.raw(true).safeIntegers(true),
    close: () => db.close(),
  };
}

function openTable(db: Database.Database, database: string, name: string): SqliteRelation {
  const found = db
    .prepare("SELECT name, type, wr FROM pragma_table_list WHERE schema = 'main' AND name = ? COLLATE NOCASE")
    .get(name) as { name: string; type: string; wr: number } | undefined;
  if (found === undefined) {
    const names = (
      db
        .prepare("SELECT name FROM pragma_table_list WHERE schema = 'main' AND name NOT LIKE 'sqlite_%'")
        .all() as {
        name: string;
      }[]
    ).map((row) => row.name);
    const suggestion = suggestName(name, names);
    throw new SourceError('source-table-missing', `${database} has no table or view "${name}"`, {
      context: { file: database, relation: name },
      hint:
        suggestion === undefined
          ? `its tables and views are: ${names.join(', ') || '(none)'}; or write a SELECT query`
          : `did you mean "${suggestion}"?`,
    });
  }
  const origin = { file: database, relation: found.name };
  const described = db.prepare('SELECT name, hidden FROM pragma_table_xinfo(?)').all(found.name) as {
    name: string;
    hidden: number;
  }[];
  const columns = described.map((row) => row.name);
  // hidden 2: a VIRTUAL generated column, computed as it is read (3, STORED, was computed on write).
  const readsWhole = found.type === 'table' && described.every((row) => row.hidden !== 2);
  // A column may shadow each rowid alias; a view or WITHOUT ROWID table has none: count rows then.
  const taken = new Set(columns.map((column) => column.toLowerCase()));
  const rowidAlias =
    found.type === 'table' && found.wr === 0
      ? ['rowid', '_rowid_', 'oid'].find((alias) => !taken.has(alias))
      : undefined;
  return {
    columns,
    readsWhole,
    select(fields) {
      requireFields(columns, fields, origin);
      const selected = [
        ...(rowidAlias === undefined ? [] : [rowidAlias]),
        ...fields.map(quoteSqliteIdentifier),
      ];
      const sql = `SELECT ${selected.join(', ')} FROM ${quoteSqliteIdentifier(found.name)}`;
      const statement = db.prepare(sql).raw(true).safeIntegers(true);
      const offset = rowidAlias === undefined ? 0 : 1;
      return {
        statement,
        indexes: fields.map((_, index) => index + offset),
        rowid: rowidAlias !== undefined,
      };
    },
    everyColumn: () =>
      db
        .prepare(`SELECT * FROM ${quoteSqliteIdentifier(found.name)}`)
        .raw(true)
        .safeIntegers(true),
    close: () => db.close(),
  };
}

/** Rows per batch: enough to make the per-batch await negligible, small enough to stay flat. */
const batchSize = 1000;

/**
 * Streams the rows of a sqlite table, view or query (see `openSqliteRelation`), read-only, with
 * `.iterate()` so memory does not grow with the table. Values are stringified by
 * `stringifyFieldValue` (integers exactly, as bigints; NULL absent). Each row carries its rowid
 * (tables) or 1-based position (queries, views, WITHOUT ROWID tables). Rejects with a SourceError
 * like `openSqliteRelation`, or `source-field-missing` / `source-duplicate-field` for `fields`, or
 * `source-unreadable` if reading fails midway (a corrupt page, a runtime error in the query).
 * Yields in batches of up to 1,000 rows: fewer awaits in hot loops.
 */
export async function* readSqliteRowBatches(
  database: string,
  relation: string,
  fields: readonly string[],
): AsyncGenerator<SourceRecord[]> {
  const opened = await openSqliteRelation(database, relation);
  try {
    const { statement, indexes, rowid } = opened.select(fields);
    let position = 0;
    let batch: SourceRecord[] = [];
    for (const row of relationRows(statement, database, relation)) {
      position++;
      const values = indexes.map((index) => stringifyFieldValue(row[index]));
      const where = rowid
        ? { file: database, relation, rowid: Number(row[0]) }
        : { file: database, relation, row: position };
      batch.push({ values, where });
      if (batch.length === batchSize) {
        yield batch;
        batch = [];
        // The rows come synchronously: a turn of the event loop lets what runs beside the read
        // (the imports a run sends while it reads, a stop) have its turn too.
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    }
    if (batch.length > 0) yield batch;
  } finally {
    opened.close();
  }
}

/**
 * The rows of a compiled statement over `relation` of `database`, one at a time (`.iterate()`:
 * memory stays flat), as arrays. Throws `source-query-invalid` when the statement cannot run (a
 * query with parameters, `?` or `:name`, is the usual cause) and `source-unreadable` when reading
 * fails midway. Stopping early closes the statement's iterator.
 */
export function* relationRows(
  statement: { iterate(): IterableIterator<unknown> },
  database: string,
  relation: string,
): Generator<unknown[]> {
  let iterator: IterableIterator<unknown[]>;
  try {
    iterator = statement.iterate() as IterableIterator<unknown[]>;
  } catch (error) {
    throw new SourceError(
      'source-query-invalid',
      `${formatSourceOrigin(database, relation)} cannot run: ${describe(error)}`,
      { cause: error, context: { file: database, relation }, hint: 'the query must not take parameters' },
    );
  }
  try {
    while (true) {
      let next: IteratorResult<unknown[]>;
      try {
        next = iterator.next();
      } catch (error) {
        throw readFailed(database, relation, error);
      }
      if (next.done) return;
      yield next.value;
    }
  } finally {
    iterator.return?.();
  }
}

function readFailed(database: string, relation: string, error: unknown): SourceError {
  return new SourceError(
    'source-unreadable',
    `reading ${formatSourceOrigin(database, relation)} failed: ${describe(error)}`,
    { cause: error, context: { file: database, relation }, hint: 'check the database and the query' },
  );
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
