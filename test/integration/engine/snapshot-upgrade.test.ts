import { dirname } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ExportDestinationSpec, ProfileSourceSpec } from '../../../src/config';
import { decodeSnapshotBucket } from '../../../src/engine/snapshot-buckets';
import {
  contactFingerprint,
  locatedSourceSpec,
  readContacts,
  recordedSourceFolder,
} from '../../../src/profiles';
import { migrateSqlite, readAppliedMigrations } from '../../../src/state';
import { exportctlSqliteMigrations } from '../../../src/wiring';
import { engineFixture, exportWorld, importedItems } from '../../support/export-world';
import { ContactDeduper } from '../../support/reference-dedupe';

/** The fingerprints the previous version stored: `contactFingerprint` of each contact it sent. */
async function previousFingerprints(
  w: Awaited<ReturnType<typeof exportWorld>>,
): Promise<Map<string, string>> {
  const applied = await w.store.resources.get('ProfileSource', 'profiles');
  const destination = (await w.store.resources.get('ExportDestination', 'vip'))
    ?.spec as unknown as ExportDestinationSpec;
  const source = locatedSourceSpec(
    applied?.spec as unknown as ProfileSourceSpec,
    recordedSourceFolder(applied?.remoteFacts?.facts),
    'profiles',
  );
  const read = readContacts({
    source,
    baseDir: dirname(
      source.type === 'sqlite' && typeof source.database === 'string' ? source.database : source.profiles,
    ),
    segments: destination.segments,
    dataMatching: destination.dataMatching,
    onIssue: () => {},
  });
  const deduper = new ContactDeduper();
  for await (const batch of read.batches()) for (const contact of batch) deduper.add(contact);
  return new Map(deduper.contacts().map((contact) => [contact.emailKey, contactFingerprint(contact)]));
}

describe('a state written before compact snapshots (and before snapshot buckets)', () => {
  it('upgrades in place, and its first run sends nothing when nothing changed', async () => {
    const w = await exportWorld(engineFixture('mixed-rows'));
    await w.apply();
    expect((await w.run('vip')).run.status).toBe('succeeded');
    const fingerprints = await previousFingerprints(w);
    const db = w.store.sqlite;
    const members = (
      db
        .prepare("SELECT data FROM export_snapshot_buckets WHERE destination = 'vip'")
        .pluck()
        .all() as Buffer[]
    ).flatMap((data) => {
      const bucket = decodeSnapshotBucket(data);
      return bucket.keys.map((key, index) => ({
        email_key: key,
        confirmed_run: bucket.runs[index] as number,
      }));
    });
    expect(members.length).toBe(fingerprints.size);

    // The state as the previous version left it: the snapshot's TEXT fingerprints, its schema.
    db.exec(`
      DROP TRIGGER export_destination_removed;
      DROP TABLE export_snapshot_buckets;
      DELETE FROM schema_migrations WHERE id = 'run-engine-7-snapshot-buckets';
      DROP TABLE export_run_chunks;
      DROP TABLE export_run_unstaged;
      DELETE FROM schema_migrations WHERE id = 'run-engine-8-staged-chunks';
      DROP TABLE export_snapshot_revisions;
      DROP TABLE export_unchanged_marks;
      ALTER TABLE export_import_batches DROP COLUMN first_seq;
      ALTER TABLE export_import_batches DROP COLUMN last_seq;
      CREATE TABLE export_snapshots (
        destination TEXT NOT NULL,
        email_key TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        confirmed_run INTEGER NOT NULL,
        PRIMARY KEY (destination, email_key)
      ) STRICT, WITHOUT ROWID;
      CREATE TRIGGER export_destination_removed AFTER DELETE ON resources
      WHEN old.kind = 'ExportDestination'
      BEGIN
        DELETE FROM export_snapshots WHERE destination = old.name;
        DELETE FROM export_checkpoints WHERE destination = old.name;
      END;
      DELETE FROM schema_migrations WHERE id = 'run-engine-5-compact-snapshots';
      -- Nor had it the row-issue tables that came after.
      DROP TRIGGER export_destination_removed_row_issues;
      DROP TABLE export_row_issues;
      DROP TABLE export_row_issue_runs;
      DELETE FROM schema_migrations WHERE id = 'run-engine-6-row-issues';
      -- Nor the wider secret names (its table is rebuilt again as it is).
      DELETE FROM schema_migrations WHERE id = 'control-plane-4-source-secrets';
    `);
    db.pragma('user_version = 6');
    const insert = db.prepare(
      "INSERT INTO export_snapshots (destination, email_key, fingerprint, confirmed_run) VALUES ('vip', ?, ?, ?)",
    );
    for (const member of members)
      insert.run(member.email_key, fingerprints.get(member.email_key), member.confirmed_run);

    expect(migrateSqlite(db, exportctlSqliteMigrations, 'state.db', Date.now)).toEqual([
      'run-engine-5-compact-snapshots',
      'run-engine-6-row-issues',
      'control-plane-4-source-secrets',
      'run-engine-7-snapshot-buckets',
      'run-engine-8-staged-chunks',
    ]);
    expect(readAppliedMigrations(db).at(-1)?.id).toBe('run-engine-8-staged-chunks');
    const before = importedItems(w.sandbox);
    const rerun = await w.run('vip');
    expect(rerun.run.status).toBe('succeeded');
    expect(rerun.record.skipped).toBeNull();
    expect(rerun.record.counts).toMatchObject({ added: 0, updated: 0, unchanged: members.length });
    expect(rerun.record.batches.imports).toBe(0);
    expect(importedItems(w.sandbox)).toBe(before);
  });
});
