import type pg from 'pg';
import { SnapshotBucketChanges } from '../snapshot-buckets';
import { encodeStagedChunks } from '../staged-chunks';
import { copyChunks } from './postgres-import-batches';
import { applySnapshotChanges } from './postgres-snapshot-buckets';

/**
 * One forward-only step of the engine's tables, in the shape the PostgreSQL state's migrator runs
 * (`id`, stable forever and prefixed `run-engine-`; `up`, run inside its own transaction on a
 * connection whose search_path is the state's schema, so names are unqualified).
 */
export interface RunEnginePostgresMigration {
  readonly id: string;
  up(client: pg.ClientBase): Promise<void>;
}

/**
 * The run engine's durable tables in a PostgreSQL state: the tables of the SQLite state as they
 * stand after `run-engine-5-compact-snapshots`, written at once (a PostgreSQL state has no older
 * version to upgrade, so no legacy payload tables). The wiring hands them to the state's migrator;
 * released ones are never edited, a change is a new entry appended here.
 *
 * - `export_snapshots`: each destination's confirmed membership, one row per contact (its
 *   lowercased email) with the first 64 bits of its fingerprint as a signed `bigint` (the same value
 *   SQLite keeps; 0: sent, never confirmed).
 * - `export_checkpoints`: the one unfinished run of a destination, with its staged contacts
 *   (`export_run_contacts`, each written once), its import batches (ranges of the contacts' `seq`),
 *   its removals and removal batches; deleted with everything below it when the run ends.
 * - `export_snapshot_revisions`, `export_unchanged_marks`, `export_list_baselines`,
 *   `export_claimed_activities`: as in SQLite (see `UnchangedMarkStore`, `ActivityClaimStore`).
 *
 * Since `run-engine-5-packed-snapshots-and-staging`, `export_snapshots` and `export_run_contacts`
 * are gone: snapshots are `export_snapshot_buckets`, staged contacts `export_run_chunks` (and
 * `export_run_unstaged`), in the SQLite state's formats; `export_import_batches.folded` is no longer
 * read (a run's confirmed batches are folded when it ends).
 *
 * A trigger on the control plane's `resources` table drops a destination's snapshot, checkpoint,
 * baseline and mark, and moves its revision, when its ExportDestination row is deleted (deleted or
 * replaced by apply), so the resource handlers need not know these tables exist. Revisions come
 * from a sequence: concurrent runs of different destinations never wait on each other for one.
 */
