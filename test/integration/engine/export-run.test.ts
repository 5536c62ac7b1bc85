import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderRunSummary } from '../../../src/cli/render-run';
import { exportRunRecord, maxContactsPerDestination, runExport } from '../../../src/engine';
import { destinationLock } from '../../../src/state';
import { runEngineStateFor } from '../../../src/wiring';
import {
  engineFixture,
  expectedMembers,
  exportWorld,
  fastTuning,
  importedItems,
  winBackListId,
} from '../../support/export-world';

describe('an export run (sandbox over HTTP, SQLite state file)', () => {
  it('exports the selected contacts exactly: row errors, a duplicate, case variants, unsubscribed contacts', async () => {
    const w = await exportWorld(engineFixture('mixed-rows'));
    await w.apply();
    const result = await w.run('vip');

    expect(result.run.status).toBe('succeeded');
    expect(result.error).toBeUndefined();
    // C002 and C006 share a mailbox (case differs): C002 wins; C003's email is trimmed; C007 and C008
    // (C008 in other case) unsubscribed in Constant Contact and are not added; C004/C005 are invalid.
    expect(w.members()).toEqual([
      'ada.lovelace@example.com',
      'alan.turing@example.com',
      'barbara.liskov@example.com',
      'grace.hopper@example.com',
      'katherine.johnson@example.com',
    ]);
    expect(w.members()).toEqual(await expectedMembers(w.dataFolder, ['VIP']));
    const contacts = w.sandbox.account.contacts;
    expect(contacts.lastName(contacts.find('grace.hopper@example.com'))).toBe('Hopper');
    const { counts, rowIssues, plan, apiCalls } = result.record;
    expect(counts).toMatchObject({
      read: 11,
      membershipRows: 12,
      inSegments: 10,
      invalid: 2,
      duplicate: 1,
      contacts: 7,
      added: 7,
      updated: 0,
      unchanged: 0,
      imported: 7,
      unsubscribed: 2,
      removed: 0,
      rejected: 0,
    });
    expect(plan).toMatchObject({ adds: 7, importCalls: 1, removals: 0 });
    expect(apiCalls.writes).toBe(1);
    expect(apiCalls.byPhase.import?.['POST /activities/contacts_json_import']).toBe(1);
    // Every phase of the run is timed; the phases add up to the total, which fits in the run.
    const { total, ...phases } = result.record.timingsMs;
    expect(Object.keys(phases)).toEqual(expect.arrayContaining(['read', 'plan', 'import']));
    expect(Object.values(phases).reduce((sum, ms) => sum + (ms ?? 0), 0)).toBeCloseTo(total ?? -1, 0);
    expect(total).toBeLessThanOrEqual((result.run.finishedAt ?? 0) - result.run.startedAt + 5);
    expect(rowIssues.byCode).toEqual({
      'invalid-email': 1,
      'missing-email': 1,
      'duplicate-email': 1,
      'name-truncated': 1,
    });
    // In the state, not in a file beside it.
    expect(rowIssues.csv).toBeNull();
    const csv = (await w.rowIssueCsv(result.run.id)).split('\n');
    expect(csv).toHaveLength(1 + 4 + 1);
    expect(csv[0]).toBe('key,field,reason,where,severity,code');
    expect(csv.filter((line) => line.startsWith('C004,EmailAddress,'))[0]).toMatch(
      /profiles\.csv:5,error,invalid-email$/,
    );
    expect(csv.filter((line) => line.startsWith('C006,'))[0]).toMatch(
      /\(GRACE\.HOPPER@example\.com\); only C002 is exported.*,profiles\.csv:7,warning,duplicate-email$/,
    );
    expect(csv.filter((line) => line.startsWith('C009,FirstName,'))[0]).toMatch(/warning,name-truncated$/);

    // The history has it, with who and why.
    const [last] = await w.store.runs.list({ destination: 'vip' });
    expect(last).toMatchObject({
      id: result.run.id,
      status: 'succeeded',
      trigger: 'manual',
      actor: 'tester@example.com',
    });
    expect(exportRunRecord(last as never)?.counts.imported).toBe(7);
  });

  it('a rerun without changes writes nothing; a changed name is all a rerun sends; --full sends everything', async () => {
    const w = await exportWorld(engineFixture('mixed-rows'));
    await w.apply();
    await w.run('vip');
    const before = importedItems(w.sandbox);

    const again = await w.run('vip');
    expect(again.record.apiCalls.writes).toBe(0);
    expect(again.record.counts).toMatchObject({ unchanged: 7, added: 0, updated: 0, imported: 0 });
    expect(importedItems(w.sandbox)).toBe(before);

    const profiles = join(w.dataFolder, 'profiles.csv');
    // Two changes far apart in email order (1st and 6th of 7): the batch picks them by key.
    writeFileSync(
      profiles,
      readFileSync(profiles, 'utf8')
        .replace('C001,ada.lovelace@example.com,Ada,', 'C001,ADA.LOVELACE@example.com,Augusta Ada,')
        .replace('Rosalind,Johnson', 'Rosalind,Johnson-Smith'),
    );
    const changed = await w.run('vip');
    expect(changed.record.counts).toMatchObject({ updated: 2, unchanged: 5, imported: 2 });
    expect(changed.record.apiCalls.writes).toBe(1);
    expect(importedItems(w.sandbox)).toBe(before + 2);
    const contacts = w.sandbox.account.contacts;
    expect(contacts.firstName(contacts.find('ada.lovelace@example.com'))).toBe('Augusta Ada');
    expect(contacts.lastName(contacts.find('katherine.johnson@example.com'))).toBe('Johnson-Smith');
    expect(w.members()).toEqual(await expectedMembers(w.dataFolder, ['VIP']));

    const full = await w.run('vip', { full: true });
    expect(full.record.full).toBe(true);
    expect(full.record.counts).toMatchObject({ unchanged: 7, imported: 7 });
    expect(importedItems(w.sandbox)).toBe(before + 2 + 7);
  });

  it('--dry-run plans from the source and the snapshot, sends nothing (not even a GET), and changes no snapshot', async () => {
    const w = await exportWorld(engineFixture('mixed-rows'));
    await w.apply();
    await w.run('vip');
    const profiles = join(w.dataFolder, 'profiles.csv');
    writeFileSync(
      profiles,
      `${readFileSync(profiles, 'utf8').replace('Barbara,', 'Barb,')}C012,new.person@example.com,New,Person\n`,
    );
    writeFileSync(
      join(w.dataFolder, 'segment-membership.csv'),
      `${readFileSync(join(w.dataFolder, 'segment-membership.csv'), 'utf8')}C012,VIP\n`,
    );
    const requests = w.sandbox.requests(10_000).length;
    const stats = w.sandbox.stats();

    const dry = await w.run('vip', { dryRun: true });

    expect(w.sandbox.requests(10_000).length).toBe(requests);
    expect(w.sandbox.stats().tokenRequests).toBe(stats.tokenRequests);
    expect(w.sandbox.stats().total).toBe(stats.total);
    expect(dry.run.status).toBe('succeeded');
    expect(dry.record.dryRun).toBe(true);
    expect(dry.record.apiCalls.total).toBe(0);
    expect(dry.record.plan).toMatchObject({
      contacts: 8,
      adds: 1,
      updates: 1,
      unchanged: 6,
      removals: 0,
      toImport: 2,
      importCalls: 1,
      removalCalls: 0,
      requestsPerSecond: 100,
      resumesRun: null,
    });
    // The snapshot is as it was: the real run finds the same plan.
    const real = await w.run('vip');
    expect(real.record.counts).toMatchObject({ added: 1, updated: 1, unchanged: 6, imported: 2 });
  });

  it('fails before sending anything when the selection exceeds the contact limit', async () => {
    const w = await exportWorld(engineFixture('mixed-rows'));
    await w.apply();
    // The limit is 1,000,000 (tested here at 6: a million contacts would take this suite too long).
    expect(maxContactsPerDestination).toBe(1_000_000);
    const result = await w.run('vip', { tuning: fastTuning({ contactLimit: 6 }) });
    expect(result.run.status).toBe('failed');
    expect(result.error?.code).toBe('contact-limit-exceeded');
    expect(result.error?.message).toMatch(
      /selects 7 distinct contacts, more than the 6 one destination may export; nothing was sent/,
    );
    expect(w.sandbox.stats().byRoute['POST /v3/activities/contacts_json_import'] ?? 0).toBe(0);
    expect(w.members()).toEqual([]);
    expect(result.record.error?.code).toBe('contact-limit-exceeded');
    // The record and the summary count what the limit counted: distinct contacts after the dedupe
    // (8 valid rows, C002 and C006 one mailbox), not rows.
    expect(result.record.counts).toMatchObject({ read: 11, invalid: 2, duplicate: 1, contacts: 7 });
    expect(renderRunSummary(result).join('\n')).toMatch(/; 7 distinct contacts$/m);
    // Nothing is left to resume: the next run plans afresh.
    expect((await w.run('vip')).record.counts.imported).toBe(7);
  });

  it('never lets two runs of one destination overlap: the second is told who holds it', async () => {
    const w = await exportWorld(engineFixture('mixed-rows'));
    await w.apply();
    const held = await w.store.locks.acquire(destinationLock('vip'), {
      identity: 'ops@example.com',
      command: 'run vip',
    });
    const waited: string[] = [];
    await expect(
      w.run('vip', { lockTimeoutMs: 50, onLockWait: (holder) => waited.push(holder.identity) }),
    ).rejects.toMatchObject({ code: 'lock-timeout', message: expect.stringContaining('ops@example.com') });
    expect(waited).toEqual(['ops@example.com']);
    await held.release();
    expect((await w.run('vip')).run.status).toBe('succeeded');
  });

  it('runs two destinations of one connection side by side, each list exact', async () => {
    const w = await exportWorld(engineFixture('mixed-rows'));
    await w.apply([{ name: 'vip' }, { name: 'newsletter', listId: winBackListId, segments: ['Newsletter'] }]);
    const [vip, newsletter] = await Promise.all([w.run('vip'), w.run('newsletter')]);
    expect([vip.run.status, newsletter.run.status]).toEqual(['succeeded', 'succeeded']);
    expect(w.members()).toEqual(await expectedMembers(w.dataFolder, ['VIP']));
    expect(w.members(winBackListId)).toEqual(['barbara.liskov@example.com', 'edsger.dijkstra@example.com']);
  });

  it('drops the snapshot and checkpoint of a destination that is deleted (or replaced)', async () => {
    const w = await exportWorld(engineFixture('mixed-rows'));
    await w.apply();
    await w.run('vip');
    const rows = () =>
      (
        w.store.sqlite
          .prepare("SELECT count(*) AS n FROM export_snapshots WHERE destination = 'vip'")
          .get() as { n: number }
      ).n;
    expect(rows()).toBe(7);
    await w.store.resources.delete('ExportDestination', 'vip', 'exportctl');
    expect(rows()).toBe(0);
    await expect(runExport({ store: runEngineStateFor(w.store), destination: 'vip' })).rejects.toMatchObject({
      code: 'destination-not-applied',
    });
  });
});
