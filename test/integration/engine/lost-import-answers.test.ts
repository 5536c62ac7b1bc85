import nock from 'nock';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { expectedMembers, exportWorld, fastTuning, generatedData } from '../../support/export-world';
import { vipListId, winBackListId } from '../../support/sandbox-client';

// 3,000 generated profiles: about 1,450 distinct contacts in Newsletter or VIP, one import call.
let data: string;
beforeAll(async () => {
  data = await generatedData(3_000);
});

afterEach(() => {
  nock.cleanAll();
});

const segments = ['Newsletter', 'VIP'];

/** Answers the next import request 500 without it reaching the sandbox: no activity is created. */
function failNextImport(apiUrl: string): nock.Scope {
  const api = new URL(apiUrl);
  return nock(api.origin, { allowUnmocked: true })
    .post(`${api.pathname}/activities/contacts_json_import`)
    .once()
    .reply(500, [{ error_key: 'server_error', error_message: 'Internal server error' }]);
}

describe('a run that fails after its import was sent', () => {
  it('leaves the sent contacts to the next run: those no longer selected are removed, not left on the list untracked', async () => {
    const w = await exportWorld(data);
    await w.apply([{ name: 'vip', segments, removal: 'remove-from-list', maxRemovalPercent: 100 }]);
    // The import is carried out, but every look at activities fails: the run gives up unconfirmed.
    const api = new URL(w.sandbox.apiUrl);
    const scope = nock(api.origin, { allowUnmocked: true })
      .get((path) => path.startsWith(`${api.pathname}/activities`))
      .reply(500, [{ error_key: 'server_error', error_message: 'Internal server error' }])
      .persist();
    const failed = await w.run('vip');
    scope.persist(false);
    nock.cleanAll();
    expect(failed.run.status).toBe('failed');
    expect(w.sandbox.account.activities().filter((activity) => activity.kind === 'import')).toHaveLength(1);
    w.sandbox.account.finishAll();
    expect(w.members().length).toBeGreaterThan(0);

    // VIP leaves the selection: its members exportctl sent must leave the list too.
    await w.apply([
      { name: 'vip', segments: ['Newsletter'], removal: 'remove-from-list', maxRemovalPercent: 100 },
    ]);
    const next = await w.run('vip');
    expect(next.run.status).toBe('succeeded');
    expect(w.members()).toEqual(await expectedMembers(w.dataFolder, ['Newsletter']));
  });
});

describe('an import whose answer was an error', () => {
  it("is sent again, not matched to a finished run's activity of the same size on another list", async () => {
    const w = await exportWorld(data);
    // Two destinations of the same segments on two lists: their import calls carry equal counts.
    await w.apply([
      { name: 'vip', segments },
      { name: 'winback', segments, listId: winBackListId },
    ]);
    const expected = await expectedMembers(w.dataFolder, segments);
    const first = await w.run('vip');
    expect(first.run.status).toBe('succeeded');
    expect(w.members(vipListId)).toEqual(expected);

    const scope = failNextImport(w.sandbox.apiUrl);
    const second = await w.run('winback', { tuning: fastTuning() });
    expect(scope.isDone()).toBe(true);
    expect(second.run.status).toBe('succeeded');
    expect(w.members(winBackListId)).toEqual(expected);
    // The 500 created nothing: the batch was sent again and imported once, into its own list.
    const imports = w.sandbox.account.activities().filter((activity) => activity.kind === 'import');
    expect(imports).toHaveLength(2);

    // And the next run has nothing to fix: the snapshot is what the list holds.
    const third = await w.run('winback');
    expect(third.record.counts.unchanged).toBe(third.record.counts.contacts);
    expect(w.sandbox.account.activities().filter((activity) => activity.kind === 'import')).toHaveLength(2);
  });

  it("is sent again when the one activity that fits was another tool's import of the same size into another list", async () => {
    const w = await exportWorld(data);
    await w.apply([{ name: 'vip', segments }]);
    const expected = await expectedMembers(w.dataFolder, segments);
    const count = (await w.run('vip', { dryRun: true })).record.counts.contacts;
    // Someone else's import on the same account, just before ours: as many contacts, another list.
    const lookalike = Array.from({ length: count }, (_, index) => ({ email: `other.${index}@example.org` }));
    w.sandbox.account.startImport(lookalike, [winBackListId], Date.now());

    const scope = failNextImport(w.sandbox.apiUrl);
    const result = await w.run('vip');
    expect(scope.isDone()).toBe(true);
    expect(result.run.status).toBe('succeeded');
    expect(w.members(vipListId)).toEqual(expected);
  });

  it('adopts the activity a lost answer created when the list holds the batch, without importing it twice', async () => {
    const w = await exportWorld(data);
    await w.apply([{ name: 'vip', segments }]);
    const expected = await expectedMembers(w.dataFolder, segments);
    // The import is carried out, but its answer comes too late for the client: an answer lost in
    // the air, which the run finds among the recent activities.
    w.sandbox.setFaults({ slow: 1, slowMs: 1_500, paths: ['/v3/activities/contacts_json_import'], seed: 1 });
    const result = await w.run('vip', {
      tuning: fastTuning({
        client: { ...fastTuning().client, timeouts: { requestMs: 5_000, importMs: 300 } },
      }),
    });
    w.sandbox.setFaults({});
    expect(result.run.status).toBe('succeeded');
    expect(w.members(vipListId)).toEqual(expected);
    const imports = w.sandbox.account.activities().filter((activity) => activity.kind === 'import');
    expect(imports).toHaveLength(1);
  });
});
