import type { RowLocation } from '../../profiles';
import type { PlannedImportBatch, RunStaging, StagedContact, StagedContactRow } from '../run-store';
import type { SqliteImportBatches, StagedSelection } from './sqlite-import-batches';
import type { SqliteRemovalBatches } from './sqlite-removal-batches';
import type { SqliteDatabase } from './sqlite-run-context';

/** Which number of a RowLocation a source's rows carry. */
type LocationNumber = 'line' | 'rowid' | 'row';

/**
 * Page cache of the TEMP schema while a staging lives, in KiB. SQLite's default (16 MiB here) makes
 * the append, the sort and the planning pass over a million rows (about 170 MB of TEMP pages) go to
 * the temp file far more often; 32 MiB cut those phases by about a fifth on the bench's million
 * contacts, for 32 MiB more resident memory at most (it is restored when the staging is dropped).
 */
const stagingCacheKib = 32 * 1024;

/**
 * A run's contacts while it plans, in two TEMP tables of the state's connection (private to it: no
 * other process sees them, and writing them takes no lock on the state file). Each contact is
 * staged as the engine hands it over: what will be sent (its import entry) and its fingerprint.
 *
 * Contacts are appended in source order (cheap), then copied once, sorted, into a table clustered by
 * `(email_key, key)`. That order does the rest: the first row of each email is the dedupe winner
 * (the smallest key under SQLite's BINARY collation, i.e. by code point; test/support/reference-dedupe
 * states the same rule in plain code; the planning pass deletes the others), distinct emails count
 * in one scan, the diff against the snapshot walks both tables in the same order, and an import batch is a range of emails whose body SQLite assembles
 * itself (`importBatchSelection`). Inserting straight into an email-keyed table instead costs random
 * B-tree writes, several times slower at a million contacts.
 *
 * TEMP tables vanish with the connection, so a crash before the plan is stored loses nothing that
 * was sent: there is none. Call `drop` when done.
 */
export class SqliteContactStaging implements RunStaging {
  private readonly appended: string;
  private readonly sorted: string;
  private readonly insert: { run(...values: unknown[]): unknown };
  /** Prepared on the first duplicate: planning runs it once per losing row. */
  private dropLoserQuery: { get(...values: unknown[]): unknown } | undefined;
  private location: { file: string; relation?: string; number: LocationNumber } | undefined;
  private staged = 0;
  private state: 'appending' | 'sorted' | 'dropped' = 'appending';
  /** The TEMP schema's page cache size before the staging raised it (restored by `drop`). */
  private readonly cacheSizeBefore: unknown;

  constructor(
    private readonly db: SqliteDatabase,
    private readonly runId: number,
    private readonly destination: string,
    private readonly batches: { imports: SqliteImportBatches; removals: SqliteRemovalBatches },
  ) {
    this.appended = `temp.export_staged_${runId}`;
    this.sorted = `temp.export_sorted_${runId}`;
    this.cacheSizeBefore = db.pragma('temp.cache_size', { simple: true });
    db.pragma(`temp.cache_size = ${-stagingCacheKib}`);
    db.exec(`
      DROP TABLE IF EXISTS ${this.appended};
      DROP TABLE IF EXISTS ${this.sorted};
      CREATE TABLE ${this.appended} (
        email_key TEXT NOT NULL, key TEXT NOT NULL, entry TEXT NOT NULL, fingerprint TEXT NOT NULL,
        position INTEGER NOT NULL
      ) STRICT;
    `);
    this.insert = db.prepare(`INSERT INTO ${this.appended} VALUES (?, ?, ?, ?, ?)`);
  }

  /** Contacts appended so far (before dedupe). */
  get size(): number {
    return this.staged;
  }

  /**
   * Appends contacts (in source order), in one transaction of the TEMP database: no other process
   * waits for it, and no contact object outlives the read batch it came in.
   */
  async add(contacts: readonly StagedContact[], where: RowLocation | undefined): Promise<void> {
    if (contacts.length === 0) return;
    this.location ??= locationOf(where);
    this.db.transaction(() => {
      for (const contact of contacts) {
        this.insert.run(contact.emailKey, contact.key, contact.entry, contact.fingerprint, contact.position);
      }
    })();
    this.staged += contacts.length;
  }

  /**
   * Ends the appending: copies the contacts, sorted by email key then key, into the clustered table.
   * One statement inside SQLite (its external sort), no row crosses into JavaScript.
   */
  async seal(): Promise<void> {
    this.db.exec(`
      CREATE TABLE ${this.sorted} (
        email_key TEXT NOT NULL, key TEXT NOT NULL, entry TEXT NOT NULL, fingerprint TEXT NOT NULL,
        position INTEGER NOT NULL,
        PRIMARY KEY (email_key, key)
      ) STRICT, WITHOUT ROWID;
      INSERT INTO ${this.sorted} SELECT * FROM ${this.appended} ORDER BY email_key, key;
      DROP TABLE ${this.appended};
    `);
    this.state = 'sorted';
  }

  /** Distinct email keys: the contacts the list should hold. */
  async distinctEmails(): Promise<number> {
    const row = this.db.prepare(`SELECT count(DISTINCT email_key) AS n FROM ${this.sorted}`).get() as {
      n: number;
    };
    return row.n;
  }

  /** Snapshot members of `destination` whose email is not staged: they left the selection. */
  async leavers(): Promise<number> {
    const row = this.db
      .prepare(
        `SELECT count(*) AS n FROM main.export_snapshots AS s WHERE s.destination = ?
         AND NOT EXISTS (SELECT 1 FROM ${this.sorted} AS t WHERE t.email_key = s.email_key)`,
      )
      .get(this.destination) as { n: number };
    return row.n;
  }

