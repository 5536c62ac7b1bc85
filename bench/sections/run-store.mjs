// The run store's backends side by side (issue #15: a full export with the PostgreSQL run store
// within 1.3x the SQLite state's wall), in one run at N generated profiles (1,000,000 unless told),
// against `exportctl sandbox` as a process of its own at Constant Contact's 4 requests/second:
//
//   for each backend (SQLite: the engine's tables in the state file; PostgreSQL: the same control
//   plane, a SQLite state, with the run store in a PostgreSQL server of the bench's own, fsync on),
//   into a fresh sandbox: a full export of one destination selecting every profile, then a
//   no-change rerun.
//
// Each run is a child process of its own that opens the state and calls the engine's `runExport`
// (the CLI cannot pick a PostgreSQL run store yet); wall: spawn to exit; CPU, bytes written, peak
// RSS: the child's own (bench/lib/resource-report.cjs); with PostgreSQL, the server's CPU and bytes
// written during the step beside them (its processes, backends included). Nothing is asserted.
//
//   npm run bench -- run-store                 at 1,000,000 profiles
//   npm run bench -- run-store --size 200000   smaller (also RUN_STORE_BENCH_COUNT)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
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

const schema = 'exportctl';

/** The child side: one export run of `everyone` with the named run store; prints one JSON line. */
async function childRun(root, backend, url) {
  const require = createRequire(import.meta.url);
  const { openExportctlState, runEngineStateFor } = require(join(root, 'dist', 'src', 'wiring'));
  const { runExport } = require(join(root, 'dist', 'src', 'engine'));
  const { PostgresRunStore } = require(join(root, 'dist', 'src', 'engine', 'postgres'));
  const pg = require('pg');
  const store = await openExportctlState('sqlite:state/state.db', { cwd: process.cwd(), env: process.env });
  const pool =
    backend === 'postgres'
      ? new pg.Pool({ connectionString: url, options: `-c search_path=${schema}`, max: 4 })
      : undefined;
  const engine = runEngineStateFor(store);
  const state = pool ? { ...engine, runStore: new PostgresRunStore({ pool, now: Date.now }) } : engine;
  try {
    const result = await runExport({ store: state, destination: 'everyone', actor: 'bench@example.com' });
    const { counts, timingsMs, apiCalls, skipped } = result.record;
    process.stdout.write(
      `${JSON.stringify({ status: result.run.status, error: result.error?.code, counts, timingsMs, apiCalls, skipped })}\n`,
    );
  } finally {
    await pool?.end();
    await store.close();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [root, backend, url] = process.argv.slice(2);
  await childRun(root, backend, url);
  process.exit(0);
}

const manifests = (sandbox) =>
  connectionYaml(sandbox) +
  sourceYaml('segment-membership.csv') +
  destinationYaml('everyone', listId, 'Everyone');

/** The run store's tables in `schema`, with the control plane's `resources` table for their trigger. */
async function migratePostgres(url, root) {
  const require = createRequire(import.meta.url);
  const pg = require('pg');
  const { runEnginePostgresMigrations } = require(join(root, 'dist', 'src', 'engine', 'postgres'));
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`CREATE SCHEMA ${schema}`);
    await client.query(`SET search_path = ${schema}`);
    await client.query(
      `CREATE TABLE resources (kind text NOT NULL, name text NOT NULL, owner text NOT NULL, spec text NOT NULL,
         spec_hash text NOT NULL, generation integer NOT NULL, conditions text NOT NULL DEFAULT '[]',
         remote_facts text, remote_facts_read_at bigint, created_at bigint NOT NULL, updated_at bigint NOT NULL,
         PRIMARY KEY (kind, name))`,
    );
    for (const migration of runEnginePostgresMigrations) {
      await client.query('BEGIN');
      await migration.up(client);
      await client.query('COMMIT');
    }
  } finally {
    await client.end();
  }
}

