// The run engine's figures (issue #14), all measured in one run at N generated profiles (1,000,000
// unless told), against `exportctl sandbox` running as a process of its own at Constant Contact's
// default 4 requests/second:
//
//   baselines   node startup (`exportctl --version`); a bare parse of profiles.csv with the
//               project's reader (countCsvRecords), and with csv-parse alone for reference; the
//               client alone importing N generated contacts (what `bench -- import` does), into a
//               sandbox of its own
//   scenarios   `exportctl run` of one destination selecting every profile: full export, no-change
//               rerun, 1%-change rerun (the first name of 1 profile in 100 changed); then, into a
//               fresh sandbox with 21 lists, D destinations (20 unless told) on the same source, each
//               selecting a different 1/D of the profiles (segment Snn: profile i is in S((i mod D)+1))
//               into a list of its own: `exportctl run --all` of all of them, compared with
//               `exportctl run` of one of them alone (its slice into list D+1, with another state)
//
// Every step runs as a child process of its own, `node --require bench/lib/resource-report.cjs ...`
// (exportctl's steps as a user runs them: `node bin/exportctl.js run ... --output json`): its wall
// time is measured by this process from spawn to exit; CPU (user + system, every thread of the
// process: the export's worker thread included, from getrusage), peak RSS and bytes written
// (/proc/self/io) are the child's own, read by it as it exits. No sandbox work is in them: the
// sandbox is another process. Constant Contact requests and writes (every method but GET) are
// counted by the sandbox, before and after each step. Nothing is asserted: the figures are printed,
// with a summary table of the issue's targets at the end.
//
//   npm run bench -- run                      the whole section at 1,000,000 profiles
//   npm run bench -- run --size 100000        smaller (also RUN_BENCH_COUNT=100000)
//   npm run bench -- run --destinations 5     D for `run --all` (also RUN_BENCH_DESTINATIONS; 0 skips it)
//   RUN_BENCH_KEEP=1                          keep bench/.data/run-N-SEED/ (data, states) and the JSON resource reports (in the temp dir)
//   RUN_BENCH_CPU_PROF=DIR                    V8 CPU profiles of each step (worker threads' too) in DIR
//                                             (the figures then include the profiler's own cost)
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
  sliceListId,
  sliceName,
  sourceYaml,
  writeData,
  x,
} from '../lib/bench-data.mjs';
import { startSandbox, trafficBetween } from '../lib/sandbox.mjs';

const requestsPerSecond = 4;

/** The child side: one step that is not exportctl itself; prints one JSON line. */
async function childStep(root, step, folder, args) {
  const require = createRequire(import.meta.url);
  const result = { step };
  const csv = join(folder, 'data', 'profiles.csv');
  if (step === 'bare-parse') {
    const profiles = require(join(root, 'dist', 'src', 'profiles'));
    result.rows = await profiles.countCsvRecords(csv);
  } else if (step === 'csv-parse') {
    const { csvParseRecordBatches } = require(join(root, 'dist', 'src', 'profiles', 'csv-records.js'));
    const { createReadStream } = await import('node:fs');
    let rows = 0;
    for await (const batch of csvParseRecordBatches(createReadStream(csv))) rows += batch.length;
    result.rows = rows - 1;
  } else if (step === 'client-import') {
    // As bench/sections/import.mjs: the generator's profiles as contacts (trimmed emails, names cut
    // to 50 characters), cut into batches before the clock starts; timed: the imports, the wait for
    // their activities and a read of the list.
    const [apiUrl, tokenUrl, count] = args;
    const cc = require(join(root, 'dist', 'src', 'constant-contact', 'index.js'));
    const { generateProfiles } = await import(
      pathToFileURL(join(root, 'scripts', 'generate-profiles.mjs')).href
    );
    const contacts = [];
    for (const { profile } of generateProfiles({ count: Number(count), seed })) {
      contacts.push({
        email: profile.EmailAddress.trim(),
        first_name: profile.FirstName.slice(0, 50),
        last_name: profile.LastName.slice(0, 50),
      });
    }
    const batches = [...cc.cutImportBatches(contacts, [listId])];
    const client = new cc.ConstantContactClient({
      connectionName: 'bench',
      credentials: {
        clientId: 'sandbox-client',
        clientSecret: 'sandbox-secret',
        bootstrapRefreshToken: 'sandbox-refresh-token',
      },
      tokenStore: new cc.MemoryTokenStore(),
      endpoints: { api: apiUrl, token: tokenUrl },
    });
    const started = performance.now();
    const ids = [];
    for (const batch of batches) {
      ids.push((await client.importContacts({ contacts: batch.contacts, listIds: [listId] })).activityId);
    }
    const reports = await client.waitForActivities(ids);
    const list = await client.getList(listId);
    result.importSeconds = (performance.now() - started) / 1000;
    result.contacts = contacts.length;
    result.imports = batches.length;
    result.completed = [...reports.values()].filter((r) => r.state === 'completed').length;
    result.members = list.membership_count;
  }
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [root, step, folder, ...args] = process.argv.slice(2);
  await childStep(root, step, folder, args);
  process.exit(0);
}

