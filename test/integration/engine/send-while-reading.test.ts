import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import type {
  ImportBatchStore,
  PlannedImportBatch,
  RunEngineState,
  RunExportOptions,
  RunStore,
} from '../../../src/engine';
import { runEngineStateFor } from '../../../src/wiring';
import {
  type ExportWorld,
  expectedMembers,
  exportWorld,
  fastTuning,
  importedItems,
} from '../../support/export-world';
import { runStoreBackends } from '../../support/run-store-backends';
import { tempFolder } from '../../support/temp-folder';

const header = 'CustomerId,EmailAddress,FirstName,LastName';
const key = (index: number) => `C${String(index).padStart(6, '0')}`;
const row = (index: number) => `${key(index)},u${index}@example.com,First${index},Last${index}`;

/** A data folder of `count` profiles, all in VIP, with `before` and `after` rows around them. */
function writeData(count: number, extra: { before?: string[]; after?: string[] } = {}): string {
  const folder = join(tempFolder(), 'data');
  mkdirSync(folder, { recursive: true });
  const rows = [
    ...(extra.before ?? []),
    ...Array.from({ length: count }, (_, index) => row(index)),
    ...(extra.after ?? []),
  ];
  writeFileSync(join(folder, 'profiles.csv'), `${header}\n${rows.join('\n')}\n`);
  const keys = rows.map((line) => line.slice(0, line.indexOf(',')));
  writeFileSync(
    join(folder, 'segment-membership.csv'),
    `CustomerId,Segment\n${keys.map((k) => `${k},VIP`).join('\n')}\n`,
  );
  return folder;
}

// 150 contacts per import call: a file of 20,000 profiles is read in about 15 chunks (one read batch
// each) and cut into 134 batches, the first ones cut from the first chunk.
const smallBatches = { maxContacts: 150, maxBodyBytes: 4_000_000 };
const tuning = () => fastTuning({ importBatchLimits: smallBatches });

/**
 * The world's state with its import batch store watched: the batches planned (as the engine cut
 * them) and `onSubmitted` called after each batch marked submitted (its request answered).
 */
function watchedState(w: ExportWorld, onSubmitted: (batch: number) => void = () => {}) {
  const base = runEngineStateFor(w.store);
  const inner = w.runStore;
  const planned: PlannedImportBatch[] = [];
  const imports: ImportBatchStore = Object.create(inner.imports);
  imports.plan = async (runId, batch, batchPlan) => {
    await inner.imports.plan(runId, batch, batchPlan);
    planned.push(batchPlan);
  };
  imports.markSubmitted = async (runId, batch, activityId, how) => {
    await inner.imports.markSubmitted(runId, batch, activityId, how);
    onSubmitted(batch);
  };
  const runStore: RunStore = Object.create(inner, { imports: { value: imports } });
  const state: RunEngineState = { ...base, runStore };
  return { state, planned };
}

const isImport = (event: { method: string; pathTemplate: string }) =>
  event.method === 'POST' && event.pathTemplate === '/activities/contacts_json_import';

/** Run hooks that note the phase and the profile rows read when the first import request went. */
function watchFirstImport() {
  let latest = { phase: '', profileRows: 0 };
  const watch: {
    seen: { phase: string; profileRows: number } | undefined;
    readonly hooks: Pick<RunExportOptions, 'onProgress' | 'onRequest'>;
  } = {
    seen: undefined,
    hooks: {
      onProgress: (progress) => {
        latest = { phase: progress.phase, profileRows: progress.profileRows };
      },
      onRequest: (event) => {
        if (isImport(event)) watch.seen ??= { ...latest };
      },
    },
  };
  return watch;
}

