import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultSeedFile, readSandboxSeed, type SandboxHandle } from '../../src/sandbox';
import { everyoneEnv, writeEveryoneData, writeEveryoneManifests } from '../support/everyone-world';
import { connectionYaml, expectedMembers, listMembers, vipListId } from '../support/export-world';
import { type RunningExportctl, runExportctl, startExportctl } from '../support/exportctl-cli';
import { type PostgresServer, startPostgresServer } from '../support/postgres-server';
import { testSandbox } from '../support/sandbox-client';
import { tempFolder } from '../support/temp-folder';

/**
 * Three real `exportctl watch` processes on one PostgreSQL state, each on its own checkout of the
 * same manifests (as on three hosts): they share one run queue.
 */

let server: PostgresServer;
let database: string;
let pool: pg.Pool;
const key = randomBytes(32).toString('base64');

beforeAll(async () => {
  server = await startPostgresServer();
  database = await server.createDatabase('workers');
  pool = new pg.Pool({ connectionString: server.url({ database }), max: 2 });
}, 60_000);

afterAll(async () => {
  await pool?.end();
  await server?.dispose();
});

type LogLine = { msg: string; time: string; [key: string]: unknown };

function logs(child: RunningExportctl): LogLine[] {
  return child
    .output()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as LogLine);
}

async function until<T>(
  what: string,
  probe: () => T | undefined | Promise<T | undefined>,
  timeoutMs: number,
) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await probe();
    if (found !== undefined && found !== false) return found;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** `count` checkouts of the manifests (one per "host"), and the environment of the state. */
function checkouts(sandbox: SandboxHandle, data: string, schedule: string, count: number) {
  const root = tempFolder();
  const folders = Array.from({ length: count }, (_, index) => {
    const folder = join(root, `host-${index + 1}`);
    mkdirSync(folder);
    writeEveryoneManifests(folder, sandbox, data, schedule);
    return folder;
  });
  const schema = `workers_${randomBytes(4).toString('hex')}`;
  const env = {
    ...everyoneEnv,
    EXPORTCTL_STATE: server.url({ database, schema }),
    EXPORTCTL_SECRET_KEY: key,
  };
  return { folders, schema, env };
}

function startWorkers(
  folders: readonly string[],
  env: NodeJS.ProcessEnv,
  extra: readonly string[] = [],
): RunningExportctl[] {
  return folders.map((folder) =>
    startExportctl(
      ['watch', '.', '--drift-interval', '0', '--listen', '127.0.0.1:0', '--lock-timeout', '60s', ...extra],
      { cwd: folder, env, timeoutMs: 170_000 },
    ),
  );
}

const took = (worker: RunningExportctl) =>
  logs(worker).filter((line) => typeof line.jobId === 'string' && line.msg.startsWith('took '));
const runEnds = (worker: RunningExportctl) =>
  logs(worker).filter((line) => line.destination === 'everyone' && typeof line.status === 'string');

async function batchStates(schema: string): Promise<string[]> {
  const { rows } = await pool
    .query<{ state: string }>(`SELECT state FROM "${schema}".export_import_batches ORDER BY run_id, batch`)
    .catch(() => ({ rows: [] as { state: string }[] }));
  return rows.map((row) => row.state);
}

/** The statuses of the destination's runs in the state, oldest first. */
async function runStatuses(schema: string): Promise<string[]> {
  const { rows } = await pool.query<{ status: string }>(
    `SELECT status FROM "${schema}".runs WHERE destination = 'everyone' ORDER BY id`,
  );
  return rows.map((row) => row.status);
}

