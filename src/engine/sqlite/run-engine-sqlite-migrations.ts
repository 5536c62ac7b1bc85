import { SnapshotBucketChanges } from '../snapshot-buckets';
import { snapshotFingerprint, splitFingerprint } from '../snapshot-fingerprint';
import { encodeStagedChunks } from '../staged-chunks';
import type { SqliteDatabase } from './sqlite-run-context';
import { applySnapshotChanges } from './sqlite-snapshot-buckets';

/**
 * One forward-only step of the engine's tables, in the shape the SQLite state's migrator runs
 * (`id`, stable forever and prefixed `run-engine-`; `up`, run inside its own transaction).
 */
export interface RunEngineSqliteMigration {
  readonly id: string;
  up(db: SqliteDatabase): void;
}

/**
 * The run engine's durable tables in the SQLite state. The wiring hands them to the state's
 * migrator (`exportctlSqliteMigrations`): released ones are never edited, a change is a new entry
 * appended here.
 *
 * - `export_snapshots`: each destination's last confirmed membership, one row per contact (its
 *   lowercased email) with the fingerprint of the fields last sent. A row is written only after the
 *   import activity that carried the contact completed, and deleted only after its removal completed.
 * - `export_checkpoints`: the one unfinished run of a destination that has planned its work, with
 *   what it planned: its import batches (each with the exact contacts it carries, so a resumed run
 *   sends the same bodies) and its removals. Deleted with everything below it when the run ends.
 *
 * A trigger drops a destination's snapshot and checkpoint when the ExportDestination is deleted or
 * replaced (`resources` row deleted): the snapshot describes a list the destination no longer has,
 * and the resource handlers need not know these tables exist. Since `run-engine-5` a run stages
 * only the contacts it may send (`export_run_contacts`): the dedupe and the diff happen in memory,
 * as the source is read (`ContactIndex`). Since `run-engine-7` a snapshot is packed in buckets
 * (`export_snapshot_buckets`, see `snapshot-buckets.ts`); since `run-engine-8` staged
 * contacts are kept in chunks (`export_run_chunks`, see `staged-chunks.ts`).
 */
