// The SQLite run store alone, in this process (no engine, no HTTP): what a run at N contacts
// (1,000,000 unless told) asks of it, step by step, with the CPU (user + system, this process),
// wall time and bytes written (/proc/self/io write_bytes) of each:
//
//   stage        N generated contacts (the profile generator's emails and names, as import entries),
//                20,000 per call as the engine stages them
//   plan + data  the batches of 40,000 cut from them, each body assembled once
//   fold         all confirmed, then the checkpoint deleted: the contacts enter the snapshot
//   load         the snapshot into a fresh ContactIndex (as a run starts), through packedMembers
//                when the store has it and through members() beside it
//   1% fold      a second run stages, confirms and folds 1 contact in 100 changed
//
// Nothing is asserted.
//
//   npm run bench -- sqlite-store                  at 1,000,000 contacts
//   npm run bench -- sqlite-store --size 100000    smaller (also SQLITE_STORE_BENCH_COUNT)
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { int, MB, s, seed } from '../lib/bench-data.mjs';

const counters = {
  items_total_count: 1,
  items_completed_count: 1,
  person_count: 1,
  error_count: 0,
  correctable_count: 0,
  cannot_add_to_list_count: 0,
  list_count: 1,
};

const written = () => Number(/write_bytes: (\d+)/.exec(readFileSync('/proc/self/io', 'utf8'))?.[1] ?? 0);

export default {
  name: 'sqlite-store',
  description:
    'the SQLite run store alone, in one process: staging, batch bodies, the fold, the snapshot load and a 1% fold at N contacts (CPU, wall, bytes written)',
  async run({ root, log, options = {} }) {
    const count = Number(options.size ?? process.env.SQLITE_STORE_BENCH_COUNT ?? 1_000_000);
    if (!Number.isInteger(count) || count < 1) throw new Error(`--size must be a whole number, not ${count}`);
    const require = createRequire(import.meta.url);
    const { openExportctlState } = require(join(root, 'dist', 'src', 'wiring'));
    const { SqliteRunStore } = require(join(root, 'dist', 'src', 'engine', 'sqlite'));
    const { ContactIndex, fingerprintHalves } = require(join(root, 'dist', 'src', 'engine'));
    const { importEntryJson } = require(join(root, 'dist', 'src', 'constant-contact'));
    const { contactFingerprint } = require(join(root, 'dist', 'src', 'profiles'));
    const generator = await import(pathToFileURL(join(root, 'scripts', 'generate-profiles.mjs')).href);

    // The contacts as the engine stages them: one per distinct email.
    const contacts = [];
    const seen = new Set();
    for (const { profile } of generator.generateProfiles({ count, seed })) {
      const emailKey = String(profile.EmailAddress).trim().toLowerCase();
      if (!emailKey.includes('@') || seen.has(emailKey)) continue;
      seen.add(emailKey);
      const contact = { emailKey, firstName: profile.FirstName, lastName: profile.LastName };
      contacts.push({
        seq: contacts.length,
        emailKey,
        fingerprint: fingerprintHalves(contactFingerprint(contact)),
        entry: importEntryJson({
          email: profile.EmailAddress,
          first_name: profile.FirstName,
          last_name: profile.LastName,
        }),
      });
    }
    seen.clear();
    const folder = mkdtempSync(join(tmpdir(), 'exportctl-bench-sqlite-store-'));
    const state = await openExportctlState(`sqlite:${join(folder, 'state.db')}`, { cwd: folder, env: {} });
    const store = new SqliteRunStore(state.sqlite, () => Date.now());
    const rows = [];
    const step = async (name, work) => {
      const cpu = process.cpuUsage();
      const bytes = written();
      const begin = performance.now();
      const detail = await work();
      const used = process.cpuUsage(cpu);
      const row = {
        name,
        wall: (performance.now() - begin) / 1000,
        cpu: (used.user + used.system) / 1e6,
        written: written() - bytes,
        detail,
      };
      rows.push(row);
      log(
        `${name}: wall ${s(row.wall)}; CPU ${s(row.cpu)}; written ${MB(row.written)}${detail ? `; ${detail}` : ''}`,
      );
    };
    /** Stages `staged`, cuts and assembles its batches, confirms them all, ends the run. */
    const run = async (runId, staged, label) => {
      await store.checkpoints.create(runId, 'everyone', 'list-1');
      await step(`${label}: stage`, async () => {
        for (let at = 0; at < staged.length; at += 20_000)
          await store.imports.stage(runId, staged.slice(at, at + 20_000));
        return `${int(staged.length)} contacts`;
      });
      let batches = 0;
      await step(`${label}: plan + data`, async () => {
        let bodyBytes = 0;
        for (let at = 0; at < staged.length; at += 40_000) {
          batches += 1;
          const slice = staged.slice(at, at + 40_000);
          await store.imports.plan(runId, batches, {
            contacts: slice.length,
            bodyBytes: 1,
            firstSeq: slice[0].seq,
            lastSeq: slice[slice.length - 1].seq,
          });
          bodyBytes += (await store.imports.data(runId, batches)).length;
        }
        return `${batches} bodies, ${MB(bodyBytes)}`;
      });
      for (let batch = 1; batch <= batches; batch++) {
        await store.imports.markSending(runId, batch, Date.now());
        await store.imports.markSubmitted(runId, batch, `activity-${runId}-${batch}`, { adopted: false });
        await store.imports.confirm(runId, 'everyone', batch, counters, []);
      }
      await step(`${label}: fold`, () => store.checkpoints.delete(runId));
      await store.compact();
    };
    try {
      log(`${int(contacts.length)} distinct contacts from ${int(count)} generated profiles (seed ${seed})`);
      await run(1, contacts, 'full');
      // (A store from before packedMembers, when this section runs in an older checkout: skipped.)
      if (store.snapshots.packedMembers)
        await step('load (packedMembers)', async () => {
          const index = new ContactIndex({ expected: await store.snapshots.size('everyone') });
          for await (const page of store.snapshots.packedMembers('everyone'))
            for (let member = 0; member < page.count; member++)
              index.addSnapshotMemberBytes(
                page.bytes,
                page.keyStart(member),
                page.keyEnd(member),
                page.hi(member),
                page.lo(member),
              );
          return `${int(index.entries)} members`;
        });
      await step('load (members)', async () => {
        const index = new ContactIndex({ expected: await store.snapshots.size('everyone') });
        for await (const page of store.snapshots.members('everyone'))
          for (const [email, high, low] of page) index.addSnapshotMember(email, [high, low]);
        return `${int(index.entries)} members`;
      });
      const changed = [];
      for (let index = 50; index < contacts.length; index += 100) {
        const contact = contacts[index];
        changed.push({
          ...contact,
          seq: changed.length,
          fingerprint: [(contact.fingerprint[0] ^ 1) >>> 0, contact.fingerprint[1]],
        });
      }
      await run(2, changed, '1%');
    } finally {
      await state.close();
      rmSync(folder, { recursive: true, force: true });
    }
    log('');
    log(`| step (${int(contacts.length)} contacts) | wall | CPU | written |`);
    log('| --- | --- | --- | --- |');
    for (const row of rows) log(`| ${row.name} | ${s(row.wall)} | ${s(row.cpu)} | ${MB(row.written)} |`);
  },
};
