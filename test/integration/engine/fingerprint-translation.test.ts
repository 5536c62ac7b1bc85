import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunStore } from '../../../src/engine';
import { SnapshotBucketChanges } from '../../../src/engine/snapshot-buckets';
import { fingerprintHalves } from '../../../src/engine/snapshot-fingerprint';
import {
  contactFingerprint,
  contactFingerprintHalves,
  type ExportContact,
  readContacts,
} from '../../../src/profiles';
import { engineFixture, exportWorld, importedItems } from '../../support/export-world';
import { ContactDeduper } from '../../support/reference-dedupe';
import { runStoreBackends } from '../../support/run-store-backends';

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

/** The vip snapshot's members through the port: email key to fingerprint halves. */
async function snapshot(store: RunStore): Promise<Map<string, [number, number]>> {
  const members = new Map<string, [number, number]>();
  for await (const page of store.snapshots.members('vip'))
    for (const [key, high, low] of page) members.set(key, [high, low]);
  return members;
}

describe.each(runStoreBackends)(
  'a snapshot holding the SHA-256 fingerprints earlier versions kept, run store: $name',
  (runStore) => {
    it('is translated by the next run, which sends only what changed', async () => {
      const w = await exportWorld(engineFixture('mixed-rows'), { runStore });
      await w.apply();
      expect((await w.run('vip')).run.status).toBe('succeeded');
      const contacts = await winners(w);
      const held = await snapshot(w.runStore);
      expect(held.size).toBe(contacts.size);
      for (const [key, contact] of contacts) expect(held.get(key)).toEqual(contactFingerprintHalves(contact));

      // As an earlier version left it: each member under its SHA-256 fingerprint (put there by a
      // translation the other way), and no unchanged mark.
      const earlier = new SnapshotBucketChanges('vip');
      for (const [key, contact] of contacts)
        earlier.translate(
          key,
          contactFingerprintHalves(contact),
          fingerprintHalves(contactFingerprint(contact)),
        );
      expect(await w.runStore.snapshots.translate(earlier)).toBe(contacts.size);
      await w.runStore.unchangedMarks.drop('vip');
      // And one profile changed since.
      const profiles = join(w.dataFolder, 'profiles.csv');
      writeFileSync(
        profiles,
        readFileSync(profiles, 'utf8').replace(
          'C001,ada.lovelace@example.com,Ada,',
          'C001,ada.lovelace@example.com,Augusta,',
        ),
      );
      expect((await winners(w)).get('ada.lovelace@example.com')?.firstName).toBe('Augusta');

      const before = importedItems(w.sandbox);
      const rerun = await w.run('vip');
      expect(rerun.run.status).toBe('succeeded');
      expect(rerun.record.skipped).toBeNull();
      expect(rerun.record.counts).toMatchObject({ added: 0, updated: 1, unchanged: contacts.size - 1 });
      expect(importedItems(w.sandbox) - before).toBe(1);
      // Every member now holds this version's fingerprint: the next run compares without SHA-256.
      const after = await snapshot(w.runStore);
      for (const [key, contact] of await winners(w))
        expect(after.get(key)).toEqual(contactFingerprintHalves(contact));
      await w.runStore.unchangedMarks.drop('vip');
      const third = await w.run('vip');
      expect(third.record.counts).toMatchObject({ added: 0, updated: 0, unchanged: contacts.size });
      expect(importedItems(w.sandbox) - before).toBe(1);
    });
  },
);