export const runEngineSqliteMigrations: readonly RunEngineSqliteMigration[] = [
  {
    id: 'run-engine-1-snapshots-and-checkpoints',
    up(db) {
      db.exec(`
        CREATE TABLE export_snapshots (
          destination TEXT NOT NULL,
          email_key TEXT NOT NULL,
          fingerprint TEXT NOT NULL,
          confirmed_run INTEGER NOT NULL,
          PRIMARY KEY (destination, email_key)
        ) STRICT, WITHOUT ROWID;

        CREATE TABLE export_checkpoints (
          run_id INTEGER PRIMARY KEY,
          destination TEXT NOT NULL UNIQUE,
          list_id TEXT NOT NULL,
          phase TEXT NOT NULL CHECK (phase IN ('planning', 'importing', 'removing')),
          removals_looked_up INTEGER NOT NULL DEFAULT 0 CHECK (removals_looked_up IN (0, 1)),
          created_at INTEGER NOT NULL,
          updated_at INTEGER NOT NULL
        ) STRICT;

        CREATE TABLE export_import_batches (
          run_id INTEGER NOT NULL REFERENCES export_checkpoints (run_id) ON DELETE CASCADE,
          batch INTEGER NOT NULL,
          contacts INTEGER NOT NULL,
          body_bytes INTEGER NOT NULL,
          state TEXT NOT NULL CHECK (state IN ('planned', 'sending', 'submitted', 'confirmed')),
          submissions INTEGER NOT NULL DEFAULT 0,
          sent_at INTEGER,
          activity_id TEXT,
          counters TEXT,
          errors TEXT,
          PRIMARY KEY (run_id, batch)
        ) STRICT;

        -- What an import batch sends, apart from its state, written once and deleted when the batch
        -- is confirmed, so that state changes never rewrite (nor scans walk) megabytes:
        -- import_data, the request's import_data entries as sent (JSON objects joined by commas, as
        -- UTF-8 bytes: sent as they are, never held as a string);
        -- and the batch's rows for the snapshot (email key and fingerprint of each contact).
        CREATE TABLE export_import_payloads (
          run_id INTEGER NOT NULL,
          batch INTEGER NOT NULL,
          import_data BLOB NOT NULL,
          PRIMARY KEY (run_id, batch),
          FOREIGN KEY (run_id, batch) REFERENCES export_import_batches (run_id, batch) ON DELETE CASCADE
        ) STRICT;

        CREATE TABLE export_import_rows (
          run_id INTEGER NOT NULL,
          batch INTEGER NOT NULL,
          email_key TEXT NOT NULL,
          fingerprint TEXT NOT NULL,
          PRIMARY KEY (run_id, batch, email_key),
          FOREIGN KEY (run_id, batch) REFERENCES export_import_batches (run_id, batch) ON DELETE CASCADE
        ) STRICT, WITHOUT ROWID;

        -- contact_id: NULL until the bulk lookup; batch: the removal call that carries it.
        CREATE TABLE export_removals (
          run_id INTEGER NOT NULL REFERENCES export_checkpoints (run_id) ON DELETE CASCADE,
          email_key TEXT NOT NULL,
          contact_id TEXT,
          batch INTEGER,
          PRIMARY KEY (run_id, email_key)
        ) STRICT, WITHOUT ROWID;

        CREATE TABLE export_removal_batches (
          run_id INTEGER NOT NULL REFERENCES export_checkpoints (run_id) ON DELETE CASCADE,
          batch INTEGER NOT NULL,
          contacts INTEGER NOT NULL,
          state TEXT NOT NULL CHECK (state IN ('planned', 'submitted', 'confirmed')),
          activity_id TEXT,
          PRIMARY KEY (run_id, batch)
        ) STRICT;

        CREATE TRIGGER export_destination_removed AFTER DELETE ON resources
        WHEN old.kind = 'ExportDestination'
        BEGIN
          DELETE FROM export_snapshots WHERE destination = old.name;
          DELETE FROM export_checkpoints WHERE destination = old.name;
        END;
      `);
    },
  },
  {
    // A removal batch's sends count across resumes, as an import batch's do, so that maxSubmissions
    // bounds them over the whole run, not over each process that takes it up.
    id: 'run-engine-2-removal-submissions',
    up(db) {
      db.exec('ALTER TABLE export_removal_batches ADD COLUMN submissions INTEGER NOT NULL DEFAULT 0');
    },
  },
  {
    // Every activity a run was answered with or adopted, kept after its checkpoint is dropped: an
    // import whose answer was lost may only adopt an activity that no run, finished ones included,
    // claims (before, a finished run's activity was free again, and a later run adopted it).
    // `adopted`: the batch's activity was found, not answered; it is confirmed only once the list is
    // seen to hold the batch's contacts.
    id: 'run-engine-3-claimed-activities',
    up(db) {
      db.exec(`
        CREATE TABLE export_claimed_activities (
          activity_id TEXT PRIMARY KEY,
          claimed_at INTEGER NOT NULL
        ) STRICT, WITHOUT ROWID;

        INSERT OR IGNORE INTO export_claimed_activities (activity_id, claimed_at)
        SELECT activity_id, unixepoch() * 1000 FROM export_import_batches WHERE activity_id IS NOT NULL
        UNION SELECT activity_id, unixepoch() * 1000 FROM export_removal_batches WHERE activity_id IS NOT NULL;

        ALTER TABLE export_import_batches ADD COLUMN adopted INTEGER NOT NULL DEFAULT 0 CHECK (adopted IN (0, 1));
      `);
    },
  },
  {
    // What each destination's list held when its last run succeeded: the next run compares the
    // list's membership_count with it, and looks for what the list lacks when it differs (a list
    // trimmed or emptied outside exportctl). Dropped while a run works (a run that does not finish
    // leaves no baseline) and with the destination (its list is not the one the baseline counted).
    id: 'run-engine-4-list-baselines',
    up(db) {
      db.exec(`
        CREATE TABLE export_list_baselines (
          destination TEXT PRIMARY KEY,
          list_id TEXT NOT NULL,
          membership_count INTEGER NOT NULL,
          observed_at INTEGER NOT NULL
        ) STRICT;

        CREATE TRIGGER export_destination_removed_baseline AFTER DELETE ON resources
        WHEN old.kind = 'ExportDestination'
        BEGIN
          DELETE FROM export_list_baselines WHERE destination = old.name;
        END;
      `);
    },
  },
  {
    // Compact snapshots, compared before staging, confirmed by marking. The snapshot's fingerprint
    // becomes the first 64 bits of the old one as an INTEGER (the engine derives it the same way, so
    // an upgraded state's first run finds every unchanged contact unchanged; '' — sent, never
    // confirmed — becomes 0, which no contact has). A run stages only its new and changed contacts,
    // once, in `export_run_contacts`; an import batch is a range of their `seq` (`first_seq`,
    // `last_seq`) and its body is assembled from them when sent; confirming marks the batch, and
    // its contacts are folded into the snapshot when the checkpoint is deleted. Batches planned by
    // the previous version (first_seq NULL) keep their payload and rows until their run ends.
    id: 'run-engine-5-compact-snapshots',
    up(db) {
      db.exec(`
        DROP TRIGGER export_destination_removed;
        ALTER TABLE export_snapshots RENAME TO export_snapshots_text;
        CREATE TABLE export_snapshots (
          destination TEXT NOT NULL,
          email_key TEXT NOT NULL,
          fingerprint INTEGER NOT NULL,
          confirmed_run INTEGER NOT NULL,
          PRIMARY KEY (destination, email_key)
        ) STRICT, WITHOUT ROWID;
      `);
      const insert = db.prepare(
        'INSERT INTO export_snapshots (destination, email_key, fingerprint, confirmed_run) VALUES (?, ?, ?, ?)',
      );
      // Page by page: better-sqlite3 runs no statement while another one iterates.
      const page = db
        .prepare(
          `SELECT destination, email_key, fingerprint, confirmed_run FROM export_snapshots_text
           WHERE (destination, email_key) > (?, ?) ORDER BY destination, email_key LIMIT 10000`,
        )
        .raw();
      let after: [string, string] = ['', ''];
      for (;;) {
        const rows = page.all(...after) as [string, string, string, number][];
        for (const [destination, emailKey, fingerprint, run] of rows)
          insert.run(destination, emailKey, snapshotFingerprint(fingerprint), run);
        const last = rows.at(-1);
        if (last === undefined) break;
        after = [last[0], last[1]];
      }
      db.exec(`
        DROP TABLE export_snapshots_text;

        CREATE TABLE export_run_contacts (
          run_id INTEGER NOT NULL REFERENCES export_checkpoints (run_id) ON DELETE CASCADE,
          seq INTEGER NOT NULL,
          email_key TEXT NOT NULL,
          fingerprint INTEGER NOT NULL,
          entry TEXT NOT NULL,
          PRIMARY KEY (run_id, seq)
        ) STRICT, WITHOUT ROWID;

        ALTER TABLE export_import_batches ADD COLUMN first_seq INTEGER;
        ALTER TABLE export_import_batches ADD COLUMN last_seq INTEGER;

        -- The snapshot's revision per destination (absent: 0), moved on every change of its rows to
        -- one above every revision of the state (never one it had), and the mark of the last run
        -- that succeeded with the revision it left (see UnchangedMarkStore).
        CREATE TABLE export_snapshot_revisions (
          destination TEXT PRIMARY KEY,
          revision INTEGER NOT NULL
        ) STRICT;
        CREATE TABLE export_unchanged_marks (
          destination TEXT PRIMARY KEY,
          mark TEXT NOT NULL,
          revision INTEGER NOT NULL
        ) STRICT;

        CREATE TRIGGER export_destination_removed AFTER DELETE ON resources
        WHEN old.kind = 'ExportDestination'
        BEGIN
          DELETE FROM export_snapshots WHERE destination = old.name;
          DELETE FROM export_checkpoints WHERE destination = old.name;
          DELETE FROM export_unchanged_marks WHERE destination = old.name;
          INSERT OR REPLACE INTO export_snapshot_revisions (destination, revision)
          VALUES (old.name, (SELECT coalesce(max(revision), 0) + 1 FROM export_snapshot_revisions));
        END;
      `);
    },
  },
  {
    // The row issues of each run, in the state instead of a CSV file beside it (that one machine's
    // disk): readable wherever the state is (`exportctl runs NAME RUN --row-issues`). Kept after the
    // run's checkpoint is dropped; dropped with the ExportDestination (deleted or replaced), as its
    // snapshot is. `issues`: how many the run has, so a count reads one row. The issues are stored
    // in chunks of up to 5,000 (`lines`: a JSON array of [key, field, reason, where, severity,
    // code], raw DEFLATE, level 1; `first_seq`: the place of its first issue in the run): a million
    // bad rows are a few hundred rows and ~16 MB written (~190 MB as rows of text), not a million
    // rows. Runs recorded before keep the CSV file their record names.
    id: 'run-engine-6-row-issues',
    up(db) {
      db.exec(`
        CREATE TABLE export_row_issue_runs (
          run_id INTEGER PRIMARY KEY,
          destination TEXT NOT NULL,
          issues INTEGER NOT NULL
        ) STRICT;
        CREATE INDEX export_row_issue_runs_by_destination ON export_row_issue_runs (destination);

        CREATE TABLE export_row_issues (
          run_id INTEGER NOT NULL REFERENCES export_row_issue_runs (run_id) ON DELETE CASCADE,
          first_seq INTEGER NOT NULL,
          issues INTEGER NOT NULL,
          lines BLOB NOT NULL,
          PRIMARY KEY (run_id, first_seq)
        ) STRICT;

        CREATE TRIGGER export_destination_removed_row_issues AFTER DELETE ON resources
        WHEN old.kind = 'ExportDestination'
        BEGIN
          DELETE FROM export_row_issues
          WHERE run_id IN (SELECT run_id FROM export_row_issue_runs WHERE destination = old.name);
          DELETE FROM export_row_issue_runs WHERE destination = old.name;
        END;
      `);
    },
  },
  {
    // The snapshot in buckets: a destination's members spread over up to 4,096 rows by a hash of
    // their email, each row the bucket's members packed (see `snapshot-buckets.ts`), instead
    // of a row per member. A full export's fold then writes each bucket once (it was a million
    // sorted inserts: 1.5 s and ~180 MB written at a million contacts) and a run reads a snapshot
    // by decoding 4,096 blobs. The rows move over as they are: same members, fingerprints and
    // confirming runs, so the first run after the upgrade finds every unchanged contact unchanged.
    id: 'run-engine-7-snapshot-buckets',
    up(db) {
      db.exec(`
        DROP TRIGGER export_destination_removed;
        CREATE TABLE export_snapshot_buckets (
          destination TEXT NOT NULL,
          bucket INTEGER NOT NULL CHECK (bucket BETWEEN 0 AND 4095),
          members INTEGER NOT NULL CHECK (members > 0),
          data BLOB NOT NULL,
          PRIMARY KEY (destination, bucket)
        ) STRICT;
      `);
      // Page by page (better-sqlite3 runs no statement while another one iterates), one
      // destination's members applied at once: each of its buckets written once.
      const page = db
        .prepare(
          `SELECT destination, email_key, fingerprint, confirmed_run FROM export_snapshots
           WHERE (destination, email_key) > (?, ?) ORDER BY destination, email_key LIMIT 10000`,
        )
        .raw()
        .safeIntegers(true);
      let changes: SnapshotBucketChanges | undefined;
      let current: string | undefined;
      let after: [string, string] = ['', ''];
      for (;;) {
        const rows = page.all(...after) as [string, string, bigint, bigint][];
        for (const [destination, emailKey, fingerprint, run] of rows) {
          if (destination !== current) {
            if (changes !== undefined) applySnapshotChanges(db, changes);
            changes = new SnapshotBucketChanges(destination);
            current = destination;
          }
          const [hi, lo] = splitFingerprint(fingerprint);
          changes?.put(emailKey, hi, lo, Number(run));
        }
        const last = rows.at(-1);
        if (last === undefined) break;
        after = [last[0], last[1]];
      }
      if (changes !== undefined) applySnapshotChanges(db, changes);
      db.exec(`
        DROP TABLE export_snapshots;
        CREATE TRIGGER export_destination_removed AFTER DELETE ON resources
        WHEN old.kind = 'ExportDestination'
        BEGIN
          DELETE FROM export_snapshot_buckets WHERE destination = old.name;
          DELETE FROM export_checkpoints WHERE destination = old.name;
          DELETE FROM export_unchanged_marks WHERE destination = old.name;
          INSERT OR REPLACE INTO export_snapshot_revisions (destination, revision)
          VALUES (old.name, (SELECT coalesce(max(revision), 0) + 1 FROM export_snapshot_revisions));
        END;
      `);
    },
  },
  {
    // Staged contacts in chunks: a row per run of up to 5,000 consecutive `seq`s, their keys packed
    // and their entries deflated (see `staged-chunks.ts`), instead of a row per contact
    // (~2.5 s and ~390 MB written to stage a million); those that lost the dedupe after they were
    // staged are listed in `export_run_unstaged` instead of deleted. An unfinished run's staged
    // contacts move over as they are, so it resumes where it was.
    id: 'run-engine-8-staged-chunks',
    up(db) {
      db.exec(`
        CREATE TABLE export_run_chunks (
          run_id INTEGER NOT NULL REFERENCES export_checkpoints (run_id) ON DELETE CASCADE,
          first_seq INTEGER NOT NULL,
          last_seq INTEGER NOT NULL CHECK (last_seq >= first_seq),
          keys BLOB NOT NULL,
          entries BLOB NOT NULL,
          PRIMARY KEY (run_id, first_seq)
        ) STRICT;
        CREATE TABLE export_run_unstaged (
          run_id INTEGER NOT NULL REFERENCES export_checkpoints (run_id) ON DELETE CASCADE,
          seq INTEGER NOT NULL,
          PRIMARY KEY (run_id, seq)
        ) STRICT, WITHOUT ROWID;
      `);
      const insert = db.prepare(
        'INSERT INTO export_run_chunks (run_id, first_seq, last_seq, keys, entries) VALUES (?, ?, ?, ?, ?)',
      );
      const page = db
        .prepare(
          `SELECT run_id, seq, email_key, (fingerprint >> 32) & 4294967295, fingerprint & 4294967295, entry
           FROM export_run_contacts WHERE (run_id, seq) > (?, ?) ORDER BY run_id, seq LIMIT 10000`,
        )
        .raw();
      let after: [number, number] = [-1, -1];
      for (;;) {
        const rows = page.all(...after) as [number, number, string, number, number, string][];
        const last = rows.at(-1);
        if (last === undefined) break;
        let from = 0;
        while (from < rows.length) {
          const runId = (rows[from] as (typeof rows)[number])[0];
          let to = from;
          while (to < rows.length && (rows[to] as (typeof rows)[number])[0] === runId) to += 1;
          const contacts = rows.slice(from, to).map(([, seq, emailKey, hi, lo, entry]) => ({
            seq,
            emailKey,
            fingerprint: [hi, lo] as const,
            entry,
          }));
          for (const chunk of encodeStagedChunks(contacts))
            insert.run(runId, chunk.firstSeq, chunk.lastSeq, chunk.keys, chunk.entries);
          from = to;
        }
        after = [last[0], last[1]];
      }
      db.exec('DROP TABLE export_run_contacts');
    },
  },
];