describe.each(runStoreBackends)('sending while reading, run store: $name', (runStore) => {
  it('sends the first batches while the source is still read, and ends exact', async () => {
    const w = await exportWorld(writeData(20_000), { runStore });
    await w.apply([{ name: 'vip', removal: 'remove-from-list' }]);
    const firstImport = watchFirstImport();
    const result = await w.run('vip', {
      store: watchedState(w).state,
      tuning: tuning(),
      ...firstImport.hooks,
    });
    expect(result.run.status).toBe('succeeded');
    // The first import left while the run was still reading, with most of the file still to read.
    expect(firstImport.seen?.phase).toBe('read');
    expect(firstImport.seen?.profileRows ?? 20_000).toBeLessThan(10_000);
    expect(result.record.plan?.importCalls).toBe(result.record.batches.imports);
    // Counted as the import phase's requests, though sent while the run read.
    const imports = 'POST /activities/contacts_json_import';
    // (A request the client retried, a 429 under load, counts again.)
    expect(result.record.apiCalls.byPhase.import?.[imports]).toBeGreaterThanOrEqual(
      result.record.batches.imports,
    );
    expect(result.record.apiCalls.byPhase.read?.[imports]).toBeUndefined();
    expect(result.record.batches.imports).toBeGreaterThan(100);
    expect(w.members()).toEqual(await expectedMembers(w.dataFolder, ['VIP']));
    expect(importedItems(w.sandbox)).toBe(result.record.counts.contacts);
    const again = await w.run('vip', { tuning: tuning() });
    expect(again.record.counts.imported).toBe(0);
  });

  it('a profile that wins the dedupe after the loser was cut is sent after it, even when the snapshot holds it: the list keeps the winner', async () => {
    const winner = 'A00000,dup@example.com,Winner,Smith';
    const w = await exportWorld(writeData(6_000, { after: [winner] }), { runStore });
    await w.apply([{ name: 'vip' }]);
    const first = await w.run('vip', { tuning: tuning() });
    expect(first.run.status, JSON.stringify(first.record.error)).toBe('succeeded');
    const firstNameOf = (email: string) => {
      const contacts = w.sandbox.account.contacts;
      return contacts.firstName(contacts.find(email));
    };
    expect(firstNameOf('dup@example.com')).toBe('Winner');

    // A profile with a larger key and the same email comes first now: it is read, staged (it is not
    // what the snapshot holds) and cut into the first batch long before the winner is read again.
    // Every other profile changed its first name (so that batches are cut as the file is read).
    writeFileSync(
      join(w.dataFolder, 'profiles.csv'),
      readFileSync(join(w.dataFolder, 'profiles.csv'), 'utf8')
        .replace(/,First(\d)/g, ',Second$1')
        .replace(`${header}\n`, `${header}\nZ99999,dup@example.com,Loser,Jones\n`),
    );
    writeFileSync(
      join(w.dataFolder, 'segment-membership.csv'),
      `${readFileSync(join(w.dataFolder, 'segment-membership.csv'), 'utf8')}Z99999,VIP\n`,
    );
    const watched = watchedState(w);
    const second = await w.run('vip', { store: watched.state, tuning: tuning() });
    expect(second.run.status, JSON.stringify(second.record.error)).toBe('succeeded');
    expect(second.record.counts.duplicate).toBe(1);
    // The loser went out in the first batch; the winner, unchanged against the snapshot, was sent
    // again in a batch that waited for it, so the list ends with the winner's names.
    expect(watched.planned.length).toBe(second.record.batches.imports);
    expect(watched.planned.length).toBeGreaterThan(30);
    // Only the last batch (the winner's) waited for those before it.
    expect(watched.planned.map((batch) => batch.afterSettled === true).lastIndexOf(true)).toBe(
      watched.planned.length - 1,
    );
    expect(watched.planned.filter((batch) => batch.afterSettled === true).length).toBe(1);
    expect(firstNameOf('dup@example.com')).toBe('Winner');
    expect(w.members()).toEqual(await expectedMembers(w.dataFolder, ['VIP']));
    // The snapshot holds the winner: the next run sends nothing.
    const third = await w.run('vip', { tuning: tuning() });
    expect(third.run.status).toBe('succeeded');
    expect(third.record.counts.imported).toBe(0);
  });

  it('a run stopped while reading after batches left pauses; the next run settles them, reads again, and sends each contact once', async () => {
    const w = await exportWorld(writeData(20_000), { runStore });
    await w.apply([{ name: 'vip' }]);
    const controller = new AbortController();
    const watched = watchedState(w, (batch) => {
      if (batch === 2) controller.abort();
    });
    const first = await w.run('vip', { store: watched.state, signal: controller.signal, tuning: tuning() });
    expect(first.run.status).toBe('paused');
    // Stopped while it read: no plan yet, some batches sent and confirmed.
    expect(first.record.plan).toBeNull();
    expect(first.record.batches.importsConfirmed).toBeGreaterThanOrEqual(2);
    expect(importedItems(w.sandbox)).toBe(first.record.counts.imported);
    expect((await w.runStore.checkpoints.of('vip'))?.phase).toBe('planning');

    // Taken up, it settles what the first process sent, then is stopped again as soon as its new
    // read begins, before it sends anything more: it pauses (it did send), and the next run takes
    // the same run up again.
    const again = new AbortController();
    const stopped = await w.run('vip', {
      signal: again.signal,
      tuning: tuning(),
      onProgress: (progress) => {
        if (progress.phase === 'read') again.abort();
      },
    });
    expect(stopped.run.id).toBe(first.run.id);
    expect(stopped.run.status).toBe('paused');
    expect(stopped.record.earlierReads?.reads).toBe(1);

    const second = await w.run('vip', { tuning: tuning() });
    expect(second.resumed).toBe(true);
    expect(second.run.id).toBe(first.run.id);
    expect(second.run.status).toBe('succeeded');
    // The batches the first process had sent were settled, and those it had cut but not sent yet
    // were sent, before the second read.
    expect(second.record.earlierReads?.reads).toBe(2);
    expect(second.record.earlierReads?.imported).toBeGreaterThanOrEqual(first.record.counts.imported);
    expect(w.members()).toEqual(await expectedMembers(w.dataFolder, ['VIP']));
    // What the first process sent was not sent again, and the record counts both.
    expect(importedItems(w.sandbox)).toBe(second.record.counts.contacts);
    expect(second.record.counts.imported).toBe(second.record.counts.contacts);
    expect(await w.runStore.checkpoints.of('vip')).toBeUndefined();
  });

  it('the daily quota met while reading stops the read and pauses; each next day reads again and the run ends exact, each contact sent once', async () => {
    let offset = 0;
    const day = 86_400_000;
    const w = await exportWorld(writeData(100_000), {
      runStore,
      sandbox: {
        now: () => Date.now() + offset,
        clientLimits: { requestsPerSecond: 100, requestsPerDay: 5 },
      },
    });
    await w.apply([{ name: 'vip' }]);
    // 20 calls of 5,000, the day's 5 requests used up by the third or so, most of the file still
    // to read; a limiter registry per "day" (see resume-and-faults.test.ts). (With calls of 10,000
    // the read sometimes ended before the quota did: 2 runs in 6 alone, and once in CI.)
    const daily = () => fastTuning({ importBatchLimits: { maxContacts: 5_000, maxBodyBytes: 4_000_000 } });
    offset += day;
    const first = await w.run('vip', { tuning: daily() });
    expect(first.run.status).toBe('paused');
    expect(first.error?.code).toBe('quota-exceeded');
    expect(first.record.pause?.reason).toBe('quota');
    // Stopped while it read: the quota's failure, not the read's stop, is what the run says.
    expect(first.record.plan).toBeNull();
    expect(first.record.batches.imports).toBeGreaterThan(0);
    let last = first;
    for (let days = 0; days < 30 && last.run.status === 'paused'; days++) {
      offset += day;
      last = await w.run('vip', { tuning: daily() });
      expect(last.run.id).toBe(first.run.id);
    }
    expect(last.run.status).toBe('succeeded');
    expect(last.resumed).toBe(true);
    expect(last.record.earlierReads?.reads).toBeGreaterThanOrEqual(1);
    expect(w.members()).toEqual(await expectedMembers(w.dataFolder, ['VIP']));
    expect(importedItems(w.sandbox)).toBe(last.record.counts.contacts);
    expect(last.record.counts.imported).toBe(last.record.counts.contacts);
  });

  it('a stray quote near the end fails the run before anything is sent, none removed; fixed, the next run sends every contact once', async () => {
    const bad = 'C999998,"u999998@example.com,First,Last';
    const w = await exportWorld(
      writeData(20_000, { after: [bad, ...Array.from({ length: 50 }, (_, i) => row(20_000 + i))] }),
      { runStore },
    );
    await w.apply([{ name: 'vip', removal: 'remove-from-list' }]);
    const failed = await w.run('vip', { tuning: tuning() });
    expect(failed.run.status).toBe('failed');
    expect(failed.error?.code).toBe('source-unterminated-quote');
    expect(failed.error?.message).toContain('profiles.csv:20002:');
    // The check beside the read found the quote before the first batch could leave.
    expect(importedItems(w.sandbox)).toBe(0);
    expect(failed.record.batches.imports).toBe(0);
    expect(failed.record.counts.imported).toBe(0);
    expect(w.members()).toEqual([]);

    const profiles = join(w.dataFolder, 'profiles.csv');
    writeFileSync(
      profiles,
      readFileSync(profiles, 'utf8').replace(bad, 'C999998,u999998@example.com,First,Last'),
    );
    const fixed = await w.run('vip', { tuning: tuning() });
    expect(fixed.run.status).toBe('succeeded');
    expect(w.members()).toEqual(await expectedMembers(w.dataFolder, ['VIP']));
    expect(importedItems(w.sandbox)).toBe(fixed.record.counts.contacts);
  });

  it('a file with quoted fields still sends while it reads (its quoting is checked in one pass), and ends exact', async () => {
    // Every tenth name quoted, with a comma and a doubled quote in it: plainly quoted.
    const quoted = (index: number) =>
      index % 10 === 0
        ? `${key(index)},u${index}@example.com,"First ""${index}"", Jr",Last${index}`
        : row(index);
    const folder = writeData(0, { after: Array.from({ length: 20_000 }, (_, index) => quoted(index)) });
    const w = await exportWorld(folder, { runStore });
    await w.apply([{ name: 'vip' }]);
    const firstImport = watchFirstImport();
    const result = await w.run('vip', { tuning: tuning(), ...firstImport.hooks });
    expect(result.run.status).toBe('succeeded');
    expect(firstImport.seen?.phase).toBe('read');
    expect(firstImport.seen?.profileRows ?? 20_000).toBeLessThan(10_000);
    expect(w.members()).toEqual(await expectedMembers(w.dataFolder, ['VIP']));
    expect(importedItems(w.sandbox)).toBe(20_000);
  });

  it('a name quoted over two lines has the file read through by the check; a stray quote after it still fails the run before anything is sent', async () => {
    const twoLines = `${key(5)},u5@example.com,"First
Second",Last5`;
    const rows = Array.from({ length: 20_000 }, (_, index) => (index === 5 ? twoLines : row(index)));
    const bad = 'C999998,u999998@example.com,First",Last';
    const broken = writeData(0, { after: [...rows, 'C999997,"u999997@example.com,First,Last', bad] });
    const w = await exportWorld(broken, { runStore });
    await w.apply([{ name: 'vip' }]);
    const failed = await w.run('vip', { tuning: tuning() });
    expect(failed.run.status).toBe('failed');
    expect(failed.error?.code).toBe('source-unterminated-quote');
    expect(importedItems(w.sandbox)).toBe(0);
    expect(failed.record.batches.imports).toBe(0);

    const profiles = join(w.dataFolder, 'profiles.csv');
    const text = readFileSync(profiles, 'utf8');
    writeFileSync(profiles, text.slice(0, text.indexOf('C999997,')));
    const fixed = await w.run('vip', { tuning: tuning() });
    expect(fixed.run.status).toBe('succeeded');
    expect(w.members()).toEqual(await expectedMembers(w.dataFolder, ['VIP']));
    expect(importedItems(w.sandbox)).toBe(20_000);
  });

  it('a jsonl field that no object has fails the run before anything is sent', async () => {
    const folder = join(tempFolder(), 'data');
    mkdirSync(folder, { recursive: true });
    const objects = Array.from({ length: 20_000 }, (_, index) =>
      JSON.stringify({
        CustomerId: key(index),
        EmailAddress: `u${index}@example.com`,
        FirstName: `First${index}`,
        LastName: `Last${index}`,
      }),
    );
    writeFileSync(join(folder, 'profiles.jsonl'), `${objects.join('\n')}\n`);
    writeFileSync(
      join(folder, 'segment-membership.jsonl'),
      `${Array.from({ length: 20_000 }, (_, index) => JSON.stringify({ CustomerId: key(index), Segment: 'VIP' })).join('\n')}\n`,
    );
    const w = await exportWorld(folder, {
      runStore,
      sourceYaml: `apiVersion: exportctl/v1
kind: ProfileSource
metadata: { name: profiles }
spec:
  type: jsonl
  profiles: data/profiles.jsonl
  key: CustomerId
  segmentMembership: data/segment-membership.jsonl
`,
    });
    await w.apply([{ name: 'vip', fields: ['companyName: Company'] }]);
    const failed = await w.run('vip', { tuning: tuning() });
    expect(failed.run.status).toBe('failed');
    expect(failed.error?.code).toBe('source-field-missing');
    expect(failed.error?.message).toContain('"Company"');
    expect(importedItems(w.sandbox)).toBe(0);
    expect(failed.record.batches.imports).toBe(0);
  });
});

