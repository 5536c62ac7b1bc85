import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  engineFixture,
  expectedMembers,
  exportWorld,
  generatedData,
  unsubscribedEmails,
} from '../../support/export-world';
import { runStoreBackends } from '../../support/run-store-backends';

// 6,000 generated profiles: about 2,900 in Newsletter or VIP, of which about 2,300 are not in VIP.
let data: string;
beforeAll(async () => {
  data = await generatedData(6_000);
});

function removalActivities(w: Awaited<ReturnType<typeof exportWorld>>) {
  return w.sandbox.account.activities().filter((activity) => activity.kind === 'remove');
}

describe.each(runStoreBackends)('removals (remove-from-list), run store: $name', (runStore) => {
  it('removes the contacts that left the selection, in calls of at most 500 contact IDs found in bulk', async () => {
    const w = await exportWorld(data, { runStore });
    await w.apply([
      { name: 'vip', segments: ['Newsletter', 'VIP'], removal: 'remove-from-list', maxRemovalPercent: 100 },
    ]);
    expect((await w.run('vip')).run.status).toBe('succeeded');
    const before = w.members();
    expect(before).toEqual(await expectedMembers(w.dataFolder, ['Newsletter', 'VIP']));

    await w.apply([{ name: 'vip', segments: ['VIP'], removal: 'remove-from-list', maxRemovalPercent: 100 }]);
    const result = await w.run('vip');

    expect(result.run.status).toBe('succeeded');
    const after = w.members();
    expect(after).toEqual(await expectedMembers(w.dataFolder, ['VIP']));
    const removed = before.length - after.length;
    expect(removed).toBeGreaterThan(1_500);
    expect(result.record.counts.removed).toBe(removed);
    const calls = removalActivities(w);
    expect(
      calls.map((activity) => activity.counters.items_total_count).every((items) => (items ?? 0) <= 500),
    ).toBe(true);
    expect(calls).toHaveLength(Math.ceil(removed / 500));
    expect(result.record.plan).toMatchObject({ removals: removed, removalCalls: Math.ceil(removed / 500) });
    // The list has more than 2,500 members: its contact IDs come from one export, not from paging,
    // and never from a request per contact; the plan reads them (the guard counts the leavers on the
    // list), and the removal phase does not read them again.
    const { plan, remove = {} } = result.record.apiCalls.byPhase;
    expect(plan?.['POST /activities/contact_exports']).toBe(1);
    expect(plan?.['GET /contacts'] ?? 0).toBe(0);
    expect(remove['POST /activities/contact_exports'] ?? 0).toBe(0);
    expect(remove['GET /contact_lists/{list_id}'] ?? 0).toBe(0);
    expect(remove['POST /activities/remove_list_memberships']).toBe(Math.ceil(removed / 500));
    // Confirmed removals left the snapshot: the next run removes nothing and writes nothing.
    const again = await w.run('vip');
    expect(again.record.apiCalls.writes).toBe(0);
    expect(again.record.plan?.removals).toBe(0);
  });

  it('aborts before sending anything (imports included) when the removals exceed maxRemovalPercent', async () => {
    const w = await exportWorld(data, { runStore });
    await w.apply([
      { name: 'vip', segments: ['Newsletter', 'VIP'], removal: 'remove-from-list', maxRemovalPercent: 10 },
    ]);
    await w.run('vip');
    const before = w.members();
    await w.apply([{ name: 'vip', segments: ['VIP'], removal: 'remove-from-list', maxRemovalPercent: 10 }]);
    const profiles = join(w.dataFolder, 'profiles.csv');
    writeFileSync(profiles, readFileSync(profiles, 'utf8').replace(/^(C0000001,[^,]*,)[^,]*/m, '$1Renamed'));
    const writes = w.sandbox.stats().byRoute;

    const result = await w.run('vip');

    expect(result.run.status).toBe('aborted');
    expect(result.error?.code).toBe('removal-guard');
    expect(result.error?.message).toMatch(
      /would remove [\d,]+ contacts, \d+% of the [\d,]+ members of the list, more than maxRemovalPercent 10%; nothing was sent/,
    );
    expect(result.record.plan?.removalGuard).toMatchObject({
      basis: 'list',
      allowed: false,
      maxRemovalPercent: 10,
    });
    // Only reads: the preflight, and the list's members (one export) that tell the guard which
    // leavers are on the list. No import, no removal.
    const after = w.sandbox.stats().byRoute;
    const changed = Object.keys(after).filter((route) => after[route] !== writes[route]);
    expect(changed.sort()).toEqual([
      'GET /v3/activities/{activity_id}',
      'GET /v3/contact_exports/{file_export_id}',
      'GET /v3/contact_lists/{list_id}',
      'POST /v3/activities/contact_exports',
    ]);
    expect(result.record.apiCalls.writes).toBe(0);
    expect(w.members()).toEqual(before);
  });

  it('the guard counts only the leavers the list holds, not unsubscribed contacts that never got on it', async () => {
    // mixed-rows: 7 contacts in VIP, 2 of them unsubscribed in Constant Contact (C007, C008), so the
    // snapshot holds 7 and the list 5.
    const w = await exportWorld(engineFixture('mixed-rows'), { runStore });
    await w.apply([{ name: 'vip', removal: 'remove-from-list', maxRemovalPercent: 25 }]);
    expect((await w.run('vip')).run.status).toBe('succeeded');
    expect(w.members()).toHaveLength(5);
    // C001 (on the list) and the two unsubscribed contacts leave the selection: 1 of the list's 5
    // members goes, 20%, within 25%. Counting the 3 snapshot members would make it 60%.
    const membership = join(w.dataFolder, 'segment-membership.csv');
    writeFileSync(membership, readFileSync(membership, 'utf8').replace(/^C00[178],VIP\n/gm, ''));

    const result = await w.run('vip');

    expect(result.error).toBeUndefined();
    expect(result.run.status).toBe('succeeded');
    expect(result.record.plan?.removalGuard).toEqual({
      basis: 'list',
      base: 5,
      removals: 1,
      percent: 20,
      maxRemovalPercent: 25,
      allowed: true,
    });
    // One number everywhere: the plan, the counts and the list say 1 removed.
    expect(result.record.plan?.removals).toBe(1);
    expect(result.record.counts.removed).toBe(1);
    expect(w.members()).not.toContain('ada.lovelace@example.com');
    expect(w.members()).toHaveLength(4);
    for (const email of unsubscribedEmails) expect(w.members()).not.toContain(email);
    // The unsubscribed leavers left the snapshot too: the next run has nothing to remove.
    expect((await w.run('vip')).record.plan?.removals).toBe(0);
  });

  it('keep never removes: contacts that left stay on the list', async () => {
    const w = await exportWorld(data, { runStore });
    await w.apply([{ name: 'vip', segments: ['Newsletter', 'VIP'] }]);
    await w.run('vip');
    const before = w.members();
    await w.apply([{ name: 'vip', segments: ['VIP'] }]);
    const result = await w.run('vip');
    expect(result.run.status).toBe('succeeded');
    expect(w.members()).toEqual(before);
    expect(result.record.plan?.removals).toBe(0);
    expect(result.record.plan?.kept).toBeGreaterThan(1_500);
    expect(removalActivities(w)).toEqual([]);
  });
});