describe('exportctl watch: three workers on one PostgreSQL state', () => {
  it('applies the manifests once, runs every cron firing exactly once across the workers, and shows the cluster', async () => {
    const data = join(tempFolder(), 'data');
    await writeEveryoneData(data, 300);
    const sandbox = await testSandbox();
    // Every 8 seconds: several firings within the test.
    const { folders, env } = checkouts(sandbox, data, '*/8 * * * * *', 3);
    const workers = startWorkers(folders, env, ['--max-concurrent-runs', '1']);
    try {
      await until(
        'three workers watching',
        () => workers.every((worker) => logs(worker).some((line) => line.msg === 'watching for changes')),
        60_000,
      );
      // The control-plane lock: one worker applied the manifests, the other two found them applied.
      const reconciles = workers.map(
        (worker) => logs(worker).find((line) => line.msg.startsWith('reconciled'))?.msg,
      );
      expect(reconciles.filter((msg) => msg === 'reconciled: applied')).toHaveLength(1);
      expect(reconciles.filter((msg) => msg === 'reconciled: no changes')).toHaveLength(2);

      // Firings whose every worker was up to see them: wait for three of them to have run.
      const firedBy = (fired: string) =>
        workers.map((worker) =>
          logs(worker).filter(
            (line) => line.msg.startsWith('schedule fired for everyone') && line.firedAt === fired,
          ),
        );
      const commonFirings = () => {
        const firings = new Set(
          workers.flatMap((worker) =>
            logs(worker)
              .filter((line) => line.msg.startsWith('schedule fired for everyone'))
              .map((line) => String(line.firedAt)),
          ),
        );
        return [...firings].filter((fired) => firedBy(fired).every((lines) => lines.length === 1)).sort();
      };
      const keyOf = (fired: string) => `schedule:everyone@${fired}`;
      const firings = await until(
        'three firings seen by every worker and run',
        () => {
          const common = commonFirings();
          const ran = common.filter((fired) => {
            const takers = workers.flatMap((worker) =>
              took(worker).filter((line) => line.key === keyOf(fired)),
            );
            return takers.length > 0;
          });
          return ran.length >= 3 ? common.slice(0, 3) : undefined;
        },
        90_000,
      );
      // Let the last of them end before counting.
      await until(
        'the runs of those firings ended',
        () =>
          workers.reduce((sum, worker) => sum + runEnds(worker).length, 0) >=
          workers.reduce((sum, worker) => sum + took(worker).length, 0),
        30_000,
      );
      for (const fired of firings) {
        const lines = firedBy(fired).flat();
        // Each worker asked; exactly one request made the job.
        expect(lines.map((line) => line.answer).sort()).toEqual([
          'already-queued',
          'already-queued',
          'queued',
        ]);
        const takers = workers.flatMap((worker) => took(worker).filter((line) => line.key === keyOf(fired)));
        expect(takers, `firing ${fired}`).toHaveLength(1);
      }
      // Nothing ran twice and nothing failed: every run taken ended once, succeeded.
      const ends = workers.flatMap(runEnds);
      expect(ends.every((line) => line.status === 'succeeded')).toBe(true);
      const keys = workers.flatMap(took).map((line) => String(line.key));
      expect(new Set(keys).size).toBe(keys.length);
      expect(listMembers(sandbox, vipListId)).toEqual(await expectedMembers(data, ['Everyone']));

      // The cluster, as every worker's /status and /metrics and `exportctl status` show it.
      const url = String(
        logs(workers[2] as RunningExportctl).find((line) => typeof line.url === 'string')?.url,
      );
      const status = (await (await fetch(`${url}/status`)).json()) as {
        cluster: { workers: { alive: boolean; heartbeatAgeSeconds: number }[]; queued: number };
      };
      expect(status.cluster.workers.filter((worker) => worker.alive)).toHaveLength(3);
      expect(status.cluster.workers.every((worker) => worker.heartbeatAgeSeconds < 30)).toBe(true);
      const metrics = await (await fetch(`${url}/metrics`)).text();
      expect(metrics).toContain('exportctl_cluster_workers{alive="true"} 3');
      expect(metrics).toMatch(/exportctl_queue_jobs\{state="queued"\} \d/);
      const text = await runExportctl(['status'], { cwd: tempFolder(), env });
      expect(text.code, text.stderr).toBe(0);
      expect(text.stdout).toMatch(/Workers: 3 alive of 3; queue workers_[0-9a-f]+_queue\.exportctl-runs/);
    } finally {
      for (const worker of workers) worker.kill('SIGTERM');
      await Promise.all(workers.map((worker) => worker.done));
    }
    for (const worker of workers) expect(logs(worker).at(-1)?.msg).toBe('stopped');
  }, 180_000);

  it('a change of the source data starts one run across the workers', async () => {
    const data = join(tempFolder(), 'data');
    await writeEveryoneData(data, 300);
    const sandbox = await testSandbox();
    const { folders, env } = checkouts(sandbox, data, 'manual', 3);
    const workers = startWorkers(folders, env, ['--data-stable', '300ms', '--debounce', '200ms']);
    try {
      await until(
        'three workers watching',
        () => workers.every((worker) => logs(worker).some((line) => line.msg === 'watching for changes')),
        60_000,
      );
      // The data replaced the way exports write it: a temp file, then a rename.
      const membership = join(data, 'segment-membership.csv');
      const text = readFileSync(membership, 'utf8');
      writeFileSync(`${membership}.tmp`, text.split('\n').slice(0, 201).join('\n').concat('\n'));
      renameSync(`${membership}.tmp`, membership);
      const asked = () =>
        workers.flatMap((worker) =>
          logs(worker).filter((line) => String(line.key ?? '').startsWith('data:')),
        );
      await until(
        'every worker to ask for the run',
        () =>
          workers.every((worker) =>
            logs(worker).some((line) => String(line.key ?? '').startsWith('data:') && line.answer),
          ),
        30_000,
      );
      await until('the run to end', () => workers.flatMap(runEnds).length > 0, 60_000);
      // Let any second run (there must be none) show itself.
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      expect(asked().filter((line) => line.answer === 'queued')).toHaveLength(1);
      const taken = workers.flatMap(took);
      expect(taken).toHaveLength(1);
      expect(String(taken[0]?.key)).toMatch(/^data:everyone@profiles:/);
      expect(workers.flatMap(runEnds)).toMatchObject([{ status: 'succeeded', trigger: 'refresh' }]);
      expect(listMembers(sandbox, vipListId)).toEqual(await expectedMembers(data, ['Everyone']));
    } finally {
      for (const worker of workers) worker.kill('SIGTERM');
      await Promise.all(workers.map((worker) => worker.done));
    }
  }, 120_000);

  it('six destinations of one API key run at once on three workers: no second carries more than the key allows', async () => {
    const data = join(tempFolder(), 'data');
    await writeEveryoneData(data, 300);
    const lists = Array.from({ length: 6 }, (_, index) => ({
      listId: `7a1e0000-0000-4000-8000-00000000000${index + 1}`,
      name: `Shared key ${index + 1}`,
    }));
    const base = readSandboxSeed(defaultSeedFile());
    // The sandbox lets the client make 100 requests a second: what it counts is what exportctl sent.
    const sandbox = await testSandbox({ seed: { ...base, lists: [...(base.lists ?? []), ...lists] } });
    const { folders, env } = checkouts(sandbox, data, 'manual', 3);
    const manifests = [
      connectionYaml(sandbox, 4),
      `---
apiVersion: exportctl/v1
kind: ProfileSource
metadata: { name: profiles }
spec: { type: csv, profiles: ${data}/profiles.csv, key: CustomerId, segmentMembership: ${data}/segment-membership.csv }
`,
      ...lists.map(
        (list, index) => `---
apiVersion: exportctl/v1
kind: ExportDestination
metadata: { name: shared-${index + 1} }
spec:
  connection: cc
  source: profiles
  listId: ${list.listId}
  dataMatching: { email: EmailAddress, firstName: FirstName, lastName: LastName }
  segments: [Everyone]
  schedule: manual
`,
      ),
    ].join('');
    for (const folder of folders) writeFileSync(join(folder, 'exportctl.yaml'), manifests);
    const workers = startWorkers(folders, env, [
      '--data-stable',
      '300ms',
      '--debounce',
      '200ms',
      '--max-concurrent-runs',
      '2',
    ]);
    const ends = () =>
      workers.flatMap((worker) =>
        logs(worker).filter(
          (line) => String(line.destination ?? '').startsWith('shared-') && typeof line.status === 'string',
        ),
      );
    try {
      await until(
        'three workers watching',
        () => workers.every((worker) => logs(worker).some((line) => line.msg === 'watching for changes')),
        60_000,
      );
      const since = Date.now();
      // One change of the data: each of the six destinations asks for a run, on every worker.
      const membership = join(data, 'segment-membership.csv');
      const text = readFileSync(membership, 'utf8');
      writeFileSync(`${membership}.tmp`, text.split('\n').slice(0, 251).join('\n').concat('\n'));
      renameSync(`${membership}.tmp`, membership);
      await until('the six runs to end', () => (ends().length >= 6 ? true : undefined), 120_000);
      expect(ends().map((line) => line.status)).toEqual(Array(6).fill('succeeded'));
      // They shared the work: more than one worker ran some of them.
      const ranOn = workers.filter((worker) =>
        logs(worker).some(
          (line) => String(line.destination ?? '').startsWith('shared-') && typeof line.status === 'string',
        ),
      );
      expect(ranOn.length).toBeGreaterThan(1);
      // The key's rate held across the three processes, as the sandbox counted it.
      const sent = sandbox.requests().filter((request) => request.at >= since);
      expect(sent.length).toBeGreaterThan(12);
      expect(sandbox.stats().maxInAnySecondByClient['sandbox-client']).toBeLessThanOrEqual(4);
      for (const list of lists)
        expect(listMembers(sandbox, list.listId)).toEqual(await expectedMembers(data, ['Everyone']));
    } finally {
      for (const worker of workers) worker.kill('SIGTERM');
      await Promise.all(workers.map((worker) => worker.done));
    }
  }, 170_000);

  it('the database restarted under idle workers: they rejoin the cluster and take work again', async () => {
    const data = join(tempFolder(), 'data');
    await writeEveryoneData(data, 200);
    const sandbox = await testSandbox();
    const { folders, env } = checkouts(sandbox, data, 'manual', 2);
    const workers = startWorkers(folders, env, ['--data-stable', '300ms', '--debounce', '200ms']);
    const url = (worker: RunningExportctl) =>
      String(logs(worker).find((line) => typeof line.url === 'string')?.url);
    const alive = async (worker: RunningExportctl) => {
      const response = await fetch(`${url(worker)}/status`).catch(() => undefined);
      if (response?.status !== 200) return 0;
      const body = (await response.json()) as { cluster: { workers: { alive: boolean }[] } };
      return body.cluster.workers.filter((item) => item.alive).length;
    };
    try {
      await until(
        'two workers watching',
        () => workers.every((worker) => logs(worker).some((line) => line.msg === 'watching for changes')),
        60_000,
      );
      expect(await alive(workers[0] as RunningExportctl)).toBe(2);
      await server.restart();
      await until(
        'both workers to say their session ended',
        () =>
          workers.every((worker) =>
            logs(worker).some((line) => line.msg.includes('session to the database ended')),
          ),
        30_000,
      );
      await until(
        'both workers back in the cluster',
        async () =>
          workers.every((worker) => logs(worker).some((line) => line.msg.includes('back in the cluster'))) &&
          (await alive(workers[1] as RunningExportctl)) === 2,
        30_000,
      );
      // And they take work: a data change runs once.
      const membership = join(data, 'segment-membership.csv');
      writeFileSync(`${membership}.tmp`, readFileSync(membership, 'utf8'));
      renameSync(`${membership}.tmp`, membership);
      await until('the run to end', () => workers.flatMap(runEnds).length > 0, 60_000);
      expect(workers.flatMap(runEnds)).toMatchObject([{ status: 'succeeded' }]);
      expect(workers.every((worker) => !worker.exited)).toBe(true);
    } finally {
      for (const worker of workers) worker.kill('SIGTERM');
      await Promise.all(workers.map((worker) => worker.done));
    }
  }, 120_000);

  describe('a run in the middle', () => {
    const profiles = 200_000;
    let data: string;
    beforeAll(async () => {
      data = join(tempFolder(), 'data');
      await writeEveryoneData(data, profiles);
    }, 60_000);

    /**
     * Starts three workers on a destination whose cron fires 3 s into their clocks, with imports
     * answered slowly (a run of several batches takes a while), and resolves the worker that took
     * the run once its first batch is confirmed.
     */
    async function runUnderWay() {
      const sandbox = await testSandbox({
        faults: { slow: 1, slowMs: 1_500, paths: ['/activities/contacts_json_import'] },
      });
      const { folders, schema, env } = checkouts(sandbox, data, '*/5 * * * *', 3);
      const workers = startWorkers(folders, env, ['--clock-start', '2026-11-23T05:59:57Z']);
      const holder = await until(
        'a worker to take the run',
        () => workers.find((worker) => took(worker).length > 0),
        60_000,
      );
      await until(
        'the first batch confirmed',
        async () => (await batchStates(schema)).includes('confirmed'),
        60_000,
      );
      expect(await batchStates(schema)).toContain('planned');
      return { sandbox, schema, env, workers, holder };
    }

    async function endsExact(
      sandbox: SandboxHandle,
      others: RunningExportctl[],
      jobId: unknown,
      timeoutMs: number,
    ) {
      const startedAt = Date.now();
      const taker = await until(
        'another worker to take the run up',
        () => others.find((worker) => took(worker).some((line) => line.jobId === jobId)),
        timeoutMs,
      );
      const tookAt = Date.now() - startedAt;
      const end = await until(
        'the resumed run to end',
        () => runEnds(taker).find((line) => line.status !== undefined),
        90_000,
      );
      expect(end).toMatchObject({ status: 'succeeded' });
      const resumed = took(taker).find((line) => line.jobId === jobId);
      expect(Number(resumed?.attempt)).toBeGreaterThan(0);
      // 0 lost, 0 extra: the list holds exactly the segment.
      sandbox.setFaults({});
      expect(listMembers(sandbox, vipListId)).toEqual(await expectedMembers(data, ['Everyone']));
      return tookAt;
    }

    it('kill -9 of the worker running it: another worker takes it up from its checkpoint within 60 s, the list ends exact', async () => {
      const { sandbox, workers, holder, schema } = await runUnderWay();
      try {
        const jobId = took(holder)[0]?.jobId;
        const confirmedBefore = (await batchStates(schema)).filter((state) => state === 'confirmed').length;
        holder.kill('SIGKILL');
        await holder.done;
        const others = workers.filter((worker) => worker !== holder);
        const tookAt = await endsExact(sandbox, others, jobId, 60_000);
        expect(tookAt).toBeLessThan(60_000);
        // A survivor saw the dead worker's lock gone and put its job back.
        expect(others.flatMap(logs).some((line) => line.msg.includes('handed back to the queue'))).toBe(true);
        // It resumed: the one run of the firing, taken up where it stood, ended succeeded.
        expect(await runStatuses(schema)).toEqual(['succeeded']);
        expect(confirmedBefore).toBeGreaterThan(0);
      } finally {
        for (const worker of workers) worker.kill('SIGTERM');
        await Promise.all(workers.map((worker) => worker.done));
      }
    }, 180_000);

    it('SIGTERM of the worker running it: the run pauses at its checkpoint, is handed back, and another worker finishes it', async () => {
      const { sandbox, workers, holder, schema } = await runUnderWay();
      try {
        const jobId = took(holder)[0]?.jobId;
        holder.kill('SIGTERM');
        const stopped = await holder.done;
        expect(stopped.code, stopped.stdout + stopped.stderr).toBe(0);
        expect(runEnds(holder)[0]).toMatchObject({ status: 'paused' });
        expect(logs(holder).at(-1)?.msg).toBe('stopped');
        const states = await batchStates(schema);
        expect(states.filter((state) => state === 'sending' || state === 'submitted')).toEqual([]);
        const others = workers.filter((worker) => worker !== holder);
        // Handed back at once: no waiting for a lost-worker check.
        const tookAt = await endsExact(sandbox, others, jobId, 30_000);
        expect(tookAt).toBeLessThan(15_000);
        // The stopping worker handed it back itself: no survivor had to find it lost.
        expect(others.flatMap(logs).some((line) => line.msg.includes('handed back to the queue'))).toBe(
          false,
        );
        expect(await runStatuses(schema)).toEqual(['succeeded']);
      } finally {
        for (const worker of workers) worker.kill('SIGTERM');
        await Promise.all(workers.map((worker) => worker.done));
      }
    }, 180_000);
  });
});
