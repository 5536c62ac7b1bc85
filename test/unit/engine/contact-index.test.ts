import { describe, expect, it } from 'vitest';
import { ContactIndex, compareCodePoints, type IndexedContact } from '../../../src/engine';

const contact = (key: string, emailKey: string, fingerprint: [number, number] = [1, 1]): IndexedContact => ({
  key,
  emailKey,
  email: emailKey.toUpperCase(),
  position: Number(key.replace(/\D/g, '') || 0),
  fingerprint,
});

describe('ContactIndex', () => {
  it('never takes two emails with the same hash for one contact, in the snapshot or the run', () => {
    // Every email collides: only the confirmation on the email's bytes tells them apart.
    const index = new ContactIndex({ hash: () => 7 });
    index.addSnapshotMember('ada@x.io', [5, 5]);
    index.addSnapshotMember('bob@x.io', [6, 6]);
    // Same hash and the same fingerprint as ada's snapshot row: still a new contact, not ada unchanged.
    const cy = index.offer(contact('C3', 'cy@x.io', [5, 5]));
    expect(cy.kind).toBe('winner');
    if (cy.kind === 'winner') expect(index.snapshotState(cy.entry)).toBe(0);
    const bob = index.offer(contact('C2', 'bob@x.io', [6, 6]));
    if (bob.kind === 'winner') expect(index.snapshotState(bob.entry)).toBe(1);
    // A profile of another email that shares the hash is not a duplicate of cy.
    expect(index.offer(contact('C9', 'dan@x.io')).kind).toBe('winner');
    expect(index.counts()).toEqual({ contacts: 3, adds: 2, updates: 0, unchanged: 1 });
    expect([...index.leaverEmails()]).toEqual(['ada@x.io']);
    expect(index.leavers()).toBe(1);
  });

  it('confirms non-ASCII emails on their bytes too', () => {
    const index = new ContactIndex({ hash: () => 1 });
    index.addSnapshotMember('josé@x.io', [1, 1]);
    for (const [key, email] of [
      ['K1', 'jose@x.io'],
      ['K2', 'josé@x.io'],
      ['K3', 'jos\u{1F600}@x.io'],
      ['K4', 'josè@x.io'],
    ] as const) {
      expect(index.offer(contact(key, email)).kind).toBe('winner');
    }
    expect(index.offer(contact('K9', 'josé@x.io'))).toEqual({ kind: 'loser', winnerKey: 'K2' });
    expect(index.counts()).toEqual({ contacts: 4, adds: 3, updates: 0, unchanged: 1 });
  });

  it('takes snapshot members as UTF-8 bytes exactly as it takes them as strings', () => {
    const emails = ['ada@x.io', 'josé@x.io', 'bob@x.io', 'ada@x.io', 'jos\u{1F600}@x.io', 'cy@x.io'];
    const bytes = Buffer.from(`--${emails.join('|')}`);
    // The default hash (bytes hashed as they are when ASCII) and an injected weak one (decoded).
    for (const options of [{}, { hash: () => 3 }]) {
      const byString = new ContactIndex(options);
      const byBytes = new ContactIndex(options);
      let at = 2;
      emails.forEach((email, index) => {
        byString.addSnapshotMember(email, [index, 7]);
        const end = at + Buffer.byteLength(email);
        byBytes.addSnapshotMemberBytes(bytes, at, end, index, 7);
        at = end + 1;
      });
      expect(byBytes.entries).toBe(5);
      for (const index of [byString, byBytes]) {
        // ada@x.io was given twice: the later fingerprint holds.
        const ada = index.offer(contact('K1', 'ada@x.io', [3, 7]));
        if (ada.kind === 'winner') expect(index.snapshotState(ada.entry)).toBe(1);
        const jose = index.offer(contact('K2', 'josé@x.io', [1, 7]));
        if (jose.kind === 'winner') expect(index.snapshotState(jose.entry)).toBe(1);
        const new1 = index.offer(contact('K3', 'dan@x.io', [9, 9]));
        if (new1.kind === 'winner') expect(index.snapshotState(new1.entry)).toBe(0);
      }
      expect([...byBytes.leaverEmails()].sort()).toEqual([...byString.leaverEmails()].sort());
      expect(byBytes.counts()).toEqual(byString.counts());
    }
  });

  it('keeps per email the profile with the smallest key by code point, whatever came first', () => {
    const index = new ContactIndex({ hash: (email) => email.length });
    const first = index.offer(contact('\u{1F600}', 'e@x.io', [1, 2]));
    expect(first).toMatchObject({ kind: 'winner', displaced: undefined });
    if (first.kind === 'winner') index.setStaged(first.entry, 4);
    // U+E000 sorts before an astral character by code point (not by UTF-16 code unit).
    const second = index.offer(contact('\uE000', 'e@x.io', [1, 3]));
    expect(second).toMatchObject({
      kind: 'winner',
      displaced: { key: '\u{1F600}', email: 'E@X.IO', seq: 4 },
    });
    expect(index.offer(contact('\uF000', 'e@x.io'))).toEqual({ kind: 'loser', winnerKey: '\uE000' });
    expect(index.counts()).toMatchObject({ contacts: 1, adds: 1 });
    expect(compareCodePoints('\uE000', '\u{1F600}')).toBeLessThan(0);
    expect('\uE000' < '\u{1F600}').toBe(false);
  });

  it('compares a winner’s fingerprint with the snapshot’s: unchanged, changed or new', () => {
    const index = new ContactIndex();
    index.addSnapshotMember('a@x.io', [1, 2]);
    index.addSnapshotMember('b@x.io', [1, 2]);
    index.addSnapshotMember('gone@x.io', [0, 0]);
    // A winner's result is read before the next offer (the index reuses it).
    const state = (offered: ReturnType<typeof index.offer>) =>
      offered.kind === 'winner' ? index.snapshotState(offered.entry) : -1;
    expect(state(index.offer(contact('K1', 'a@x.io', [1, 2])))).toBe(1);
    expect(state(index.offer(contact('K2', 'b@x.io', [1, 3])))).toBe(2);
    expect(state(index.offer(contact('K3', 'c@x.io', [1, 2])))).toBe(0);
    expect([...index.leaverEmails()]).toEqual(['gone@x.io']);
  });

  it('grows and rehashes without losing an entry, even when most emails collide', () => {
    const index = new ContactIndex({ hash: (email) => email.length % 5 });
    const emails = Array.from({ length: 5000 }, (_, n) => `person.${n}@example.com`);
    for (const email of emails.slice(0, 2500)) index.addSnapshotMember(email, [9, 9]);
    for (const [n, email] of emails.entries()) index.offer(contact(`K${n}`, email, [9, n < 1000 ? 9 : 8]));
    expect(index.entries).toBe(5000);
    expect(index.counts()).toEqual({ contacts: 5000, adds: 2500, updates: 1500, unchanged: 1000 });
    expect(index.leavers()).toBe(0);
  });
});

