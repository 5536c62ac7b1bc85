import { createHash, type Hash } from 'node:crypto';
import { formatSourceOrigin } from './row-location';
import { SourceError } from './source-error';
import { openSqliteRelation } from './sqlite-rows';

/** One relation of a sqlite source: a table, view or query of `database`. */
export interface SqliteRelationRef {
  readonly database: string;
  readonly relation: string;
}

/**
 * The content fingerprint of sqlite relations, in order (`sha256:` and hex): each relation's column
 * names and every row's values with their SQLite type, in the order a read yields them. Equal rows
 * give an equal fingerprint whether or not the database file changed (a vacuum, a checkpoint, a
 * write to another table); a changed, added, removed or moved row gives a different one. Reads each
 * relation whole, read-only, with `.iterate()` (memory stays flat). Rejects with a SourceError like
 * `openSqliteRelation`, or `source-unreadable` when reading fails midway.
 */
export async function sqliteContentFingerprint(relations: readonly SqliteRelationRef[]): Promise<string> {
  const hash = createHash('sha256');
  for (const { database, relation } of relations) {
    const opened = await openSqliteRelation(database, relation);
    try {
      hash.update(`${JSON.stringify(opened.columns)}\n`);
      let rows: IterableIterator<unknown[]>;
      try {
        rows = opened.everyColumn().iterate() as IterableIterator<unknown[]>;
      } catch (error) {
        throw new SourceError(
          'source-query-invalid',
          `${formatSourceOrigin(database, relation)} cannot run: ${describe(error)}`,
          { cause: error, context: { file: database, relation }, hint: 'the query must not take parameters' },
        );
      }
      try {
        let count = 0;
        while (true) {
          let next: IteratorResult<unknown[]>;
          try {
            next = rows.next();
          } catch (error) {
            throw new SourceError(
              'source-unreadable',
              `reading ${formatSourceOrigin(database, relation)} failed: ${describe(error)}`,
              {
                cause: error,
                context: { file: database, relation },
                hint: 'check the database and the query',
              },
            );
          }
          if (next.done) break;
          count++;
          for (const value of next.value) hashValue(hash, value);
          hash.update('\n');
        }
        hash.update(`${count} rows;`);
      } finally {
        rows.return?.();
      }
    } finally {
      opened.close();
    }
  }
  return `sha256:${hash.digest('hex')}`;
}

/** A value with its type and length, so that no two different rows hash the same bytes. */
function hashValue(hash: Hash, value: unknown): void {
  if (value === null || value === undefined) hash.update('n;');
  else if (typeof value === 'bigint') hash.update(`i${value};`);
  else if (typeof value === 'number') hash.update(`r${value};`);
  else if (typeof value === 'string') hash.update(`s${Buffer.byteLength(value)}:${value};`);
  else if (Buffer.isBuffer(value)) {
    hash.update(`b${value.length}:`);
    hash.update(value);
    hash.update(';');
  } else hash.update(`?${String(value)};`);
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
