import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { everyoneEnv, writeEveryoneData, writeEveryoneManifests } from '../support/everyone-world';
import { expectedMembers, importedItems, listMembers, vipListId } from '../support/export-world';
import { type RunningExportctl, runExportctl, startExportctl } from '../support/exportctl-cli';
import { type PostgresServer, startPostgresServer } from '../support/postgres-server';
import { quickstartWorld } from '../support/quickstart-world';
import { testSandbox } from '../support/sandbox-client';
import { tempFolder } from '../support/temp-folder';

// About 117,000 contacts: 3 import calls of at most 40,000.
const profiles = 120_000;

let server: PostgresServer;
let database: string;
let data: string;
let expected: string[];

beforeAll(async () => {
  server = await startPostgresServer();
  database = await server.createDatabase('run_faults');
  data = join(tempFolder(), 'data');
  await writeEveryoneData(data, profiles);
  expected = await expectedMembers(data, ['Everyone']);
}, 120_000);

afterAll(async () => {
  await server?.dispose();
});

/** A fresh state (a schema of its own) with the `everyone` destination applied, and how to reach it. */
async function appliedState(sandbox: Parameters<typeof writeEveryoneManifests>[1]) {
  const folder = tempFolder();
  writeEveryoneManifests(folder, sandbox, data);
  const schema = `faults_${randomBytes(4).toString('hex')}`;
  const env = {
    ...everyoneEnv,
    EXPORTCTL_STATE: server.url({ database, schema }),
    EXPORTCTL_SECRET_KEY: randomBytes(32).toString('base64'),
  };
  const applied = await runExportctl(['apply', '--auto-approve', 'exportctl.yaml'], { cwd: folder, env });
  expect(applied.code, applied.stderr).toBe(0);
  return { folder, env, schema };
}

