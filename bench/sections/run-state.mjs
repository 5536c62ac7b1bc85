// The two state backends side by side through the CLI (issue #15, point 6), in one run: the same
// data (N generated profiles, 1,000,000 unless told) and the same manifests, once with
// `--state sqlite:…` and once with `--state postgres://…` (a server of the bench's own on loopback,
// fsync on: bench/lib/postgres.mjs), each into a fresh `exportctl sandbox` process at Constant
// Contact's 4 requests/second:
//
//   full export       `exportctl run everyone` of one destination selecting every profile
//   no-change rerun   the same again: must send nothing (CC writes 0)
//   plan x 1,000      `exportctl plan` of 1,000 destinations against a state holding them, with the
//                     drift refresh and without (bench/sections/plan.mjs; target < 2 s)
//
// Wall: spawn to exit; CPU (user + system, every thread), bytes written and peak RSS: the child's
// own (bench/lib/resource-report.cjs); for PostgreSQL, the server's CPU and bytes written during the step beside them
// (its processes, the backends included), and for the plans the server's transactions. Nothing is
// asserted: the figures and a side-by-side table are printed.
//
//   npm run bench -- run-state                 at 1,000,000 profiles
//   npm run bench -- run-state --size 100000   smaller (also RUN_STATE_BENCH_COUNT)
//   npm run bench -- run-state --plan-only=1   only the 1,000-destination plans
//   npm run bench -- run-state --backend postgres --no-plan=1   one backend's runs alone
//   npm run bench -- run-state --repeat 3      the backends take turns 3 times; the ratio is of medians
//   RUN_STATE_BENCH_CPU_PROF=DIR   V8 CPU profiles of each step (worker threads' too) in DIR
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  connectionYaml,
  destinationYaml,
  int,
  listId,
  MB,
  MiB,
  s,
  seed,
  sourceYaml,
  writeData,
} from '../lib/bench-data.mjs';
import { startPostgres } from '../lib/postgres.mjs';
import { startSandbox, trafficBetween } from '../lib/sandbox.mjs';
import { planThousand } from './plan.mjs';

const manifests = (sandbox) =>
  connectionYaml(sandbox) +
  sourceYaml('segment-membership.csv') +
  destinationYaml('everyone', listId, 'Everyone');

/** The server's transactions so far in `database` (committed and rolled back), once its stats settle. */
async function transactions(url, database) {
  const require = createRequire(import.meta.url);
  const pg = require('pg');
  // Backends report their counts when their session ends; the CLI's have just ended.
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query(
      'SELECT (xact_commit + xact_rollback)::bigint AS n FROM pg_stat_database WHERE datname = $1',
      [database],
    );
    return Number(rows[0]?.n ?? 0);
  } finally {
    await client.end();
  }
}

