import { resolve } from 'node:path';
import type { ProfileSourceSpec } from '../../config';
import type { SourceAdapter } from '../source-adapter';
import { sqliteContentFingerprint } from '../sqlite-fingerprint';
import { openSqliteRelation, readSqliteRowBatches } from '../sqlite-rows';

/** A sqlite part: a table, view or query (`relation`) of a database file. */
export interface SqlitePart {
  readonly type: 'sqlite';
  readonly database: string;
  readonly relation: string;
}

/**
 * sqlite sources: `database` is the file (relative to the manifest); `profiles` and
 * `segmentMembership` are each a table or view name, or a read-only query (see `openSqliteRelation`).
 */
export const sqliteSource: SourceAdapter<SqlitePart> = {
  type: 'sqlite',

  mapPaths(spec, map) {
    const database = databaseFile(spec);
    return { ...spec, ...(database === undefined ? {} : { database: map(database, 'database') }) };
  },

  resolve(spec, baseDir) {
    const database = resolve(baseDir, databaseFile(spec) ?? '');
    return {
      profiles: { type: 'sqlite', database, relation: spec.profiles },
      segmentMembership: { type: 'sqlite', database, relation: spec.segmentMembership },
    };
  },

  // A database is binary by nature; opening it says whether it is one (`source-unreadable`).
  assertReadable: async () => {},

  async inspectColumns(part) {
    const relation = await openSqliteRelation(part.database, part.relation);
    try {
      return {
        origin: { file: part.database, relation: part.relation },
        names: relation.columns,
        scope: 'every-row',
      };
    } finally {
      relation.close();
    }
  },

  readRowBatches: (part, fields) => readSqliteRowBatches(part.database, part.relation, fields),

  // A table reads whole; a query or view may fail on a row: only its read's end tells.
  async checkReadsWhole(part) {
    const relation = await openSqliteRelation(part.database, part.relation);
    try {
      return relation.readsWhole;
    } finally {
      relation.close();
    }
  },

  // A write to a database in WAL mode lands in its -wal file first.
  watchPaths: (spec) => {
    const database = databaseFile(spec);
    return database ? [database, `${database}-wal`] : [];
  },

  originFile: databaseFile,

  fingerprint: (parts) => sqliteContentFingerprint([parts.profiles, parts.segmentMembership]),
};

/** The sqlite database file of `spec` (the schema allows only a path for this type). */
function databaseFile(spec: ProfileSourceSpec): string | undefined {
  return typeof spec.database === 'string' ? spec.database : undefined;
}
