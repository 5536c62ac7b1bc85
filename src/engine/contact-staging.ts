import type { ExportContact, RowLocation } from '../profiles';
import type { SqliteDatabase } from '../state/sqlite/sqlite-migrations';

/**
 * One staged contact, in (email key, key) order: `[emailKey, key, email, firstName, lastName,
 * position, snapshotFingerprint]`, where the fingerprint is the one the destination's snapshot holds
 * for that email (null when the email is not in it). Plain arrays: a million of them pass through
 * the planning pass.
 */
export type StagedContactRow = readonly [
  emailKey: string,
  key: string,
  email: string,
  firstName: string | null,
  lastName: string | null,
  position: number,
  snapshotFingerprint: string | null,
];

/** Which number of a RowLocation a source's rows carry. */
type LocationNumber = 'line' | 'rowid' | 'row';

/**
 * A run's contacts while it plans, in two TEMP tables of the state's connection (private to it: no
 * other process sees them, and writing them takes no lock on the state file).
 *
 * Contacts are appended in source order (cheap), then copied once, sorted, into a table clustered by
 * `(email_key, key)`. That order does the rest: the first row of each email is the dedupe winner
 * (the smallest key under SQLite's BINARY collation, which is `compareCodePoints`, the rule of
 * `preferredContact`), distinct emails count in one scan, the diff against the snapshot walks both
 * tables in the same order, and import batches come out sorted by email, which keeps the snapshot
 * writes of a batch on neighbouring pages. Inserting straight into an email-keyed table instead costs
 * random B-tree writes, several times slower at a million contacts.
 *
 * TEMP tables vanish with the connection, so a crash before the plan is stored loses nothing that
 * was sent: there is none. Call `drop` when done.
 */
export class ContactStaging {
  private readonly appended: string;
  private readonly sorted: string;
  private readonly insert: { run(...values: unknown[]): unknown };
  private location: { file: string; relation?: string; number: LocationNumber } | undefined;
  private staged = 0;
  private state: 'appending' | 'sorted' | 'dropped' = 'appending';

  constructor(
    private readonly db: SqliteDatabase,
    runId: number,
  ) {
    this.appended = `temp.export_staged_${runId}`;
    this.sorted = `temp.export_sorted_${runId}`;
    db.exec(`
      DROP TABLE IF EXISTS ${this.appended};
      DROP TABLE IF EXISTS ${this.sorted};
      CREATE TABLE ${this.appended} (
        email_key TEXT NOT NULL, key TEXT NOT NULL, email TEXT NOT NULL,
        first_name TEXT, last_name TEXT, position INTEGER NOT NULL
      ) STRICT;
    `);
    this.insert = db.prepare(`INSERT INTO ${this.appended} VALUES (?, ?, ?, ?, ?, ?)`);
  }

  /** Contacts appended so far (before dedupe). */
  get size(): number {
    return this.staged;
  }

  /** The sorted table's name, for SQL that joins it (`email_key` column). */
  get selectedTable(): string {
    return this.sorted;
  }

  /**
   * Appends contacts (in source order), in one transaction of the TEMP database: no other process
   * waits for it, and no contact object outlives the read batch it came in.
   */
  add(contacts: readonly ExportContact[]): void {
    if (contacts.length === 0) return;
    this.location ??= locationOf(contacts[0]?.where);
    const number = this.location?.number ?? 'line';
    this.db.transaction(() => {
      for (const contact of contacts) {
        this.insert.run(
          contact.emailKey,
          contact.key,
          contact.email,
          contact.firstName ?? null,
          contact.lastName ?? null,
          contact.where[number] ?? 0,
        );
      }
    })();
    this.staged += contacts.length;
  }

  /**
   * Ends the appending: copies the contacts, sorted by email key then key, into the clustered table.
   * One statement inside SQLite (its external sort), no row crosses into JavaScript.
   */
  sort(): void {
    this.db.exec(`
      CREATE TABLE ${this.sorted} (
        email_key TEXT NOT NULL, key TEXT NOT NULL, email TEXT NOT NULL,
        first_name TEXT, last_name TEXT, position INTEGER NOT NULL,
        PRIMARY KEY (email_key, key)
      ) STRICT, WITHOUT ROWID;
      INSERT INTO ${this.sorted} SELECT * FROM ${this.appended} ORDER BY email_key, key;
      DROP TABLE ${this.appended};
    `);
    this.state = 'sorted';
  }

  /** Distinct email keys: the contacts the list should hold. */
  distinctEmails(): number {
    const row = this.db.prepare(`SELECT count(DISTINCT email_key) AS n FROM ${this.sorted}`).get() as {
      n: number;
    };
    return row.n;
  }

  /** Snapshot members of `destination` whose email is not staged: they left the selection. */
  leavers(destination: string): number {
    const row = this.db
      .prepare(
        `SELECT count(*) AS n FROM main.export_snapshots AS s WHERE s.destination = ?
         AND NOT EXISTS (SELECT 1 FROM ${this.sorted} AS t WHERE t.email_key = s.email_key)`,
      )
      .get(destination) as { n: number };
    return row.n;
  }

  /**
   * Walks every staged contact in (email key, key) order, `pageSize` at a time (one query per page,
   * so other statements may run between pages), each with its snapshot fingerprint.
   */
  async *pages(destination: string, pageSize = 5_000): AsyncGenerator<StagedContactRow[]> {
    const first = this.db
      .prepare(
        `SELECT t.email_key, t.key, t.email, t.first_name, t.last_name, t.position, s.fingerprint
         FROM ${this.sorted} AS t
         LEFT JOIN main.export_snapshots AS s ON s.destination = ? AND s.email_key = t.email_key
         ORDER BY t.email_key, t.key LIMIT ?`,
      )
      .raw();
    const next = this.db
      .prepare(
        `SELECT t.email_key, t.key, t.email, t.first_name, t.last_name, t.position, s.fingerprint
         FROM ${this.sorted} AS t
         LEFT JOIN main.export_snapshots AS s ON s.destination = ? AND s.email_key = t.email_key
         WHERE (t.email_key, t.key) > (?, ?)
         ORDER BY t.email_key, t.key LIMIT ?`,
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

  /** Drops the tables; safe to call twice. */
  drop(): void {
    if (this.state === 'dropped') return;
    this.state = 'dropped';
    this.db.exec(`DROP TABLE IF EXISTS ${this.appended}; DROP TABLE IF EXISTS ${this.sorted};`);
  }

  /** Where a staged row's profile was in the source. */
  rowLocation(row: StagedContactRow): RowLocation {
    const location = this.location ?? { file: '', number: 'line' as const };
    return {
      file: location.file,
      ...(location.relation === undefined ? {} : { relation: location.relation }),
      [location.number]: row[5],
    };
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
