import { basename } from 'node:path';
import { isSqliteQuery } from './sqlite-relation';

/**
 * Where one source row came from, so that a row issue can say where to look. Exactly one of `line`,
 * `rowid` and `row` is set.
 */
export interface RowLocation {
  /** Absolute path of the csv/jsonl file, or of the sqlite database. */
  readonly file: string;
  /** sqlite: the table name or the query the row came from. */
  readonly relation?: string;
  /** csv/jsonl: the 1-based line on which the row starts. */
  readonly line?: number;
  /** sqlite table with a rowid: the row's rowid. */
  readonly rowid?: number;
  /** sqlite query, view or WITHOUT ROWID table: the row's 1-based position in the result. */
  readonly row?: number;
}

/** `profiles.csv:12`, `crm.db table profiles rowid 7`, `crm.db query row 3`: short, for messages. */
export function formatRowLocation(where: RowLocation): string {
  const origin = formatSourceOrigin(where.file, where.relation);
  if (where.line !== undefined) return `${origin}:${where.line}`;
  if (where.rowid !== undefined) return `${origin} rowid ${where.rowid}`;
  return `${origin} row ${where.row ?? '?'}`;
}

/** `profiles.csv`, `crm.db table profiles`, `crm.db query`: a file or sqlite relation, for messages. */
export function formatSourceOrigin(file: string, relation?: string): string {
  if (relation === undefined) return basename(file);
  return `${basename(file)} ${isSqliteQuery(relation) ? 'query' : `table ${relation}`}`;
}
