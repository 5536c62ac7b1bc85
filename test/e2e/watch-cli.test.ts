import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  batchIn,
  everyoneEnv,
  stateHolds,
  writeEveryoneData,
  writeEveryoneManifests,
} from '../support/everyone-world';
import { expectedMembers, listMembers, vipListId } from '../support/export-world';
import { type RunningExportctl, runExportctl, startExportctl } from '../support/exportctl-cli';
import { quickstartWorld } from '../support/quickstart-world';
import { testSandbox } from '../support/sandbox-client';
import { tempFolder } from '../support/temp-folder';

/** The JSON log lines the watch process has printed so far (stdout, no TTY). */
function logs(child: RunningExportctl): { msg: string; time: string; [key: string]: unknown }[] {
  return child
    .output()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { msg: string; time: string });
}

/** Resolves with the first log line that `match` accepts, once it is printed. */
async function logLine(
  child: RunningExportctl,
  match: (line: { msg: string; [key: string]: unknown }) => boolean,
  timeoutMs = 20_000,
) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = logs(child).find(match);
    if (found) return found;
    if (child.exited) throw new Error(`watch exited before the line was logged:\n${child.output()}`);
    if (Date.now() > deadline) throw new Error(`no such log line in time; output:\n${child.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function get(url: string): Promise<{ status: number; text: string }> {
  const response = await fetch(url);
  return { status: response.status, text: await response.text() };
}

const metricValue = (text: string, series: string) =>
  text
    .split('\n')
    .find((line) => line.startsWith(`${series} `))
    ?.split(' ')[1];

function appliedSpec(stateFile: string, kind: string, name: string): Record<string, unknown> {
  const db = new Database(stateFile, { readonly: true });
  try {
    const row = db.prepare('SELECT spec FROM resources WHERE kind = ? AND name = ?').get(kind, name) as {
      spec: string;
    };
    return JSON.parse(row.spec) as Record<string, unknown>;
  } finally {
    db.close();
  }
}

describe('exportctl watch (a process on a temp folder, the sandbox, a SQLite state)', () => {
  it('applies manifest edits, refuses an invalid one, runs on cron and on replaced source data, and stops on SIGTERM', async () => {
    const w = await quickstartWorld();
    const stateFile = join(w.home, 'state.db');
    // The Refresh cron is "0 */6 * * *": a clock started 10 s before 06:00 fires it 10 s in.
    const watch = startExportctl(
      [
        'watch',
        w.manifests,
        '--listen',
        '127.0.0.1:0',
        '--debounce',
        '200ms',
        '--data-stable',
        '300ms',
        '--drift-interval',
        '0',
        '--clock-start',
        '2026-11-23T05:59:50Z',
      ],
      { cwd: w.home, env: w.env, timeoutMs: 120_000 },
    );
    try {
      const listening = await logLine(watch, (line) => typeof line.url === 'string');
      const url = String(listening.url);
      await logLine(watch, (line) => line.msg === 'watching for changes');
      expect((await get(`${url}/healthz`)).status).toBe(200);
      expect((await get(`${url}/readyz`)).status).toBe(200);

      // The scheduled refresh fires at 06:00 of the watch clock and runs vip-newsletter.
      await logLine(watch, (line) => line.msg.startsWith('schedule fired for vip-newsletter'));
      const scheduled = await logLine(
        watch,
        (line) => line.destination === 'vip-newsletter' && line.status !== undefined,
        30_000,
      );
      expect(scheduled).toMatchObject({ status: 'succeeded', trigger: 'refresh', imported: 464 });

      // An edit is applied within 1 s of the debounce.
      const editedAt = Date.now();
      w.edit('destinations.yaml', (text) =>
        text.replace('displayName: VIP and newsletter subscribers', 'displayName: VIP and newsletter'),
      );
      const applied = await logLine(
        watch,
        (line) => line.msg === 'reconciled: applied' && String(line.reason).includes('destinations.yaml'),
      );
      expect(Date.parse(String(applied.time)) - editedAt).toBeLessThan(200 + 1_000);
      expect(appliedSpec(stateFile, 'ExportDestination', 'vip-newsletter').displayName).toBe(
        'VIP and newsletter',
      );

      // An invalid edit: reported with file:line:col, nothing applied, the metrics count it.
      w.edit('destinations.yaml', (text) =>
        text
          .replace('displayName: VIP and newsletter', 'displayName: VIP only')
          .replace('listId: 04fe9a97-a579-43c5-bb1a-58ed29bf0a6a', 'listId: not-a-uuid'),
      );
      const invalid = await logLine(watch, (line) => line.msg.startsWith('the manifests do not validate'));
      const problem = logs(watch).find((line) => line.code === 'invalid-format');
      expect(problem?.msg).toMatch(
        /(^|\/)destinations\.yaml:11:11: ExportDestination\/vip-newsletter: spec\.listId/,
      );
      expect(invalid.level).toBe(50);
      expect(appliedSpec(stateFile, 'ExportDestination', 'vip-newsletter')).toMatchObject({
        displayName: 'VIP and newsletter',
        listId: vipListId,
      });
      const metrics = (await get(`${url}/metrics`)).text;
      expect(metricValue(metrics, 'exportctl_reconciles_total{result="invalid"}')).toBe('1');
      const status = JSON.parse((await get(`${url}/status`)).text) as {
        lastReconcile: { result: string; problems: { where: string }[] };
      };
      expect(status.lastReconcile.result).toBe('invalid');
      expect(status.lastReconcile.problems[0]?.where).toMatch(/(^|\/)destinations\.yaml:11:11$/);
      // The status page shows the same problem, with its place, to the people in a browser.
      const page = await get(`${url}/`);
      expect(page.status).toBe(200);
      expect(page.text).toMatch(/<li>[^<]*destinations\.yaml:11:11: /);
      expect(page.text).toContain('href="/destinations/vip-newsletter"');

      // Fixed: applied.
      w.edit('destinations.yaml', (text) =>
        text.replace('listId: not-a-uuid', 'listId: 04fe9a97-a579-43c5-bb1a-58ed29bf0a6a'),
      );
      await logLine(
        watch,
        (line) =>
          line.msg === 'reconciled: applied' &&
          appliedSpec(stateFile, 'ExportDestination', 'vip-newsletter').displayName === 'VIP only',
      );

      // The source's profiles replaced the way exports write them (a temp file, then a rename): both
      // destinations read it, so both run, as a refresh. One VIP profile changed its first name.
      const profiles = join(w.manifests, 'data', 'profiles.csv');
      const lines = readFileSync(profiles, 'utf8').split('\n');
      const header = (lines[0] ?? '').split(',');
      const first = header.indexOf('FirstName');
      const vip = new Set(
        readFileSync(join(w.manifests, 'data', 'segment-membership.csv'), 'utf8')
          .split('\n')
          .filter((line) => line.endsWith(',VIP'))
          .map((line) => line.split(',')[0]),
      );
      const changed = lines.findIndex(
        (line, index) => index > 0 && vip.has(line.split(',')[0]) && !line.includes('"'),
      );
      const cells = (lines[changed] ?? '').split(',');
      cells[first] = 'Renamed';
      lines[changed] = cells.join(',');
      writeFileSync(`${profiles}.tmp`, lines.join('\n'));
      renameSync(`${profiles}.tmp`, profiles);
      const isRunEnd = (name: string) => (line: { [key: string]: unknown }) =>
        line.destination === name &&
        line.status !== undefined &&
        line.trigger === 'refresh' &&
        line !== scheduled;
      const vipRun = await logLine(
        watch,
        (line) => isRunEnd('vip-newsletter')(line) && Date.parse(String(line.time)) > editedAt,
        30_000,
      );
      const winBackRun = await logLine(watch, isRunEnd('win-back'), 30_000);
      expect(vipRun).toMatchObject({ status: 'succeeded', imported: 1 });
      expect(winBackRun).toMatchObject({ status: 'succeeded' });
      const after = (await get(`${url}/metrics`)).text;
      expect(
        metricValue(after, 'exportctl_runs_total{destination="vip-newsletter",result="succeeded"}'),
      ).toBe('2');
      expect(
        Number(metricValue(after, 'exportctl_contacts_exported_total{destination="vip-newsletter"}')),
      ).toBe(465);

      watch.kill('SIGTERM');
      const stopped = await watch.done;
      expect(stopped.code, stopped.stdout + stopped.stderr).toBe(0);
      expect(logs(watch).at(-1)?.msg).toBe('stopped');
    } finally {
      watch.kill();
    }
  }, 120_000);

  describe('SIGTERM in the middle of a run', () => {
    const profiles = 100_000;
    let data: string;
    beforeAll(async () => {
      data = join(tempFolder(), 'data');
      await writeEveryoneData(data, profiles);
    }, 60_000);

    it('lets the batches in flight reach their checkpoint, exits 0, and the next run resumes', async () => {
      // Import requests answered 1.5 s late: a run of 3 batches is surely under way when SIGTERM comes.
      const sandbox = await testSandbox({
        faults: { slow: 1, slowMs: 1_500, paths: ['/activities/contacts_json_import'] },
      });
      const folder = tempFolder();
      const stateFile = join(folder, 'state.db');
      const env = { ...everyoneEnv, EXPORTCTL_STATE: `sqlite:${stateFile}` };
      writeEveryoneManifests(folder, sandbox, data, '*/5 * * * *');
      // Its own cron fires 2 s after the watch clock starts.
      const watch = startExportctl(
        ['watch', '.', '--drift-interval', '0', '--clock-start', '2026-11-23T05:59:58Z'],
        { cwd: folder, env, timeoutMs: 90_000 },
      );
      try {
        await logLine(watch, (line) => line.msg === 'run of everyone started (schedule)', 30_000);
        await logLine(watch, () => stateHolds(stateFile, batchIn('submitted')), 60_000);
        watch.kill('SIGTERM');
        const stopped = await watch.done;
        expect(stopped.code, stopped.stdout + stopped.stderr).toBe(0);
        const paused = logs(watch).find(
          (line) => line.destination === 'everyone' && line.status !== undefined,
        );
        expect(paused).toMatchObject({ status: 'paused' });
        expect(logs(watch).at(-1)?.msg).toBe('stopped');
      } finally {
        watch.kill();
      }
      const db = new Database(stateFile, { readonly: true });
      const states = (db.prepare('SELECT state FROM export_import_batches').all() as { state: string }[]).map(
        (row) => row.state,
      );
      db.close();
      // Every batch sent reached its checkpoint; some were never sent.
      expect(states.filter((state) => state === 'sending' || state === 'submitted')).toEqual([]);
      expect(states).toContain('planned');

      sandbox.setFaults({});
      const resumed = await runExportctl(['run', 'everyone'], { cwd: folder, env, timeoutMs: 90_000 });
      expect(resumed.code, resumed.stderr).toBe(0);
      expect(resumed.stdout).toMatch(/everyone: run \d+ succeeded \(resumed\)/);
      expect(listMembers(sandbox, vipListId)).toEqual(await expectedMembers(data, ['Everyone']));
    }, 120_000);
  });
});