describe('sending while reading, a sqlite source', () => {
  /** A sqlite database of `count` profiles, all in VIP. */
  function writeDatabase(count: number): string {
    const folder = join(tempFolder(), 'data');
    mkdirSync(folder, { recursive: true });
    const db = new Database(join(folder, 'crm.db'));
    db.exec(`CREATE TABLE profiles (CustomerId TEXT, EmailAddress TEXT, FirstName TEXT, LastName TEXT);
             CREATE TABLE members (CustomerId TEXT, Segment TEXT);`);
    const profile = db.prepare('INSERT INTO profiles VALUES (?, ?, ?, ?)');
    const member = db.prepare('INSERT INTO members VALUES (?, ?)');
    db.transaction(() => {
      for (let index = 0; index < count; index++) {
        profile.run(key(index), `u${index}@example.com`, `First${index}`, `Last${index}`);
        member.run(key(index), 'VIP');
      }
    })();
    db.close();
    return folder;
  }
  const sourceYaml = (profiles: string) => `apiVersion: exportctl/v1
kind: ProfileSource
metadata: { name: profiles }
spec:
  type: sqlite
  database: data/crm.db
  profiles: ${JSON.stringify(profiles)}
  key: CustomerId
  segmentMembership: members
`;

  it('a table is sent while it is read', async () => {
    const w = await exportWorld(writeDatabase(20_000), { sourceYaml: sourceYaml('profiles') });
    await w.apply([{ name: 'vip' }]);
    const firstImport = watchFirstImport();
    const result = await w.run('vip', { tuning: tuning(), ...firstImport.hooks });
    expect(result.run.status).toBe('succeeded');
    expect(firstImport.seen?.phase).toBe('read');
    expect(importedItems(w.sandbox)).toBe(20_000);
  });

  it('a query that fails on a late row fails the run before anything is sent: a query is sent only once read whole', async () => {
    // json() of text that is not JSON fails that row's step, and the read with it.
    const query = `SELECT CustomerId, CASE WHEN CustomerId = '${key(19_990)}' THEN json('not json') ELSE EmailAddress END AS EmailAddress, FirstName, LastName FROM profiles`;
    const w = await exportWorld(writeDatabase(20_000), { sourceYaml: sourceYaml(query) });
    await w.apply([{ name: 'vip' }]);
    const failed = await w.run('vip', { tuning: tuning() });
    expect(failed.run.status).toBe('failed');
    expect(failed.error?.code).toBe('source-unreadable');
    expect(importedItems(w.sandbox)).toBe(0);
    expect(failed.record.batches.imports).toBe(0);
  });
});
