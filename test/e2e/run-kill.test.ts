import { join } from 'node:path';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  batchIn,
  everyoneEnv,
  waitForState,
  writeEveryoneData,
  writeEveryoneManifests,
} from '../support/everyone-world';
import { expectedMembers, importedItems, listMembers, vipListId } from '../support/export-world';
import { runExportctl, startExportctl } from '../support/exportctl-cli';
import { testSandbox } from '../support/sandbox-client';
import { tempFolder } from '../support/temp-folder';

const profiles = 200_000;
const env = everyoneEnv;

let folder: string;
beforeAll(async () => {
  folder = tempFolder();
  // Every profile in one segment: a run of about 194,000 contacts (5 import calls).
  await writeEveryoneData(join(folder, 'data'), profiles);
}, 60_000);

const writeManifests = writeEveryoneManifests;
const waitFor = waitForState;

/**
 * Inside the send-while-planning window: some import batch is in `state` while the running run
 * still reads its source (its checkpoint still `planning`: batches leave as they are cut), or while
 * its checkpoint holds fewer batches than its plan counts (the rest are still to be planned).
 */
const inPlanningWindow = (state: string) => (db: Database.Database) => {
  if (!batchIn(state)(db)) return false;
  const row = db
    .prepare(
      `SELECT (SELECT count(*) FROM export_import_batches) AS stored,
              (SELECT phase FROM export_checkpoints LIMIT 1) AS phase,
              (SELECT json_extract(record, '$.plan.importCalls') FROM runs
               WHERE status = 'running' ORDER BY id DESC LIMIT 1) AS calls`,
    )
    .get() as { stored: number; phase: string | null; calls: number | null };
  return row.phase === 'planning' || (row.calls !== null && row.stored < row.calls);
};

