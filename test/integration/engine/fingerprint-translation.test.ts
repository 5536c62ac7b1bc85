import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeSnapshotBucket, SnapshotBucketChanges } from '../../../src/engine/snapshot-buckets';
import { fingerprintHalves } from '../../../src/engine/snapshot-fingerprint';
import { applySnapshotChanges } from '../../../src/engine/sqlite/sqlite-snapshot-buckets';
import {
  contactFingerprint,
  contactFingerprintHalves,
  type ExportContact,
  readContacts,
} from '../../../src/profiles';
import { engineFixture, exportWorld, importedItems } from '../../support/export-world';
import { ContactDeduper } from '../../support/reference-dedupe';

type World = Awaited<ReturnType<typeof exportWorld>>;

/** The winners of the world's vip read, by email key (what its snapshot holds). */
async function winners(w: World): Promise<Map<string, ExportContact>> {
  const read = readContacts({
    source: {
      type: 'csv',
      profiles: 'profiles.csv',
      key: 'CustomerId',
      segmentMembership: 'segment-membership.csv',
      segmentField: 'Segment',
    },
    baseDir: w.dataFolder,
    segments: ['VIP'],
    dataMatching: { email: 'EmailAddress', firstName: 'FirstName', lastName: 'LastName' },
    onIssue: () => {},
  });
  const deduper = new ContactDeduper();
  for await (const batch of read.batches()) for (const contact of batch) deduper.add(contact);
  return new Map(deduper.contacts().map((contact) => [contact.emailKey, contact]));
}

/** The vip snapshot's members: email key to fingerprint halves. */
function snapshot(w: World): Map<string, [number, number]> {
  const members = new Map<string, [number, number]>();
  const rows = w.store.sqlite
    .prepare("SELECT data FROM export_snapshot_buckets WHERE destination = 'vip'")
    .pluck()
    .all() as Buffer[];
  for (const data of rows) {
    const bucket = decodeSnapshotBucket(data);
    bucket.keys.forEach((key, index) => {
      members.set(key, [bucket.hi[index] as number, bucket.lo[index] as number]);
    });
  }
  return members;
}

describe('a snapshot holding the SHA-256 fingerprints earlier versions kept', () => {
  it('is translated by the next run, which sends only what changed', async () => {
    const w = await exportWorld(engineFixture('mixed-rows'));
    await w.apply();
    expect((await w.run('vip')).run.status).toBe('succeeded');
    const contacts = await winners(w);
    const held = snapshot(w);
    expect(held.size).toBe(contacts.size);
    for (const [key, contact] of contacts) expect(held.get(key)).toEqual(contactFingerprintHalves(contact));

    // As an earlier version left it: each member under its SHA-256 fingerprint, no unchanged mark.
    const earlier = new SnapshotBucketChanges('vip');
    for (const [key, contact] of contacts) {
      const [hi, lo] = fingerprintHalves(contactFingerprint(contact));
      earlier.put(key, hi, lo, 1);
    }
    applySnapshotChanges(w.store.sqlite, earlier);
    w.store.sqlite.exec('DELETE FROM export_unchanged_marks');
    // And one profile changed since.
    const profiles = join(w.dataFolder, 'profiles.csv');
    writeFileSync(
      profiles,
      readFileSync(profiles, 'utf8').replace(
        'C001,ada.lovelace@example.com,Ada,',
        'C001,ada.lovelace@example.com,Augusta,',
      ),
    );
    const changed = (await winners(w)).get('ada.lovelace@example.com');
    expect(changed?.firstName).toBe('Augusta');

    const before = importedItems(w.sandbox);
    const rerun = await w.run('vip');
    expect(rerun.run.status).toBe('succeeded');
    expect(rerun.record.skipped).toBeNull();
    expect(rerun.record.counts).toMatchObject({ added: 0, updated: 1, unchanged: contacts.size - 1 });
    expect(importedItems(w.sandbox) - before).toBe(1);
    // Every member now holds this version's fingerprint: the next run compares without SHA-256.
    const after = snapshot(w);
    for (const [key, contact] of await winners(w))
      expect(after.get(key)).toEqual(contactFingerprintHalves(contact));
    w.store.sqlite.exec('DELETE FROM export_unchanged_marks');
    const third = await w.run('vip');
    expect(third.record.counts).toMatchObject({ added: 0, updated: 0, unchanged: contacts.size });
    expect(importedItems(w.sandbox) - before).toBe(1);
  });
});