/** Polls the state's schema with `sql` (one boolean column `ok`) until it holds, or `done` says stop. */
async function waitForRows(schema: string, sql: string, done: () => boolean): Promise<boolean> {
  const client = new pg.Client({ connectionString: server.url({ database }) });
  client.on('error', () => {});
  await client.connect();
  try {
    await client.query(`SET search_path = "${schema}"`);
    while (!done()) {
      const ok = await client
        .query<{ ok: boolean }>(sql)
        .then((result) => result.rows[0]?.ok === true)
        // The tables are created by the first run's migrations: missing until then.
        .catch(() => false);
      if (ok) return true;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

/** The import batches' states, for the message of a failed check: where each kill landed. */
async function batchStates(schema: string): Promise<string> {
  const client = new pg.Client({ connectionString: server.url({ database }) });
  await client.connect();
  try {
    const { rows } = await client.query<{ states: string | null }>(
      `SELECT string_agg(state, ',' ORDER BY batch) AS states FROM "${schema}".export_import_batches`,
    );
    return rows[0]?.states ?? 'none planned';
  } catch {
    return 'no run tables yet';
  } finally {
    await client.end();
  }
}

const batchIn = (state: string) =>
  `SELECT EXISTS (SELECT 1 FROM export_import_batches WHERE state = '${state}') AS ok`;

/** mulberry32: the same kill delays on every run of the suite, printed with the seed. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

interface RunsJson {
  runs: {
    status: string;
    record: { counts: { contacts: number; imported: number; unchanged: number }; resumes: unknown[] };
  }[];
}

describe('exportctl run on a PostgreSQL state, under faults', () => {
  interface Kill {
    readonly delayMs: number;
    /** Kill once this holds of the state (SQL, one boolean column `ok`), before the delay if so. */
    readonly when?: string;
    /** Import requests carried out but answered this late (ms). */
    readonly slowMs?: number;
    /** The requests `slowMs` applies to, by path prefix; default the import requests. */
    readonly slowPaths?: readonly string[];
  }

  /**
   * Runs `exportctl run everyone` once per kill, killing it with SIGKILL at the kill's moment, then
   * once more to the end; checks that the list is exactly the oracle's (0 lost, 0 extra) and that
   * at most the batch in flight (40,000) was sent twice per kill. Resolves with where each kill
   * landed (the batches' states then), or `done` when the run had ended first.
   */
  async function killThenFinish(kills: readonly Kill[], label: string): Promise<string[]> {
    const sandbox = await testSandbox({
      activityTiming: { startDelayMs: 20, baseDurationMs: 100, perItemMs: 0.01 },
    });
    const { folder, env, schema } = await appliedState(sandbox);
    const killed: string[] = [];
    for (const kill of kills) {
      sandbox.setFaults(
        kill.slowMs === undefined
          ? {}
          : { slow: 1, slowMs: kill.slowMs, paths: kill.slowPaths ?? ['/activities/contacts_json_import'] },
      );
      const child = startExportctl(['run', 'everyone'], { cwd: folder, env, timeoutMs: 90_000 });
      const timer = setTimeout(() => child.kill(), kill.delayMs);
      if (kill.when !== undefined && (await waitForRows(schema, kill.when, () => child.exited))) child.kill();
      const result = await child.result;
      clearTimeout(timer);
      // A kill that came after the run had ended finds nothing to do: that run succeeded.
      if (result.signal !== 'SIGKILL') expect(result.code, result.stderr).toBe(0);
      killed.push(
        result.signal === 'SIGKILL'
          ? `killed after ${kill.when ?? `${kill.delayMs} ms`} (batches: ${await batchStates(schema)})`
          : 'done',
      );
    }
    const where = `${label}: ${killed.join('; ')}`;
    sandbox.setFaults({});
    const final = await runExportctl(['run', 'everyone'], { cwd: folder, env, timeoutMs: 90_000 });
    expect(final.code, final.stderr).toBe(0);
    const history = JSON.parse(
      (await runExportctl(['runs', 'everyone', '--output', 'json'], { cwd: folder, env })).stdout,
    ) as RunsJson;
    expect(history.runs[0]?.status, where).toBe('succeeded');
    const importer = history.runs.find((run) => run.record.counts.imported > 0);
    expect(importer?.status, where).toBe('succeeded');
    // 0 lost, 0 extra: the list is exactly the oracle's.
    expect(listMembers(sandbox, vipListId), where).toEqual(expected);
    // A kill with a request or activity in flight costs at most that one batch sent twice.
    const twice = importedItems(sandbox) - (importer?.record.counts.contacts ?? 0);
    expect(twice, where).toBeGreaterThanOrEqual(0);
    expect(twice, where).toBeLessThanOrEqual(kills.length * 40_000);
    return killed;
  }

  it('killed with SIGKILL at seeded random moments, resumes each time and ends with the list exact', async () => {
    const seed = 20261202;
    const random = seeded(seed);
    // Four kills at random moments in the first 4.5 s of each run (reading, staging, planning or
    // sending, wherever they land); each import answered 2.5 s late, so that a run with more than
    // one batch to send lasts past them (one left with less may end first: then it is `done`).
    const kills = Array.from({ length: 4 }, () => ({
      delayMs: 500 + Math.floor(random() * 4_000),
      slowMs: 2_500,
    }));
    const killed = await killThenFinish(kills, `seed ${seed}`);
    // The first run cannot have ended that soon: its kill landed.
    expect(killed[0], killed.join('; ')).toMatch(/^killed after/);
  }, 300_000);

  it('killed with SIGKILL at each send phase, resumes each time and ends with the list exact', async () => {
    const killed = await killThenFinish(
      [
        // A request in the air: its activity created, the answer late (the resumed run must adopt it).
        { delayMs: 60_000, when: batchIn('sending'), slowMs: 3_000 },
        // Activities running with a batch already confirmed. Every activity request answered 1 s
        // late (imports and status polls), so that the moment between one batch's confirmation
        // and the next one's lasts long enough to be seen on a loaded machine (without it, the
        // resumed run sometimes confirmed both before a look found them so).
        {
          delayMs: 60_000,
          slowMs: 1_000,
          slowPaths: ['/activities/'],
          when: `SELECT EXISTS (SELECT 1 FROM export_import_batches WHERE state = 'submitted')
                   AND EXISTS (SELECT 1 FROM export_import_batches WHERE state = 'confirmed') AS ok`,
        },
      ],
      'send phases',
    );
    expect(killed, killed.join('; ')).toEqual([
      expect.stringContaining("state = 'sending'"),
      expect.stringContaining("state = 'submitted'"),
    ]);
  }, 300_000);

  it('rides out PostgreSQL restarts in the middle of a run: it retries, finishes, and sends each contact once', async () => {
    const sandbox = await testSandbox({
      activityTiming: { startDelayMs: 20, baseDurationMs: 200, perItemMs: 0.02 },
    });
    const { folder, env, schema } = await appliedState(sandbox);
    const child = startExportctl(['run', 'everyone', '--output', 'json'], {
      cwd: folder,
      env,
      timeoutMs: 120_000,
    });
    // Restarted (fast shutdown: every connection cut, the run lock's session too) while the run
    // stages its contacts, then again while its activities run with a batch already confirmed.
    const staging = `SELECT EXISTS (SELECT 1 FROM export_run_chunks) AS ok`;
    const sending = `SELECT EXISTS (SELECT 1 FROM export_import_batches WHERE state = 'submitted') AS ok`;
    const restarts: string[] = [];
    for (const [name, when] of [
      ['staging', staging],
      ['sending', sending],
    ] as const) {
      if (await waitForRows(schema, when, () => child.exited)) {
        await server.restart();
        restarts.push(name);
      }
    }
    const result = await child.result;
    // The run's record (stdout) says why it failed, when it does.
    expect(result.code, `${result.stderr}\n${result.stdout}`).toBe(0);
    expect(restarts).toEqual(['staging', 'sending']);
    // The wait was said on stderr, naming the state, never its password.
    expect(result.stderr).toMatch(
      new RegExp(
        `warning: the connection to the state postgres://exportctl@127\\.0\\.0\\.1:${server.port}/run_faults\\?schema=${schema} broke \\(`,
      ),
    );
    expect(result.stderr).toContain('for up to 60 s in all');
    expect(`${result.stdout}${result.stderr}`).not.toContain(server.password);
    const history = JSON.parse(
      (await runExportctl(['runs', 'everyone', '--output', 'json'], { cwd: folder, env })).stdout,
    ) as RunsJson;
    // One run, not paused or resumed: it waited for the server and went on.
    expect(history.runs.map((run) => run.status)).toEqual(['succeeded']);
    expect(history.runs[0]?.record.resumes).toEqual([]);
    expect(listMembers(sandbox, vipListId)).toEqual(expected);
    // Nothing lost, nothing sent twice: the list's members and the seed's 3 unsubscribed contacts.
    expect(importedItems(sandbox)).toBe(expected.length + 3);
    // And the state agrees with the list: a rerun finds nothing changed and sends nothing.
    const before = importedItems(sandbox);
    const rerun = await runExportctl(['run', 'everyone'], { cwd: folder, env, timeoutMs: 60_000 });
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(rerun.stdout).toContain('unchanged');
    expect(importedItems(sandbox)).toBe(before);
  }, 240_000);
});