export default {
  name: 'run',
  description:
    'exportctl run against the sandbox (4 requests/second): full, no-change, 1% change, run --all of D destinations; CPU, bytes written, peak RSS next to wall time, beside a bare parse and the client alone',
  async run({ root, log, options = {} }) {
    const count = Number(options.size ?? process.env.RUN_BENCH_COUNT ?? 1_000_000);
    const slices = Number(options.destinations ?? process.env.RUN_BENCH_DESTINATIONS ?? 20);
    if (!Number.isInteger(count) || count < 1) throw new Error(`--size must be a whole number, not ${count}`);
    if (!Number.isInteger(slices) || slices < 0 || slices > 99)
      throw new Error(`--destinations must be 0 to 99, not ${slices}`);
    const folder = join(root, 'bench', '.data', `run-${count}-${seed}`);
    const keep = process.env.RUN_BENCH_KEEP === '1';
    rmSync(folder, { recursive: true, force: true });
    // The resource reports and the sandbox seed are JSON: outside the repository, where the linter
    // does not look (bench/.data/ is kept with RUN_BENCH_KEEP=1).
    const reports = mkdtempSync(join(tmpdir(), 'exportctl-bench-run-'));
    const generator = await import(pathToFileURL(join(root, 'scripts', 'generate-profiles.mjs')).href);
    let started = performance.now();
    await writeData(generator, count, join(folder, 'data'), { memberships: true, slices });
    log(
      `data: ${int(count)} generated profiles (seed ${seed}), in ${s((performance.now() - started) / 1000)}`,
    );
    log(
      'each step below is a child process of its own; wall: spawn to exit, seen from outside; CPU: user + system of that process, all threads (+ its waited-for children, e.g. git); written (MB = 10^6 bytes): its /proc/self/io write_bytes (bytes it sent to the page cache for disk; cancelled_write_bytes: of files deleted or truncated before writeback) and wchar (every write(2), pipes and sockets included); peak RSS: its getrusage maxrss (MiB); CC: requests and writes (non-GET) the sandbox counted during the step',
    );
    log(
      `load average at the start: ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`,
    );

    const preload = join(root, 'bench', 'lib', 'resource-report.cjs');
    const self = fileURLToPath(import.meta.url);
    const cli = join(root, 'bin', 'exportctl.js');
    const cliEnv = {
      CC_CLIENT_SECRET: 'sandbox-secret',
      CC_REFRESH_TOKEN: 'sandbox-refresh-token',
      EXPORTCTL_ACTOR: 'bench@example.com',
    };
    let reportCount = 0;
    /** Runs `node --require preload ...args` and returns what it used. */
    const measure = (name, args, { cwd = folder, env = {} } = {}) => {
      // The data was just written (hundreds of MB): flush it, so that no step competes with the
      // kernel writing back the generator's output.
      spawnSync('sync');
      const report = join(reports, `${String(++reportCount).padStart(2, '0')}-${name}.json`);
      const profile = process.env.RUN_BENCH_CPU_PROF;
      const flags = profile ? ['--cpu-prof', '--cpu-prof-dir', join(profile, name)] : [];
      const startedAt = Date.now();
      const begin = performance.now();
      const child = spawnSync(process.execPath, ['--require', preload, ...flags, ...args], {
        cwd,
        encoding: 'utf8',
        maxBuffer: 256 * 2 ** 20,
        env: { PATH: process.env.PATH, HOME: folder, ...cliEnv, ...env, BENCH_RESOURCE_REPORT: report },
      });
      const wall = (performance.now() - begin) / 1000;
      if (!existsSync(report))
        throw new Error(
          `${name}: no resource report (exit ${child.status}, ${child.signal}): ${child.stderr}`,
        );
      const usage = JSON.parse(readFileSync(report, 'utf8'));
      const cpu = usage.userSeconds + usage.systemSeconds + usage.childrenSeconds;
      return {
        name,
        wall,
        cpu,
        startedAt,
        ...usage,
        status: child.status,
        stdout: child.stdout,
        stderr: child.stderr,
      };
    };
    const rows = [];
    const usageLine = (m, traffic) =>
      `wall ${s(m.wall)}; CPU ${s(m.cpu)} (user ${s(m.userSeconds)} + sys ${s(m.systemSeconds)}${m.childrenSeconds ? ` + children ${s(m.childrenSeconds)}` : ''}) = ${x(m.cpu / m.wall)} wall; written ${MB(m.io.write_bytes)} (cancelled ${MB(m.io.cancelled_write_bytes)}), wchar ${MB(m.io.wchar)}; peak RSS ${MiB(m.peakRssBytes)}` +
      (traffic
        ? `; CC ${traffic.requests} requests, ${traffic.writes} writes${
            traffic.writes
              ? ` (${Object.entries(traffic.writesByRoute)
                  .map(([route, n]) => `${n} ${route}`)
                  .join(', ')})`
              : ''
          }, ${traffic.throttled} throttled`
        : '');
    const row = (label, m, traffic) => rows.push({ label, m, traffic });

    // Each configuration folder bootstraps its connection with a refresh token of its own (the
    // sandbox rotates them: a token one state used is spent for another).
    const refreshToken = (cwd) => ({
      CC_REFRESH_TOKEN: cwd.endsWith('all') ? 'sandbox-refresh-token-2' : 'sandbox-refresh-token',
    });
    /** `exportctl run ...` in `cwd`, with the sandbox's count of its requests. */
    const runStep = async (label, sandbox, cwd, target) => {
      const before = await sandbox.stats();
      const m = measure(
        label.replace(/\W+/g, '-'),
        [cli, 'run', ...target, '--state', 'sqlite:state/state.db', '--output', 'json'],
        { cwd, env: refreshToken(cwd) },
      );
      const traffic = trafficBetween(before, await sandbox.stats());
      // When the step's first import request reached the sandbox (its log's arrival time), from the
      // spawn: what the engine spent before sending anything.
      const firstImport = (await sandbox.requests()).find(
        (request) => request.at >= m.startedAt && request.route.endsWith('/activities/contacts_json_import'),
      );
      traffic.firstImportSeconds =
        firstImport === undefined ? undefined : (firstImport.at - m.startedAt) / 1000;
      let runs = [];
      try {
        runs = JSON.parse(m.stdout).runs ?? [];
      } catch {
        throw new Error(`${label}: exit ${m.status}, no JSON: ${m.stdout}${m.stderr}`);
      }
      const statuses = runs.map((run) => run.status ?? run.error?.code ?? '?');
      const records = runs.map((run) => run.record).filter(Boolean);
      const sum = (get) => records.reduce((total, record) => total + (get(record) ?? 0), 0);
      log(
        `${label}: ${[...new Set(statuses)].map((st) => `${statuses.filter((v) => v === st).length} ${st}`).join(', ')} (exit ${m.status})`,
      );
      log(`    ${usageLine(m, traffic)}`);
      if (traffic.firstImportSeconds !== undefined)
        log(`    first import request ${s(traffic.firstImportSeconds)} after the start`);
      const phases =
        records.length === 1 && records[0].timingsMs
          ? Object.entries(records[0].timingsMs)
              .filter(([phase]) => phase !== 'total')
              .map(([phase, ms]) => `${phase} ${(ms / 1000).toFixed(1)}`)
              .join(', ')
          : '';
      log(
        `    engine's record: ${int(sum((r) => r.counts?.contacts))} contacts, ${int(sum((r) => r.counts?.imported))} imported; ${sum((r) => r.apiCalls?.total)} API calls, ${sum((r) => r.apiCalls?.writes)} writes${phases ? `; ${phases} s` : ''}`,
      );
      for (const run of runs)
        if (run.error || run.record?.error)
          log(`    ${run.destination}: ${JSON.stringify(run.error ?? run.record.error)}`);
      row(label, m, traffic);
      return { m, traffic, runs };
    };
    const apply = (cwd) => {
      const applied = spawnSync(
        process.execPath,
        [cli, 'apply', '--auto-approve', '--state', 'sqlite:state/state.db', '.'],
        {
          cwd,
          encoding: 'utf8',
          env: { PATH: process.env.PATH, HOME: folder, ...cliEnv, ...refreshToken(cwd) },
        },
      );
      if (applied.status !== 0) throw new Error(`apply in ${cwd} failed: ${applied.stdout}${applied.stderr}`);
    };

    // Baselines.
    const startup = measure('startup', [cli, '--version']);
    log(`node startup + exportctl --version: ${usageLine(startup)}`);
    row('node startup (exportctl --version)', startup);
    const bareM = measure('bare-parse', [self, root, 'bare-parse', folder]);
    const bare = { ...bareM, rows: JSON.parse(bareM.stdout).rows };
    log(
      `bare parse (countCsvRecords, the engine's reader) of profiles.csv, ${int(bare.rows)} rows: ${usageLine(bare)}`,
    );
    row('bare parse of profiles.csv', bare);
    const reference = measure('csv-parse', [self, root, 'csv-parse', folder]);
    log(`  for reference, csv-parse alone: ${usageLine(reference)}`);
    row('(csv-parse alone, for reference)', reference);

    let importSandbox = await startSandbox(root);
    let clientAlone;
    try {
      const before = await importSandbox.stats();
      const m = measure('client-import', [
        self,
        root,
        'client-import',
        folder,
        importSandbox.apiUrl,
        importSandbox.tokenUrl,
        String(count),
      ]);
      const traffic = trafficBetween(before, await importSandbox.stats());
      clientAlone = { ...m, ...JSON.parse(m.stdout), traffic };
      log(
        `client alone (as bench -- import): ${int(clientAlone.contacts)} contacts in ${clientAlone.imports} imports (${clientAlone.completed} completed, list has ${int(clientAlone.members)}): imports + wait ${s(clientAlone.importSeconds)} (the baseline; the process, generating the contacts first: ${usageLine(m, traffic)})`,
      );
      row(
        `client alone (the process: generating the contacts, then the imports: ${s(clientAlone.importSeconds)})`,
        m,
        traffic,
      );
    } finally {
      await importSandbox.stop();
      importSandbox = undefined;
    }

    // One destination selecting every profile.
    const main = join(folder, 'main');
    mkdirSync(main, { recursive: true });
    const sandbox = await startSandbox(root);
    const scenarios = {};
    try {
      writeFileSync(
        join(main, 'exportctl.yaml'),
        connectionYaml(sandbox) +
          sourceYaml('segment-membership.csv') +
          destinationYaml('everyone', listId, 'Everyone'),
      );
      apply(main);
      scenarios.full = await runStep('full export', sandbox, main, ['everyone']);
      scenarios.noChange = await runStep('no-change rerun', sandbox, main, ['everyone']);
      started = performance.now();
      await writeData(generator, count, join(folder, 'data'), { changeEvery: 100 });
      log(`(changed the first name of 1 profile in 100 in ${s((performance.now() - started) / 1000)})`);
      scenarios.onePercent = await runStep('1%-change rerun', sandbox, main, ['everyone']);
      const stats = await sandbox.stats();
      const members = (await sandbox.lists()).find((list) => list.list_id === listId)?.members;
      log(
        `sandbox: ${stats.total} API requests, ${stats.throttled} throttled, busiest 1-second window ${stats.maxInAnySecond} (limit ${requestsPerSecond}); the list has ${members === undefined ? '?' : int(members)} members; the sandbox's peak RSS ${MiB(sandbox.peakRss())}`,
      );
    } finally {
      await sandbox.stop();
    }

    // D destinations on the one source, each its own slice and list.
    if (slices > 0) {
      const seedFile = join(reports, 'slices-seed.json');
      const quickstart = JSON.parse(
        readFileSync(join(root, 'config-examples', 'quickstart', 'sandbox-seed.json'), 'utf8'),
      );
      writeFileSync(
        seedFile,
        JSON.stringify({
          clients: quickstart.clients.map((client) => ({
            ...client,
            refreshTokens: [...client.refreshTokens, 'sandbox-refresh-token-2'],
          })),
          lists: Array.from({ length: slices + 1 }, (_, i) => ({
            listId: sliceListId(i),
            name: `slice ${i + 1}`,
          })),
        }),
      );
      const slicesSandbox = await startSandbox(root, ['--seed', seedFile]);
      try {
        const one = join(folder, 'one');
        const all = join(folder, 'all');
        for (const dir of [one, all]) mkdirSync(dir, { recursive: true });
        writeFileSync(
          join(one, 'exportctl.yaml'),
          connectionYaml(slicesSandbox) +
            sourceYaml('slices.csv') +
            destinationYaml('slice-alone', sliceListId(slices), sliceName(0)),
        );
        writeFileSync(
          join(all, 'exportctl.yaml'),
          connectionYaml(slicesSandbox) +
            sourceYaml('slices.csv') +
            Array.from({ length: slices }, (_, i) =>
              destinationYaml(`slice-${String(i + 1).padStart(2, '0')}`, sliceListId(i), sliceName(i)),
            ).join(''),
        );
        apply(one);
        apply(all);
        log(
          `${slices} destinations on the same source, each selecting 1/${slices} of the profiles (segment Snn) into a list of its own; one of them alone first (its slice S01 into list ${slices + 1}, with another state):`,
        );
        scenarios.oneSlice = await runStep(`one destination (1/${slices})`, slicesSandbox, one, [
          'slice-alone',
        ]);
        // The two steps use two states on one API key, and permits are shared through a state: a
        // second's pause, so that run --all's first requests do not share a server second with the
        // last of the step before (which the key's limit would count together: 429s).
        await new Promise((done) => setTimeout(done, 1_100));
        scenarios.all = await runStep(`run --all, ${slices} destinations`, slicesSandbox, all, ['--all']);
        const stats = await slicesSandbox.stats();
        log(
          `sandbox: ${stats.total} API requests, ${stats.throttled} throttled, busiest 1-second window ${stats.maxInAnySecond} (limit ${requestsPerSecond}); the sandbox's peak RSS ${MiB(slicesSandbox.peakRss())}`,
        );
        if (stats.maxInAnySecond > requestsPerSecond) logBusiestSecond(log, await slicesSandbox.requests());
      } finally {
        await slicesSandbox.stop();
      }
    }

    log('');
    log(
      `| step (${int(count)} profiles) | wall | CPU user+sys | CPU/wall | written (write_bytes) | wchar | peak RSS | CC requests | CC writes |`,
    );
    log('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
    for (const { label, m, traffic } of rows) {
      log(
        `| ${label} | ${s(m.wall)} | ${s(m.cpu)} | ${x(m.cpu / m.wall)} | ${MB(m.io.write_bytes)} | ${MB(m.io.wchar)} | ${MiB(m.peakRssBytes)} | ${traffic?.requests ?? ''} | ${traffic?.writes ?? ''} |`,
      );
    }

    // The issue's figures against their targets.
    const summary = [];
    const figure = (name, measured, target, met, by) =>
      summary.push({ name, measured, target, result: met ? 'met' : `missed (${by})` });
    const full = scenarios.full.m;
    const cpuRatio = full.cpu / bare.cpu;
    figure(
      'full export CPU / bare parse CPU',
      `${x(cpuRatio)} (${s(full.cpu)} / ${s(bare.cpu)})`,
      '<= 5x',
      cpuRatio <= 5,
      `${x(cpuRatio / 5)} the target`,
    );
    const wallRatio = full.wall / clientAlone.importSeconds;
    figure(
      'full export wall / client-alone import wall',
      `${wallRatio.toFixed(2)}x (${s(full.wall)} / ${s(clientAlone.importSeconds)})`,
      '<= 1.4x',
      wallRatio <= 1.4,
      `${(wallRatio / 1.4).toFixed(2)}x the target`,
    );
    figure(
      'bytes written by a full export (write_bytes)',
      `${MB(full.io.write_bytes)} (${MB(full.io.write_bytes - full.io.cancelled_write_bytes)} net of cancelled)`,
      '<= 250 MB',
      full.io.write_bytes <= 250e6,
      `+${MB(full.io.write_bytes - 250e6)}`,
    );
    const exportSteps = [
      ['full', scenarios.full],
      ['no-change', scenarios.noChange],
      ['1%', scenarios.onePercent],
    ];
    const peak = Math.max(...exportSteps.map(([, st]) => st.m.peakRssBytes));
    figure(
      'peak RSS (full / no-change / 1%)',
      exportSteps.map(([, st]) => MiB(st.m.peakRssBytes)).join(' / '),
      '<= 250 MiB',
      peak <= 250 * 2 ** 20,
      `+${MiB(peak - 250 * 2 ** 20)}`,
    );
    const firstImport = scenarios.full.traffic.firstImportSeconds;
    summary.push({
      name: 'full export: time to the first import request (from the spawn)',
      measured: firstImport === undefined ? 'none sent' : s(firstImport),
      target: '(no target: the figure the sends overlap the planning to bring down)',
      result: '',
    });
    const noChange = scenarios.noChange;
    figure(
      'no-change rerun wall',
      s(noChange.m.wall),
      '<= 1.5 s',
      noChange.m.wall <= 1.5,
      `+${s(noChange.m.wall - 1.5)}`,
    );
    figure(
      'no-change rerun writes to Constant Contact',
      String(noChange.traffic.writes),
      '0',
      noChange.traffic.writes === 0,
      `${noChange.traffic.writes} writes`,
    );
    figure(
      'no-change rerun bytes written (write_bytes)',
      `${MB(noChange.m.io.write_bytes)} (${MB(noChange.m.io.write_bytes - noChange.m.io.cancelled_write_bytes)} net of cancelled)`,
      '< 5 MB',
      noChange.m.io.write_bytes < 5e6,
      `+${MB(noChange.m.io.write_bytes - 5e6)}`,
    );
    const onePercent = scenarios.onePercent;
    const onePercentTarget = 4 + onePercent.traffic.requests / requestsPerSecond;
    figure(
      '1%-change rerun wall',
      `${s(onePercent.m.wall)} (${onePercent.traffic.requests} requests)`,
      `<= 4 s + ${onePercent.traffic.requests} requests / ${requestsPerSecond} per s = ${s(onePercentTarget)}`,
      onePercent.m.wall <= onePercentTarget,
      `+${s(onePercent.m.wall - onePercentTarget)}`,
    );
    if (scenarios.all) {
      const allRatio = scenarios.all.m.cpu / scenarios.oneSlice.m.cpu;
      figure(
        `run --all (${slices} destinations) CPU / one destination's`,
        `${x(allRatio)} (${s(scenarios.all.m.cpu)} / ${s(scenarios.oneSlice.m.cpu)}; wall ${s(scenarios.all.m.wall)})`,
        '<= 2.5x',
        allRatio <= 2.5,
        `${x(allRatio / 2.5)} the target`,
      );
    }
    log('');
    log(
      `| figure (${int(count)} profiles${count === 1_000_000 ? '' : '; the targets are for 1,000,000'}) | measured | target | result |`,
    );
    log('| --- | --- | --- | --- |');
    for (const f of summary) log(`| ${f.name} | ${f.measured} | ${f.target} | ${f.result} |`);
    log(`load average at the end: ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);
    if (keep) log(`kept: ${folder} (data, states) and ${reports} (resource reports)`);
    else for (const dir of [folder, reports]) rmSync(dir, { recursive: true, force: true });
  },
};

/**
 * Prints the requests of the busiest 1-second window of a sandbox's log (arrival, route, status), for
 * a run that put more requests into one second than the limit: which requests they were says which
 * path went round the rate limiter.
 */
function logBusiestSecond(log, requests) {
  const api = requests.filter((entry) => entry.route !== 'token').sort((a, b) => a.at - b.at);
  let best = { start: 0, end: 0 };
  for (let start = 0, end = 0; end < api.length; end++) {
    while (api[end].at - api[start].at >= 1000) start += 1;
    if (end - start > best.end - best.start) best = { start, end };
  }
  const first = api[best.start]?.at ?? 0;
  log(`    the busiest second's requests (ms after the first of them):`);
  for (const entry of api.slice(best.start, best.end + 1))
    log(`      +${entry.at - first} ms ${entry.method} ${entry.path} -> ${entry.status}`);
}