export const runEnginePostgresMigrations: readonly RunEnginePostgresMigration[] = [
  {
    id: 'run-engine-1-postgres-tables',
    async up(client) {
      await client.query(`
        CREATE TABLE export_snapshots (
          destination text NOT NULL,
          email_key text COLLATE "C" NOT NULL,
          fingerprint bigint NOT NULL,
          confirmed_run bigint NOT NULL,
          PRIMARY KEY (destination, email_key)
        );

        CREATE TABLE export_checkpoints (
          run_id bigint PRIMARY KEY,
          destination text NOT NULL UNIQUE,
          list_id text NOT NULL,
          phase text NOT NULL CHECK (phase IN ('planning', 'importing', 'removing')),
          removals_looked_up boolean NOT NULL DEFAULT false,
          created_at bigint NOT NULL,
          updated_at bigint NOT NULL
        );

        -- Staged contacts: a run's new and changed ones, each written once (by COPY).
        CREATE TABLE export_run_contacts (
          run_id bigint NOT NULL REFERENCES export_checkpoints (run_id) ON DELETE CASCADE,
          seq integer NOT NULL,
          email_key text COLLATE "C" NOT NULL,
          fingerprint bigint NOT NULL,
          entry text NOT NULL,
          PRIMARY KEY (run_id, seq)
        );

        CREATE TABLE export_import_batches (
          run_id bigint NOT NULL REFERENCES export_checkpoints (run_id) ON DELETE CASCADE,
          batch integer NOT NULL,
          contacts integer NOT NULL,
          body_bytes bigint NOT NULL,
          state text NOT NULL CHECK (state IN ('planned', 'sending', 'submitted', 'confirmed')),
          submissions integer NOT NULL DEFAULT 0,
          sent_at bigint,
          activity_id text,
          adopted boolean NOT NULL DEFAULT false,
          counters jsonb,
          errors jsonb,
          first_seq integer NOT NULL,
          last_seq integer NOT NULL,
          PRIMARY KEY (run_id, batch)
        );

        -- contact_id: NULL until the bulk lookup; batch: the removal call that carries it.
        CREATE TABLE export_removals (
          run_id bigint NOT NULL REFERENCES export_checkpoints (run_id) ON DELETE CASCADE,
          email_key text COLLATE "C" NOT NULL,
          contact_id text,
          batch integer,
          PRIMARY KEY (run_id, email_key)
        );

        CREATE TABLE export_removal_batches (
          run_id bigint NOT NULL REFERENCES export_checkpoints (run_id) ON DELETE CASCADE,
          batch integer NOT NULL,
          contacts integer NOT NULL,
          state text NOT NULL CHECK (state IN ('planned', 'submitted', 'confirmed')),
          activity_id text,
          submissions integer NOT NULL DEFAULT 0,
          PRIMARY KEY (run_id, batch)
        );

        CREATE TABLE export_claimed_activities (
          activity_id text PRIMARY KEY,
          claimed_at bigint NOT NULL
        );
        CREATE INDEX export_claimed_activities_by_time ON export_claimed_activities (claimed_at);

        CREATE TABLE export_list_baselines (
          destination text PRIMARY KEY,
          list_id text NOT NULL,
          membership_count integer NOT NULL,
          observed_at bigint NOT NULL
        );

        CREATE SEQUENCE export_snapshot_revision;
        CREATE TABLE export_snapshot_revisions (
          destination text PRIMARY KEY,
          revision bigint NOT NULL
        );
        CREATE TABLE export_unchanged_marks (
          destination text PRIMARY KEY,
          mark text NOT NULL,
          revision bigint NOT NULL
        );

        -- The checkpoint first: a run folding its batches holds it, and the snapshot's rows are
        -- deleted only once that fold committed (the other order deadlocks with the fold).
        -- search_path FROM CURRENT: the state's schema, whichever connection deletes the row.
        CREATE FUNCTION export_destination_removed() RETURNS trigger LANGUAGE plpgsql
        SET search_path FROM CURRENT AS $$
        BEGIN
          IF old.kind = 'ExportDestination' THEN
            DELETE FROM export_checkpoints WHERE destination = old.name;
            DELETE FROM export_snapshots WHERE destination = old.name;
            DELETE FROM export_list_baselines WHERE destination = old.name;
            DELETE FROM export_unchanged_marks WHERE destination = old.name;
            INSERT INTO export_snapshot_revisions (destination, revision)
            VALUES (old.name, nextval('export_snapshot_revision'))
            ON CONFLICT (destination) DO UPDATE SET revision = excluded.revision;
          END IF;
          RETURN old;
        END;
        $$;
        CREATE TRIGGER export_destination_removed AFTER DELETE ON resources
        FOR EACH ROW EXECUTE FUNCTION export_destination_removed();
      `);
    },
  },
  {
    // As SQLite's run-engine-6: each run's row issues, kept after the run (they are its record),
    // in chunks of deflated JSON; dropped with the destination by a trigger of their own.
    id: 'run-engine-2-row-issues',
    async up(client) {
      await client.query(`
        CREATE TABLE export_row_issue_runs (
          run_id bigint PRIMARY KEY,
          destination text NOT NULL,
          issues bigint NOT NULL
        );
        CREATE INDEX export_row_issue_runs_by_destination ON export_row_issue_runs (destination);

        CREATE TABLE export_row_issues (
          run_id bigint NOT NULL REFERENCES export_row_issue_runs (run_id) ON DELETE CASCADE,
          first_seq bigint NOT NULL,
          issues integer NOT NULL,
          lines bytea NOT NULL,
          PRIMARY KEY (run_id, first_seq)
        );

        CREATE FUNCTION export_destination_removed_row_issues() RETURNS trigger LANGUAGE plpgsql
        SET search_path FROM CURRENT AS $$
        BEGIN
          IF old.kind = 'ExportDestination' THEN
            DELETE FROM export_row_issue_runs WHERE destination = old.name;
          END IF;
          RETURN NULL;
        END;
        $$;
        CREATE TRIGGER export_destination_removed_row_issues AFTER DELETE ON resources
        FOR EACH ROW EXECUTE FUNCTION export_destination_removed_row_issues();
      `);
    },
  },
  {
    // A batch's contacts enter the snapshot when it is confirmed, not when the run ends: `folded`
    // says which confirmed batches are in (false for those an older version confirmed, which the
    // run's end folds). A constant default: no rewrite of the table.
    id: 'run-engine-3-folded-batches',
    async up(client) {
      await client.query(
        'ALTER TABLE export_import_batches ADD COLUMN folded boolean NOT NULL DEFAULT false',
      );
    },
  },
  {
    // The staged contacts lose their foreign key to the checkpoint: its check, a lookup per row,
    // doubled the server's CPU for staging (a million rows inserted: 7.4 s with it, 3.9 s without,
    // on the bench's server). Nothing is lost by it: every write of a run takes its checkpoint
    // `FOR KEY SHARE` first (`PostgresRunContext.write`), and the two ways a checkpoint goes drop
    // the run's staged contacts themselves: the run's end (`dropStaged`) and, here, the trigger of
    // a deleted destination: the checkpoint first (it waits for the run's writes under way), then,
    // in a statement of its own that sees what they committed, the staged contacts of its runs.
    id: 'run-engine-4-staging-without-foreign-key',
    async up(client) {
      await client.query(`
        DO $$
        DECLARE name text;
        BEGIN
          FOR name IN SELECT conname FROM pg_constraint
                      WHERE conrelid = 'export_run_contacts'::regclass AND contype = 'f' LOOP
            EXECUTE format('ALTER TABLE export_run_contacts DROP CONSTRAINT %I', name);
          END LOOP;
        END;
        $$;

        CREATE OR REPLACE FUNCTION export_destination_removed() RETURNS trigger LANGUAGE plpgsql
        SET search_path FROM CURRENT AS $$
        DECLARE runs bigint[];
        BEGIN
          IF old.kind = 'ExportDestination' THEN
            WITH gone AS (DELETE FROM export_checkpoints WHERE destination = old.name RETURNING run_id)
            SELECT array_agg(run_id) INTO runs FROM gone;
            IF runs IS NOT NULL THEN
              DELETE FROM export_run_contacts WHERE run_id = ANY (runs);
            END IF;
            DELETE FROM export_snapshots WHERE destination = old.name;
            DELETE FROM export_list_baselines WHERE destination = old.name;
            DELETE FROM export_unchanged_marks WHERE destination = old.name;
            INSERT INTO export_snapshot_revisions (destination, revision)
            VALUES (old.name, nextval('export_snapshot_revision'))
            ON CONFLICT (destination) DO UPDATE SET revision = excluded.revision;
          END IF;
          RETURN old;
        END;
        $$;
      `);
    },
  },
  {
    // As SQLite's run-engine-7 and -8: a destination's snapshot in up to 4,096 buckets of packed
    // members (`snapshot-buckets.ts`), a run's staged contacts in chunks of up to 5,000 with their
    // entries deflated (`staged-chunks.ts`), those that lost the dedupe after they were staged
    // listed apart: a row per contact cost the server more CPU than the runs' own work (the workers
    // bench, 20 runs of 50,000: 13 s in the staging's COPY, 10.5 s in the snapshot's inserts, of
    // the server's time). The blobs are stored out of line uncompressed (EXTERNAL): the entries are
    // deflated already, and compressing the rest would cost the server CPU for a few bytes. The
    // rows move in pages; the old tables are dropped.
    id: 'run-engine-5-packed-snapshots-and-staging',
    async up(client) {
      await client.query(`
        CREATE TABLE export_snapshot_buckets (
          destination text NOT NULL,
          bucket integer NOT NULL CHECK (bucket BETWEEN 0 AND 4095),
          members integer NOT NULL CHECK (members > 0),
          data bytea NOT NULL,
          PRIMARY KEY (destination, bucket)
        );
        ALTER TABLE export_snapshot_buckets ALTER COLUMN data SET STORAGE EXTERNAL;

        CREATE TABLE export_run_chunks (
          run_id bigint NOT NULL,
          first_seq integer NOT NULL,
          last_seq integer NOT NULL,
          keys bytea NOT NULL,
          entries bytea NOT NULL,
          PRIMARY KEY (run_id, first_seq)
        );
        ALTER TABLE export_run_chunks ALTER COLUMN keys SET STORAGE EXTERNAL,
          ALTER COLUMN entries SET STORAGE EXTERNAL;

        CREATE TABLE export_run_unstaged (
          run_id bigint NOT NULL,
          seq integer NOT NULL,
          PRIMARY KEY (run_id, seq)
        );
      `);
      const page = 50_000;
      const destinations = await client.query<[string]>({
        text: 'SELECT DISTINCT destination FROM export_snapshots ORDER BY destination',
        rowMode: 'array',
      });
      for (const [destination] of destinations.rows) {
        const changes = new SnapshotBucketChanges(destination);
        let after = '';
        for (;;) {
          const { rows } = await client.query<[string, number, number, string]>({
            text: `SELECT email_key, ((fingerprint >> 32) & 4294967295)::float8, (fingerprint & 4294967295)::float8,
                          confirmed_run FROM export_snapshots WHERE destination = $1 AND email_key > $2
                   ORDER BY email_key LIMIT $3`,
            values: [destination, after, page],
            rowMode: 'array',
          });
          for (const [emailKey, hi, lo, run] of rows) changes.put(emailKey, hi, lo, Number(run));
          if (rows.length < page) break;
          after = (rows[rows.length - 1] as [string, number, number, string])[0];
        }
        await applySnapshotChanges(client, changes);
      }
      const runs = await client.query<[string]>({
        text: 'SELECT DISTINCT run_id FROM export_run_contacts ORDER BY run_id',
        rowMode: 'array',
      });
      for (const [run] of runs.rows) {
        const runId = Number(run);
        let after = -1;
        for (;;) {
          const { rows } = await client.query<[number, string, number, number, string]>({
            text: `SELECT seq, email_key, ((fingerprint >> 32) & 4294967295)::float8,
                          (fingerprint & 4294967295)::float8, entry
                   FROM export_run_contacts WHERE run_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`,
            values: [runId, after, page],
            rowMode: 'array',
          });
          if (rows.length === 0) break;
          const contacts = rows.map(([seq, emailKey, hi, lo, entry]) => ({
            seq,
            emailKey,
            fingerprint: [hi, lo] as const,
            entry,
          }));
          await copyChunks(client, runId, encodeStagedChunks(contacts));
          if (rows.length < page) break;
          after = (rows[rows.length - 1] as [number, string, number, number, string])[0];
        }
      }
      await client.query(`
        DROP TABLE export_run_contacts;
        DROP TABLE export_snapshots;

        CREATE OR REPLACE FUNCTION export_destination_removed() RETURNS trigger LANGUAGE plpgsql
        SET search_path FROM CURRENT AS $$
        DECLARE runs bigint[];
        BEGIN
          IF old.kind = 'ExportDestination' THEN
            WITH gone AS (DELETE FROM export_checkpoints WHERE destination = old.name RETURNING run_id)
            SELECT array_agg(run_id) INTO runs FROM gone;
            IF runs IS NOT NULL THEN
              DELETE FROM export_run_chunks WHERE run_id = ANY (runs);
              DELETE FROM export_run_unstaged WHERE run_id = ANY (runs);
            END IF;
            DELETE FROM export_snapshot_buckets WHERE destination = old.name;
            DELETE FROM export_list_baselines WHERE destination = old.name;
            DELETE FROM export_unchanged_marks WHERE destination = old.name;
            INSERT INTO export_snapshot_revisions (destination, revision)
            VALUES (old.name, nextval('export_snapshot_revision'))
            ON CONFLICT (destination) DO UPDATE SET revision = excluded.revision;
          END IF;
          RETURN old;
        END;
        $$;
      `);
    },
  },
];
