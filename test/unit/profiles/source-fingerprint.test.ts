import { copyFileSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import type { ProfileSourceSpec } from '../../../src/config';
import { sourceFingerprint } from '../../../src/profiles';
import { profileFixture } from '../../support/profile-fixtures';
import { tempFolder } from '../../support/temp-folder';

describe('sourceFingerprint: files', () => {
  const spec: ProfileSourceSpec = {
    type: 'csv',
    profiles: 'profiles.csv',
    segmentMembership: 'segment-membership.csv',
    key: 'CustomerId',
    segmentField: 'Segment',
  };
  const folder = () => {
    const created = tempFolder();
    for (const file of [spec.profiles, spec.segmentMembership])
      copyFileSync(join(profileFixture('contacts-csv'), file), join(created, file));
    return created;
  };

  it('keeps its fingerprint when a file is rewritten with the same bytes or touched', async () => {
    const data = folder();
    const before = await sourceFingerprint(spec, data);
    const file = join(data, 'profiles.csv');
    writeFileSync(file, readFileSync(file));
    utimesSync(file, new Date('2030-01-01T00:00:00Z'), new Date('2030-01-01T00:00:00Z'));
    expect(await sourceFingerprint(spec, data)).toBe(before);
  });

  it('changes with one byte of a row, even when size and modification time are kept', async () => {
    const data = folder();
    const before = await sourceFingerprint(spec, data);
    const file = join(data, 'profiles.csv');
    const { mtime, atime, size } = statSync(file);
    writeFileSync(file, readFileSync(file, 'utf8').replace('Lovelace', 'Lovelacf'));
    utimesSync(file, atime, mtime);
    expect(statSync(file).size).toBe(size);
    expect(await sourceFingerprint(spec, data)).not.toBe(before);
  });

  it('tells the profiles from the membership: the same bytes swapped between them are another source', async () => {
    const data = tempFolder();
    writeFileSync(join(data, 'a.csv'), 'CustomerId,Segment\nC1,VIP\n');
    writeFileSync(join(data, 'b.csv'), 'CustomerId,Segment\nC2,VIP\n');
    const ab = await sourceFingerprint({ ...spec, profiles: 'a.csv', segmentMembership: 'b.csv' }, data);
    const ba = await sourceFingerprint({ ...spec, profiles: 'b.csv', segmentMembership: 'a.csv' }, data);
    expect(ab).not.toBe(ba);
  });
});

describe('sourceFingerprint: sqlite', () => {
  const spec: ProfileSourceSpec = {
    type: 'sqlite',
    database: 'crm.db',
    profiles: 'profiles',
    segmentMembership: 'memberships',
    key: 'CustomerId',
    segmentField: 'SegmentName',
  };
  const database = (journal: 'wal' | 'delete') => {
    const data = tempFolder();
    const db = new Database(join(data, 'crm.db'));
    db.pragma(`journal_mode = ${journal}`);
    db.exec(readFileSync(join(profileFixture('contacts-sqlite'), 'source.sql'), 'utf8'));
    db.exec('CREATE TABLE audit (at TEXT)');
    return { data, db };
  };

  it('sees a write still in the -wal file (not checkpointed) of a database in WAL mode', async () => {
    const { data, db } = database('wal');
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.pragma('wal_autocheckpoint = 0');
    const before = await sourceFingerprint(spec, data);
    db.prepare(
      "UPDATE profiles SET FirstName = 'Adah' WHERE FirstName = 'Ada' AND LastName = 'Lovelace'",
    ).run();
    expect(statSync(join(data, 'crm.db-wal')).size).toBeGreaterThan(0);
    const after = await sourceFingerprint(spec, data);
    db.close();
    expect(after).not.toBe(before);
  });

  it('ignores what the export does not read: other tables, a vacuum, a checkpoint', async () => {
    const { data, db } = database('wal');
    const before = await sourceFingerprint(spec, data);
    db.prepare("INSERT INTO audit VALUES ('now')").run();
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.exec('VACUUM');
    db.close();
    expect(await sourceFingerprint(spec, data)).toBe(before);
  });

  it('tells a value from the same text of another type, and NULL from an empty string', async () => {
    const fingerprints: string[] = [];
    for (const value of ["'1'", '1', '1.0', "''", 'NULL', "x'31'"]) {
      const { data, db } = database('delete');
      // A column without affinity keeps each value's type as written.
      db.exec(
        `ALTER TABLE profiles ADD COLUMN Extra; UPDATE profiles SET Extra = ${value} WHERE CustomerId = 'C1'`,
      );
      db.close();
      fingerprints.push(await sourceFingerprint(spec, data));
    }
    expect(new Set(fingerprints).size).toBe(fingerprints.length);
  });
});