export default {
  name: 'run-state',
  description:
    'the CLI on a SQLite state and on a PostgreSQL state side by side: full export, no-change rerun (CC requests and writes), plan of 1,000 destinations',
  async run({ root, log, options = {} }) {
    const count = Number(options.size ?? process.env.RUN_STATE_BENCH_COUNT ?? 1_000_000);
    if (!Number.isInteger(count) || count < 1) throw new Error(`--size must be a whole number, not ${count}`);
    const planOnly = 'plan-only' in options;
    // --backend postgres (or sqlite): that one alone, to look at it (no side-by-side figures).
    const backends = options.backend === undefined ? ['sqlite', 'postgres'] : [options.backend];
    if (!backends.every((backend) => backend === 'sqlite' || backend === 'postgres'))
      throw new Error(`--backend is sqlite or postgres, not ${options.backend}`);
    const planBackends = 'no-plan' in options ? [] : backends;
    const repeat = Number(options.repeat ?? 1);
    if (!Number.isInteger(repeat) || repeat < 1)
      throw new Error(`--repeat must be a whole number, not ${options.repeat}`);
    const folder = join(root, 'bench', '.data', `run-state-${count}-${seed}`);
    rmSync(folder, { recursive: true, force: true });
    const reports = mkdtempSync(join(tmpdir(), 'exportctl-bench-run-state-'));
    log(
      `load average at the start: ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`,
    );
    const postgres = await startPostgres();
    const stateUrl = {
      sqlite: () => 'sqlite:state/state.db',
      postgres: (schema) => `${postgres.url()}?schema=${schema}`,
    };
    const rows = [];
    const plans = [];
    try {
      if (!planOnly) {
        const generator = await import(pathToFileURL(join(root, 'scripts', 'generate-profiles.mjs')).href);
        const started = performance.now();
        await writeData(generator, count, join(folder, 'data'), { memberships: true });
        log(
          `data: ${int(count)} generated profiles (seed ${seed}), in ${s((performance.now() - started) / 1000)}`,
        );
        const preload = join(root, 'bench', 'lib', 'resource-report.cjs');
        const cli = join(root, 'bin', 'exportctl.js');
        const env = {
          PATH: process.env.PATH,
          HOME: folder,
          CC_CLIENT_SECRET: 'sandbox-secret',
          CC_REFRESH_TOKEN: 'sandbox-refresh-token',
          EXPORTCTL_ACTOR: 'bench@example.com',
          EXPORTCTL_SECRET_KEY: Buffer.alloc(32, 5).toString('base64'),
        };
        // With --repeat N, the backends take turns N times, each time on a fresh state and sandbox.
        const turns = Array.from({ length: repeat }, (_, turn) =>
          backends.map((backend) => [backend, turn + 1]),
        );
        for (const [backend, turn] of turns.flat()) {
          const cwd = join(folder, `${backend}-${turn}`);
          mkdirSync(cwd, { recursive: true });
          const state = stateUrl[backend](`run_state_${turn}`);
          const sandbox = await startSandbox(root);
          try {
            writeFileSync(join(cwd, 'exportctl.yaml'), manifests(sandbox));
            const applied = spawnSync(
              process.execPath,
              [cli, 'apply', '--auto-approve', '--state', state, '.'],
              {
                cwd,
                encoding: 'utf8',
                env,
              },
            );
            if (applied.status !== 0) throw new Error(`apply failed: ${applied.stdout}${applied.stderr}`);
            for (const step of ['full export', 'no-change rerun']) {
              spawnSync('sync');
              const report = join(reports, `${backend}-${step.replace(/\W+/g, '-')}.json`);
              const before = await sandbox.stats();
              const server = postgres.usage();
              const begin = performance.now();
              const child = spawnSync(
                process.execPath,
                [
                  '--require',
                  preload,
                  ...(process.env.RUN_STATE_BENCH_CPU_PROF
                    ? [
                        '--cpu-prof',
                        '--cpu-prof-dir',
                        join(process.env.RUN_STATE_BENCH_CPU_PROF, `${backend}-${step.replace(/\W+/g, '-')}`),
                      ]
                    : []),
                  cli,
                  'run',
                  'everyone',
                  '--state',
                  state,
                  '--output',
                  'json',
                ],
                {
                  cwd,
                  encoding: 'utf8',
                  maxBuffer: 64 * 2 ** 20,
                  env: { ...env, BENCH_RESOURCE_REPORT: report },
                },
              );
              const wall = (performance.now() - begin) / 1000;
              if (!existsSync(report))
                throw new Error(`${backend} ${step}: exit ${child.status}: ${child.stderr}`);
              // The server's backends exit with the CLI's connections; the postmaster reaps them at once.
              await new Promise((resolve) => setTimeout(resolve, 200));
              const serverAfter = postgres.usage();
              const usage = JSON.parse(readFileSync(report, 'utf8'));
              const traffic = trafficBetween(before, await sandbox.stats());
              let run = {};
              try {
                run = JSON.parse(child.stdout).runs?.[0] ?? {};
              } catch {
                throw new Error(
                  `${backend} ${step}: exit ${child.status}, no JSON: ${child.stdout}${child.stderr}`,
                );
              }
              const record = run.record ?? {};
              const row = {
                backend: backend === 'sqlite' ? 'SQLite' : 'PostgreSQL',
                turn,
                step,
                wall,
                cpu: usage.userSeconds + usage.systemSeconds + usage.childrenSeconds,
                written: usage.io.write_bytes,
                rss: usage.peakRssBytes,
                serverCpu: backend === 'postgres' ? serverAfter.cpu - server.cpu : undefined,
                serverWritten: backend === 'postgres' ? serverAfter.written - server.written : undefined,
                traffic,
                status: run.status ?? run.error?.code ?? `exit ${child.status}`,
                record,
              };
              rows.push(row);
              log(
                `${row.backend} ${step}${repeat > 1 ? ` (turn ${turn})` : ''}: ${row.status}${record.skipped ? `, skipped ${record.skipped}` : ''}; ${int(record.counts?.contacts ?? 0)} contacts, ${int(record.counts?.imported ?? 0)} imported; wall ${s(wall)}, CPU ${s(row.cpu)}, written ${MB(row.written)}, peak RSS ${MiB(row.rss)}${row.serverCpu === undefined ? '' : `; server CPU ${s(row.serverCpu)}, server written ${MB(row.serverWritten)}`}; CC ${traffic.requests} requests, ${traffic.writes} writes`,
              );
              const phases = Object.entries(record.timingsMs ?? {}).filter(([phase]) => phase !== 'total');
              if (phases.length > 0)
                log(`  phases: ${phases.map(([phase, ms]) => `${phase} ${s(ms / 1000)}`).join(', ')}`);
            }
          } finally {
            await sandbox.stop();
          }
        }
      }
      for (const backend of planBackends) {
        const label = backend === 'sqlite' ? 'SQLite' : 'PostgreSQL';
        const measured = await planThousand({
          root,
          log,
          label: `${label}: `,
          ...(backend === 'sqlite'
            ? {}
            : {
                state: () => stateUrl.postgres('plan_1000'),
                statements: () => transactions(postgres.url(), 'postgres'),
              }),
        });
        plans.push({ backend: label, ...measured });
      }
    } finally {
      postgres.stop();
      for (const dir of [folder, reports]) rmSync(dir, { recursive: true, force: true });
    }
    log('');
    if (rows.length > 0) {
      log(
        `| state (${int(count)} profiles) | step | wall | CPU user+sys | written | peak RSS | server CPU | server written | CC requests | CC writes |`,
      );
      log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
      for (const r of rows)
        log(
          `| ${r.backend} | ${r.step}${repeat > 1 ? ` (turn ${r.turn})` : ''} | ${s(r.wall)} | ${s(r.cpu)} | ${MB(r.written)} | ${MiB(r.rss)} | ${r.serverCpu === undefined ? '' : s(r.serverCpu)} | ${r.serverWritten === undefined ? '' : MB(r.serverWritten)} | ${r.traffic.requests} | ${r.traffic.writes} |`,
        );
    }
    log('');
    log(
      '| state | plan of 1,000 destinations, with refresh | without refresh | state transactions (with / without) |',
    );
    log('| --- | --- | --- | --- |');
    for (const p of plans)
      log(
        `| ${p.backend} | ${s(p.plan.ms / 1000)} | ${s(p.fast.ms / 1000)} | ${p.plan.statements === undefined ? '' : `${p.plan.statements} / ${p.fast.statements}`} |`,
      );
    log('');
    if (rows.length > 0 && backends.length === 2) {
      // The median of each backend's turns (the lower middle of an even count), then their ratio.
      const medianWall = (backend) => {
        const walls = rows
          .filter((r) => r.backend === backend && r.step === 'full export')
          .map((r) => r.wall)
          .sort((a, b) => a - b);
        return walls[Math.floor((walls.length - 1) / 2)];
      };
      const ratio = medianWall('PostgreSQL') / medianWall('SQLite');
      log(
        `full export wall, PostgreSQL / SQLite${repeat > 1 ? ` (medians of ${repeat} turns each: ${s(medianWall('PostgreSQL'))} / ${s(medianWall('SQLite'))})` : ''}: ${ratio.toFixed(2)}x (target <= 1.3x: ${ratio <= 1.3 ? 'met' : 'missed'})`,
      );
    }
    for (const backend of ['SQLite', 'PostgreSQL']) {
      const reruns = rows.filter((r) => r.backend === backend && r.step === 'no-change rerun');
      if (reruns.length === 0) continue;
      const writes = reruns.map((r) => r.traffic.writes);
      log(
        `${backend} no-change rerun: ${writes.join(' / ')} CC writes (target 0: ${writes.every((n) => n === 0) ? 'met' : 'missed'})`,
      );
    }
    for (const p of plans)
      log(
        `${p.backend} plan of 1,000 destinations: ${s(p.plan.ms / 1000)} with refresh (target < 2 s: ${p.plan.ms < 2000 ? 'met' : 'missed'})`,
      );
    log(`load average at the end: ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);
  },
};