describe('ContactIndex: what a displaced winner is given back', () => {
  it('gives back its key, email as sent and position exactly, whatever their size or kind', () => {
    const long = 'k'.repeat(200);
    const longer = `${'é'.repeat(6000)}x`;
    const cases: { key: string; email: string; position: number }[] = [
      { key: 'K1', email: 'a@x.io', position: 0 },
      { key: 'K2', email: 'A@X.IO', position: 1 },
      { key: 'jos\u{1F600}', email: 'José@X.io', position: 2 ** 40 + 3 },
      { key: long, email: 'a@x.io', position: 127 },
      { key: longer, email: `${'É'.repeat(50)}@x.io`, position: 2 ** 52 },
      // A SQLite rowid may be negative; a jsonl row number is whole, but nothing is assumed.
      { key: 'K6', email: 'a@x.io', position: -42 },
      { key: 'K7', email: 'a@x.io', position: 2 ** 53 },
      { key: 'K8', email: 'a@x.io', position: 1.5 },
    ];
    for (const [n, held] of cases.entries()) {
      const index = new ContactIndex({ hash: () => 3 });
      const emailKey = held.email.toLowerCase();
      index.addSnapshotMember('other@x.io', [1, 1]);
      const first = index.offer({ ...held, emailKey, fingerprint: [n, 1] });
      if (first.kind === 'winner') index.setStaged(first.entry, n);
      // '' sorts before every key: it displaces the first.
      const second = index.offer({ key: '', emailKey, email: emailKey, position: 9, fingerprint: [n, 1] });
      expect(second).toEqual({
        kind: 'winner',
        entry: 1,
        displaced: { key: held.key, email: held.email, position: held.position, seq: n },
      });
      expect(index.offer({ key: 'zz', emailKey, email: emailKey, position: 1, fingerprint: [1, 1] })).toEqual(
        {
          kind: 'loser',
          winnerKey: '',
        },
      );
    }
  });

  it('takes the snapshot first: a member added after an offer is refused', () => {
    const index = new ContactIndex();
    index.offer(contact('K1', 'a@x.io'));
    expect(() => index.addSnapshotMember('b@x.io', [1, 1])).toThrow(/before the first offer/);
    expect(() => index.addSnapshotMemberBytes(Buffer.from('b@x.io'), 0, 6, 1, 1)).toThrow(
      /before the first offer/,
    );
  });

  it('translates a snapshot fingerprint from the earlier scheme only from the one it holds', () => {
    const index = new ContactIndex();
    index.addSnapshotMember('a@x.io', [0xfffffff0, 7]);
    const offered = index.offer(contact('K1', 'a@x.io', [3, 4]));
    if (offered.kind !== 'winner') throw new Error('a winner was expected');
    expect(index.snapshotState(offered.entry)).toBe(2);
    expect(index.mayHoldEarlierFingerprint(offered.entry)).toBe(true);
    expect(index.translateSnapshot(offered.entry, [0xfffffff0, 8], [3, 4])).toBeUndefined();
    expect(index.snapshotState(offered.entry)).toBe(2);
    expect(index.translateSnapshot(offered.entry, [0xfffffff0, 7], [3, 4])).toEqual([0xfffffff0, 7]);
    expect(index.snapshotState(offered.entry)).toBe(1);
    expect(index.mayHoldEarlierFingerprint(offered.entry)).toBe(false);
    expect(index.counts()).toEqual({ contacts: 1, adds: 0, updates: 0, unchanged: 1 });
  });
});

describe('ContactIndex.reserve', () => {
  it('keeps every entry and answer when room is made before, between and after offers', () => {
    const reserved = new ContactIndex();
    const grown = new ContactIndex();
    reserved.reserve(50_000);
    for (const index of [reserved, grown]) {
      index.addSnapshotMember('ada@x.io', [5, 5]);
      for (let n = 0; n < 30_000; n++) index.offer(contact(`C${n}`, `p${n}@x.io`, [n, 1]));
    }
    reserved.reserve(0);
    reserved.reserve(-5);
    reserved.reserve(100_000);
    for (const index of [reserved, grown]) {
      index.offer(contact('C1', 'ada@x.io', [5, 5]));
      index.offer(contact('A0', 'p7@x.io', [7, 1]));
    }
    expect(reserved.entries).toBe(grown.entries);
    expect(reserved.counts()).toEqual(grown.counts());
    expect(reserved.counts()).toEqual({ contacts: 30_001, adds: 30_000, updates: 0, unchanged: 1 });
    const loser = reserved.offer(contact('Z9', 'p7@x.io'));
    expect(loser).toEqual({ kind: 'loser', winnerKey: 'A0' });
  });
});
