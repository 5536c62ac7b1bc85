import { createHash } from 'node:crypto';
import { openSqliteRelation, relationRows } from './sqlite-rows';

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
      let count = 0;
      // One digest update per 1,000 rows: an update per value costs as much as the read itself.
      let pending: string[] = [];
      for (const row of relationRows(opened.everyColumn(), database, relation)) {
        count++;
        pending.push(row.map(encodeValue).join(''));
        if (pending.length === 1000) {
          hash.update(`${pending.join('\n')}\n`);
          pending = [];
        }
      }
      hash.update(`${pending.join('\n')}\n${count} rows;`);
    } finally {
      opened.close();
    }
  }
  return `sha256:${hash.digest('hex')}`;
}

/** A value with its type and length, so that no two different rows encode alike. */
function encodeValue(value: unknown): string {
  if (value === null || value === undefined) return 'n;';
  if (typeof value === 'bigint') return `i${value};`;
  if (typeof value === 'number') return `r${value};`;
  if (typeof value === 'string') return `s${value.length}:${value};`;
  if (Buffer.isBuffer(value)) return `b${value.length}:${value.toString('hex')};`;
  return `?${String(value)};`;
}