describe('exportctl run killed with SIGKILL at any point', () => {
  it('resumes each time and ends with the list exactly right, no batch imported twice but the one in flight', async () => {
    const sandbox = await testSandbox({
      activityTiming: { startDelayMs: 20, baseDurationMs: 100, perItemMs: 0.01 },
    });
    writeManifests(folder, sandbox, 'data');
    const stateFile = join(folder, 'state', 'state.db');
    const state = ['--state', `sqlite:${stateFile}`];
    const applied = await runExportctl(['apply', '--auto-approve', ...state, 'exportctl.yaml'], {
      cwd: folder,
      env,
    });
    expect(applied.code, applied.stderr).toBe(0);

    // Kill points: early (while reading), inside the send-while-planning window (the first request
    // in the air, then a batch answered, each with later batches not planned yet: while the source
    // is still read, its batches sent as they are cut, or after), while an import
    // request is in the air, while activities run with some batches confirmed, and at another
    // arbitrary moment; each run after a kill takes up what the previous one left.
    const window = [inPlanningWindow('sending'), inPlanningWindow('submitted')];
    const killAt: ((db: Database.Database) => boolean)[] = [
      () => false, // a time-only kill: see the delays below
      ...window,
      batchIn('sending'),
      (db) =>
        batchIn('submitted')(db) &&
        (
          db.prepare("SELECT count(*) AS n FROM export_import_batches WHERE state = 'confirmed'").get() as {
            n: number;
          }
        ).n >= 1,
      () => false,
    ];
    const delays = [1_200, 60_000, 60_000, 60_000, 60_000, 2_300];
    // For the window's kills and the fourth, import requests are carried out but answered late: the
    // batch sits in `sending` with its activity created, the case a resumed run must adopt rather
    // than resend, and the next batch is planned meanwhile while the ones after it wait.
    const slowImports = (slowMs: number) => ({
      slow: 1,
      slowMs,
      paths: ['/activities/contacts_json_import'],
    });
    const faults = [{}, slowImports(3_000), slowImports(1_000), slowImports(3_000), {}, {}];
    const killedIn: string[] = [];
    for (const [index, trigger] of killAt.entries()) {
      sandbox.setFaults(faults[index] ?? {});
      const child = startExportctl(['run', 'everyone', ...state], { cwd: folder, env, timeoutMs: 90_000 });
      const timer = setTimeout(() => child.kill(), delays[index]);
      if (await waitFor(stateFile, trigger, () => child.exited)) {
        const db = new Database(stateFile, { readonly: true });
        const states =
          (
            db.prepare('SELECT group_concat(state) AS states FROM export_import_batches').get() as {
              states: string | null;
            }
          ).states ?? 'planning';
        const reading =
          (db.prepare('SELECT phase FROM export_checkpoints').get() as { phase: string } | undefined)
            ?.phase === 'planning';
        killedIn.push(
          window.includes(trigger) && trigger(db)
            ? `window${reading ? ' (reading)' : ''}: ${states}`
            : states,
        );
        db.close();
        child.kill();
      }
      clearTimeout(timer);
      const result = await child.result;
      if (result.signal !== 'SIGKILL') expect(result.code, result.stderr).toBe(0);
    }

    sandbox.setFaults({});
    const final = await runExportctl(['run', 'everyone', ...state], { cwd: folder, env, timeoutMs: 90_000 });
    expect(final.code, final.stderr).toBe(0);
    const history = await runExportctl(['runs', 'everyone', '--output', 'json', ...state], {
      cwd: folder,
      env,
    });
    const runs = (
      JSON.parse(history.stdout) as {
        runs: {
          status: string;
          record: { counts: { contacts: number; imported: number; unchanged: number }; resumes: unknown[] };
        }[];
      }
    ).runs;
    expect(runs[0]?.status).toBe('succeeded');
    // The run that planned and imported was taken up again after the kills that came after its plan
    // (the last kill may find it done already: then the final run only confirms nothing changed).
    const importer = runs.find((run) => run.record.counts.imported > 0);
    expect(importer?.status).toBe('succeeded');
    expect(importer?.record.resumes.length).toBeGreaterThanOrEqual(1);
    const contacts = importer?.record.counts.contacts ?? 0;
    if (runs[0] !== importer) expect(runs[0]?.record.counts.unchanged).toBe(contacts);

    const expected = await expectedMembers(join(folder, 'data'), ['Everyone']);
    expect(contacts).toBeGreaterThan(190_000);
    const members = listMembers(sandbox, vipListId);
    expect(members.length).toBe(expected.length);
    expect(members).toEqual(expected);
    // A kill while a request or activity was in flight was made good by adopting the activity or
    // sending that one batch again: never more than one batch (40,000) twice per kill.
    const twice = importedItems(sandbox) - contacts;
    expect(twice).toBeGreaterThanOrEqual(0);
    expect(twice).toBeLessThanOrEqual(killAt.length * 40_000);
    expect(killedIn.some((states) => states.includes('sending'))).toBe(true);
    expect(killedIn.some((states) => states.includes('submitted'))).toBe(true);
    // Both kills inside the window happened there: a batch had left, later ones were not planned.
    expect(killedIn.filter((states) => states.startsWith('window'))).toEqual([
      expect.stringContaining('sending'),
      expect.stringContaining('submitted'),
    ]);
    // At least one of them while the run still read its source, its first batches sent as cut.
    expect(killedIn.some((states) => states.startsWith('window (reading): '))).toBe(true);

    // Kills inside the unchanged skip path: nothing changed, each run is killed while its one list
    // request is in the air (answered 2 s late). More interrupted runs than the last run's record is
    // looked for among; the next run still records unchanged, with the importer's contacts, and
    // sends nothing.
    const sentBefore = importedItems(sandbox);
    sandbox.setFaults({ slow: 1, slowMs: 2_000, paths: [`/contact_lists/${vipListId}`] });
    for (let kill = 0; kill < 5; kill++) {
      const db = new Database(stateFile, { readonly: true });
      const lastRun = (db.prepare('SELECT max(id) AS id FROM runs').get() as { id: number }).id;
      db.close();
      const child = startExportctl(['run', 'everyone', ...state], { cwd: folder, env, timeoutMs: 30_000 });
      // This process's run has its checkpoint (phase planning): it is waiting for the list's count.
      const inSkipPath = (db: Database.Database) =>
        db
          .prepare(
            `SELECT 1 FROM export_checkpoints c JOIN runs r ON r.id = c.run_id
             WHERE r.id > ? AND r.status = 'running' AND c.phase = 'planning'`,
          )
          .get(lastRun) !== undefined;
      expect(await waitFor(stateFile, inSkipPath, () => child.exited)).toBe(true);
      child.kill();
      expect((await child.result).signal).toBe('SIGKILL');
    }
    sandbox.setFaults({});
    const skipped = await runExportctl(['run', 'everyone', '--output', 'json', ...state], {
      cwd: folder,
      env,
      timeoutMs: 30_000,
    });
    expect(skipped.code, skipped.stderr).toBe(0);
    const after = JSON.parse(
      (await runExportctl(['runs', 'everyone', '--output', 'json', ...state], { cwd: folder, env })).stdout,
    ) as {
      runs: {
        status: string;
        record: { skipped: string | null; counts: { contacts: number; unchanged: number } };
      }[];
    };
    expect(after.runs[0]?.status).toBe('succeeded');
    expect(after.runs[0]?.record.skipped).toBe('unchanged');
    expect(after.runs[0]?.record.counts).toMatchObject({ contacts, unchanged: contacts });
    expect(after.runs.slice(1, 6).map((run) => run.status)).toEqual(Array(5).fill('failed'));
    expect(importedItems(sandbox)).toBe(sentBefore);
    expect(listMembers(sandbox, vipListId)).toEqual(expected);
  }, 240_000);

  it('on SIGTERM lets the activities in flight reach their checkpoint, pauses, and the next run resumes', async () => {
    const sandbox = await testSandbox({
      activityTiming: { startDelayMs: 20, baseDurationMs: 100, perItemMs: 0.05 },
    });
    const here = tempFolder();
    writeManifests(here, sandbox, join(folder, 'data'));
    const stateFile = join(here, 'state.db');
    const state = ['--state', `sqlite:${stateFile}`];
    expect(
      (await runExportctl(['apply', '--auto-approve', ...state, 'exportctl.yaml'], { cwd: here, env })).code,
    ).toBe(0);

    const child = startExportctl(['run', 'everyone', ...state], { cwd: here, env, timeoutMs: 90_000 });
    expect(await waitFor(stateFile, batchIn('submitted'), () => child.exited)).toBe(true);
    child.kill('SIGTERM');
    const stopped = await child.result;
    // Paused, not failed: the exit code says so (3).
    expect(stopped.code).toBe(3);
    expect(stopped.stderr).toMatch(/SIGTERM: stopping once the batches in flight are confirmed/);
    expect(stopped.stdout).toMatch(
      /everyone: run \d+ paused in .*\n {2}paused: stopped between batches; run it again to resume run \d+/,
    );
    const db = new Database(stateFile, { readonly: true });
    const states = (db.prepare('SELECT state FROM export_import_batches').all() as { state: string }[]).map(
      (row) => row.state,
    );
    const phase = (db.prepare('SELECT phase FROM export_checkpoints').get() as { phase: string }).phase;
    db.close();
    // Nothing left in the air: every batch sent reached its checkpoint.
    expect(states).toContain('confirmed');
    expect(states.filter((batch) => batch === 'sending' || batch === 'submitted')).toEqual([]);
    // The rest still to send: cut and waiting, or (stopped while it still read, its first batches
    // sent as they were cut) not cut yet: the next run reads again.
    expect(states.includes('planned') || phase === 'planning').toBe(true);

    const resumed = await runExportctl(['run', 'everyone', ...state], { cwd: here, env, timeoutMs: 90_000 });
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toMatch(/everyone: run \d+ succeeded \(resumed\)/);
    const expected = await expectedMembers(join(folder, 'data'), ['Everyone']);
    expect(listMembers(sandbox, vipListId)).toEqual(expected);
    // Each contact imported once: the list's members and the seed's 3 unsubscribed contacts.
    expect(importedItems(sandbox)).toBe(expected.length + 3);
  }, 120_000);
});
