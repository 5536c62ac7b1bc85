import { beforeAll, describe, expect, it } from 'vitest';
import { expectedMembers, exportWorld, generatedData, importedItems } from '../../support/export-world';
import { vipListId } from '../../support/sandbox-client';

// 3,000 generated profiles: about 1,450 distinct contacts in Newsletter or VIP.
let data: string;
beforeAll(async () => {
  data = await generatedData(3_000);
});

const segments = ['Newsletter', 'VIP'];

type World = Awaited<ReturnType<typeof exportWorld>>;

/** Takes `emails` off the VIP list, as a person in Constant Contact's UI would. */
function trim(w: World, emails: readonly string[]): void {
  const list = w.sandbox.account.list(vipListId);
  if (!list) throw new Error('no VIP list');
  for (const email of emails) list.members.delete(w.sandbox.account.contacts.find(email));
}

/** Adds a contact to the VIP list by hand (an import of someone else's). */
function addByHand(w: World, email: string): void {
  w.sandbox.account.startImport([{ email }], [vipListId], Date.now());
  w.sandbox.account.finishAll();
}

describe('each run holds the list against what exportctl put there', () => {
  it('a list trimmed outside exportctl ends equal to the selection, re-sending only what it lacks; hand-added members are left alone', async () => {
    const w = await exportWorld(data);
    await w.apply([{ name: 'vip', segments, removal: 'remove-from-list' }]);
    const expected = await expectedMembers(w.dataFolder, segments);
    expect((await w.run('vip')).run.status).toBe('succeeded');
    expect(w.members()).toEqual(expected);

    const trimmed = expected.filter((_, index) => index % 3 === 0);
    trim(w, trimmed);
    addByHand(w, 'added.by.hand@example.org');
    const imported = importedItems(w.sandbox);
    const second = await w.run('vip');
    expect(second.run.status).toBe('succeeded');
    expect(second.record.listCheck).toMatchObject({ exported: true, notExportctls: 1 });
    // What the list lacked: the trimmed contacts, and the unsubscribed ones that never got on it.
    const missing = second.record.listCheck?.missing ?? 0;
    expect(missing).toBeGreaterThanOrEqual(trimmed.length);
    expect(missing - trimmed.length).toBe(second.record.counts.unsubscribed);
    expect(importedItems(w.sandbox) - imported).toBe(missing);
    expect(w.members()).toEqual([...expected, 'added.by.hand@example.org'].sort());

    // The list is as the last run left it: nothing more is asked than the preflight's GET.
    const third = await w.run('vip');
    expect(third.record.listCheck).toMatchObject({ exported: false, missing: 0 });
    expect(third.record.apiCalls.total).toBe(1);
    expect(w.members()).toEqual([...expected, 'added.by.hand@example.org'].sort());
  });

  it('a list emptied outside exportctl is filled again without --full', async () => {
    const w = await exportWorld(data);
    await w.apply([{ name: 'vip', segments }]);
    const expected = await expectedMembers(w.dataFolder, segments);
    expect((await w.run('vip')).run.status).toBe('succeeded');
    trim(w, expected);
    expect(w.members()).toEqual([]);
    const again = await w.run('vip');
    expect(again.run.status).toBe('succeeded');
    expect(again.record.listCheck).toMatchObject({ exported: true, found: 0 });
    expect(w.members()).toEqual(expected);
  });
});