  /**
   * How many of the leavers of `destination` (see `leavers`) are on the list: their email is among
   * `onList` (the list's members, by lowercased email). Snapshot members the list does not hold
   * (unsubscribed contacts Constant Contact never added, or contacts removed there) are not.
   */
  async leaversOnList(onList: ReadonlyMap<string, unknown>): Promise<number> {
    const emails = this.db
      .prepare(
        `SELECT s.email_key FROM main.export_snapshots AS s WHERE s.destination = ?
         AND NOT EXISTS (SELECT 1 FROM ${this.sorted} AS t WHERE t.email_key = s.email_key)`,
      )
      .pluck()
      .iterate(this.destination) as IterableIterator<string>;
    let count = 0;
    for (const email of emails) if (onList.has(email)) count += 1;
    return count;
  }

  /**
   * Walks every staged contact in (email key, key) order, `pageSize` at a time (one query per page,
   * so other statements may run between pages), each with what the snapshot holds for its email.
   */
  async *pages(pageSize = 10_000): AsyncGenerator<StagedContactRow[]> {
    const destination = this.destination;
    const columns = `t.email_key, t.key, octet_length(t.entry),
      CASE WHEN s.fingerprint IS NULL THEN 0 WHEN s.fingerprint = t.fingerprint THEN 1 ELSE 2 END,
      t.position`;
    const from = `FROM ${this.sorted} AS t
      LEFT JOIN main.export_snapshots AS s ON s.destination = ? AND s.email_key = t.email_key`;
    const first = this.db.prepare(`SELECT ${columns} ${from} ORDER BY t.email_key, t.key LIMIT ?`).raw();
    const next = this.db
      .prepare(
        `SELECT ${columns} ${from} WHERE (t.email_key, t.key) > (?, ?) ORDER BY t.email_key, t.key LIMIT ?`,
      )
      .raw();
    let rows = first.all(destination, pageSize) as StagedContactRow[];
    while (rows.length > 0) {
      yield rows;
      const last = rows[rows.length - 1] as StagedContactRow;
      if (rows.length < pageSize) return;
      rows = next.all(destination, last[0], last[1], pageSize) as StagedContactRow[];
    }
  }

  /**
   * The SQL (a FROM and WHERE over this staging, with the parameters it takes) that selects the
   * contacts of one import batch: the contacts with an email from `firstEmail` to `lastEmail` that
   * are to be sent (changed against the snapshot, or all with `full`); or, for a sparse batch, the
   * rows of its `keys`. Call it after the planning pass has deleted the range's dedupe losers
   * (`dropLoser`): it made the same choice row by row; the caller checks the counts agree.
   */
  private importBatchSelection(
    destination: string,
    batch: Pick<PlannedImportBatch, 'firstEmail' | 'lastEmail' | 'keys'>,
    full: boolean,
  ): StagedSelection {
    if (batch.keys !== undefined) {
      return {
        sql: `FROM json_each(?) AS k
          JOIN ${this.sorted} AS t ON t.email_key = k.value ->> 0 AND t.key = k.value ->> 1`,
        parameters: [JSON.stringify(batch.keys)],
      };
    }
    return {
      sql: `FROM ${this.sorted} AS t
        LEFT JOIN main.export_snapshots AS s ON s.destination = ? AND s.email_key = t.email_key
        WHERE t.email_key BETWEEN ? AND ?
          AND (? OR s.fingerprint IS NOT t.fingerprint)`,
      parameters: [destination, batch.firstEmail, batch.lastEmail, full ? 1 : 0],
    };
  }

  /**
   * Deletes a staged row that lost the dedupe (the planning pass finds them: every row of an email
   * after its first) and resolves its email as it would have been sent (the source's letter case),
   * for the loser's issue. One statement per loser; what is left holds one row per email, so a
   * batch's selection needs no dedupe.
   */
  async storeImportBatch(batch: number, planned: PlannedImportBatch, full: boolean): Promise<void> {
    this.batches.imports.storeFromStaging(
      this.runId,
      batch,
      planned,
      this.importBatchSelection(this.destination, planned, full),
    );
  }

  async storeRemovals(): Promise<number> {
    return this.batches.removals.storeLeavers(this.runId, this.destination, this.sorted);
  }

  async dropLoser(row: StagedContactRow): Promise<string> {
    this.dropLoserQuery ??= this.db.prepare(
      `DELETE FROM ${this.sorted} WHERE email_key = ? AND key = ? RETURNING entry ->> '$.email' AS email`,
    );
    const found = this.dropLoserQuery.get(row[0], row[1]) as { email: string } | undefined;
    return found?.email ?? row[0];
  }

  /** Where a staged row's profile was in the source. */
  rowLocation(row: StagedContactRow): RowLocation {
    const location = this.location ?? { file: '', number: 'line' as const };
    return {
      file: location.file,
      ...(location.relation === undefined ? {} : { relation: location.relation }),
      [location.number]: row[4],
    };
  }

  /** Drops the tables; safe to call twice. */
  async drop(): Promise<void> {
    if (this.state === 'dropped') return;
    this.state = 'dropped';
    this.dropLoserQuery = undefined;
    this.db.exec(`DROP TABLE IF EXISTS ${this.appended}; DROP TABLE IF EXISTS ${this.sorted};`);
    this.db.pragma(`temp.cache_size = ${Number(this.cacheSizeBefore)}`);
  }
}

/** The part of a RowLocation every row of one source shares, and which number it carries. */
function locationOf(where: RowLocation | undefined) {
  if (where === undefined) return undefined;
  const number: LocationNumber =
    where.line !== undefined ? 'line' : where.rowid !== undefined ? 'rowid' : 'row';
  return {
    file: where.file,
    ...(where.relation === undefined ? {} : { relation: where.relation }),
    number,
  };
}