/** Resolves with the first JSON log line of `child` that `match` accepts, once printed. */
async function logLine(
  child: RunningExportctl,
  match: (line: { msg: string; [key: string]: unknown }) => boolean,
  timeoutMs = 30_000,
): Promise<{ msg: string; [key: string]: unknown }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = child
      .output()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { msg: string })
      .find(match);
    if (found) return found;
    if (child.exited) throw new Error(`watch exited before the line was logged:\n${child.output()}`);
    if (Date.now() > deadline) throw new Error(`no such log line in time; output:\n${child.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('exportctl watch on a PostgreSQL state', () => {
  it('applies, runs on its schedule, and goes on after the server restarted under it', async () => {
    const w = await quickstartWorld();
    const schema = `watch_${randomBytes(4).toString('hex')}`;
    const env = {
      EXPORTCTL_STATE: server.url({ database, schema }),
      EXPORTCTL_SECRET_KEY: randomBytes(32).toString('base64'),
    };
    // The quickstart's Refresh cron is "0 */6 * * *": a clock started 10 s before 06:00 fires it 10 s in.
    const watch = w.startExportctl(
      [
        'watch',
        w.manifests,
        '--listen',
        '127.0.0.1:0',
        '--debounce',
        '200ms',
        '--drift-interval',
        '0',
        '--clock-start',
        '2026-11-23T05:59:50Z',
      ],
      env,
    );
    try {
      await logLine(watch, (line) => line.msg === 'watching for changes');
      const scheduled = await logLine(
        watch,
        (line) => line.destination === 'vip-newsletter' && line.status !== undefined,
        60_000,
      );
      expect(scheduled).toMatchObject({ status: 'succeeded', trigger: 'refresh', imported: 464 });

      // Every connection of the watch is cut (its locks' session too); an edit after it still lands.
      await server.restart();
      w.edit('destinations.yaml', (text) =>
        text.replace('displayName: VIP and newsletter subscribers', 'displayName: VIP after restart'),
      );
      await logLine(
        watch,
        (line) => line.msg === 'reconciled: applied' && String(line.reason).includes('destinations.yaml'),
      );
      const spec = server.psql(
        `SELECT spec FROM "${schema}".resources WHERE kind = 'ExportDestination' AND name = 'vip-newsletter'`,
        database,
      );
      expect(JSON.parse(spec)).toMatchObject({ displayName: 'VIP after restart' });
      // The scheduled run is in the PostgreSQL state's history.
      expect(server.psql(`SELECT destination || ' ' || status FROM "${schema}".runs`, database).trim()).toBe(
        'vip-newsletter succeeded',
      );
    } finally {
      watch.kill('SIGTERM');
    }
    const stopped = await watch.result;
    expect(stopped.code, stopped.stderr).toBe(0);
  }, 180_000);
});