export default {
  name: 'run-store',
  description:
    'a full export and a no-change rerun with the SQLite run store and with the PostgreSQL one, side by side: wall, CPU, bytes written, peak RSS (and the PostgreSQL server’s CPU and writes)',
  async run({ root, log, options = {} }) {
    const count = Number(options.size ?? process.env.RUN_STORE_BENCH_COUNT ?? 1_000_000);
    if (!Number.isInteger(count) || count < 1) throw new Error(`--size must be a whole number, not ${count}`);
    const folder = join(root, 'bench', '.data', `run-store-${count}-${seed}`);
    rmSync(folder, { recursive: true, force: true });
    const reports = mkdtempSync(join(tmpdir(), 'exportctl-bench-run-store-'));
    const generator = await import(pathToFileURL(join(root, 'scripts', 'generate-profiles.mjs')).href);
    const started = performance.now();
    await writeData(generator, count, join(folder, 'data'), { memberships: true });
    log(
      `data: ${int(count)} generated profiles (seed ${seed}), in ${s((performance.now() - started) / 1000)}`,
    );
    log(
      `load average at the start: ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`,
    );

    const preload = join(root, 'bench', 'lib', 'resource-report.cjs');
    const self = fileURLToPath(import.meta.url);
    const cli = join(root, 'bin', 'exportctl.js');
    const env = {
      PATH: process.env.PATH,
      HOME: folder,
      CC_CLIENT_SECRET: 'sandbox-secret',
      CC_REFRESH_TOKEN: 'sandbox-refresh-token',
      EXPORTCTL_ACTOR: 'bench@example.com',
    };
    const postgres = await startPostgres();
    const rows = [];
    try {
      await migratePostgres(postgres.url(), root);
      for (const backend of ['sqlite', 'postgres']) {
        const cwd = join(folder, backend);
        mkdirSync(cwd, { recursive: true });
        const sandbox = await startSandbox(root);
        try {
          writeFileSync(join(cwd, 'exportctl.yaml'), manifests(sandbox));
          const applied = spawnSync(
            process.execPath,
            [cli, 'apply', '--auto-approve', '--state', 'sqlite:state/state.db', '.'],
            { cwd, encoding: 'utf8', env },
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
              ['--require', preload, self, root, backend, postgres.url()],
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
            // The server's backends exit once the pool closes; the postmaster reaps them at once.
            await new Promise((resolve) => setTimeout(resolve, 200));
            const serverAfter = postgres.usage();
            const usage = JSON.parse(readFileSync(report, 'utf8'));
            const traffic = trafficBetween(before, await sandbox.stats());
            const result = JSON.parse(child.stdout.trim().split('\n').at(-1) ?? '{}');
            const row = {
              backend: backend === 'sqlite' ? 'SQLite' : 'PostgreSQL',
              step,
              wall,
              cpu: usage.userSeconds + usage.systemSeconds,
              written: usage.io.write_bytes,
              rss: usage.peakRssBytes,
              serverCpu: backend === 'postgres' ? serverAfter.cpu - server.cpu : undefined,
              serverWritten: backend === 'postgres' ? serverAfter.written - server.written : undefined,
              traffic,
              result,
            };
            rows.push(row);
            log(
              `${row.backend} ${step}: ${result.status}${result.error ? ` (${result.error})` : ''}${result.skipped ? `, skipped ${result.skipped}` : ''}; ${int(result.counts?.contacts ?? 0)} contacts, ${int(result.counts?.imported ?? 0)} imported; wall ${s(wall)}, CPU ${s(row.cpu)}, written ${MB(row.written)}, peak RSS ${MiB(row.rss)}${row.serverCpu === undefined ? '' : `; server CPU ${s(row.serverCpu)}, server written ${MB(row.serverWritten)}`}; CC ${traffic.requests} requests, ${traffic.writes} writes; phases ${Object.entries(
                result.timingsMs ?? {},
              )
                .map(([phase, ms]) => `${phase} ${(ms / 1000).toFixed(1)}`)
                .join(', ')} s`,
            );
          }
        } finally {
          await sandbox.stop();
        }
      }
    } finally {
      postgres.stop();
    }
    log('');
    log(
      `| run store (${int(count)} profiles) | step | wall | CPU user+sys | written (write_bytes) | peak RSS | server CPU | server written | CC writes |`,
    );
    log('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
    for (const r of rows)
      log(
        `| ${r.backend} | ${r.step} | ${s(r.wall)} | ${s(r.cpu)} | ${MB(r.written)} | ${MiB(r.rss)} | ${r.serverCpu === undefined ? '' : s(r.serverCpu)} | ${r.serverWritten === undefined ? '' : MB(r.serverWritten)} | ${r.traffic.writes} |`,
      );
    const full = (backend) => rows.find((r) => r.backend === backend && r.step === 'full export');
    const ratio = full('PostgreSQL').wall / full('SQLite').wall;
    log('');
    log(
      `full export wall, PostgreSQL / SQLite: ${ratio.toFixed(2)}x (target <= 1.3x: ${ratio <= 1.3 ? 'met' : 'missed'})`,
    );
    log(`load average at the end: ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);
    for (const dir of [folder, reports]) rmSync(dir, { recursive: true, force: true });
  },
};
