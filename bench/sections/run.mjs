// The run engine at 1,000,000 profiles: a full export, a no-change rerun and a 1%-change rerun of
// one destination selecting every profile, into `exportctl sandbox` running as its own process at
// Constant Contact's default 4 requests/second; and, in the same run, a bare parse of the same csv.
// Each measurement runs in a child process of its own, so its peak RSS is its own.
//
//   npm run bench run            (RUN_BENCH_COUNT=100000 for a quicker run; RUN_BENCH_CPU_PROF=DIR
//                                 writes each step's V8 CPU profiles, worker threads' too, to DIR)
import { spawnSync } from 'node:child_process';
import { createWriteStream, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { startSandboxProcess } from '../../scripts/sandbox-process.mjs';

const seed = 20261122;
const listId = '04fe9a97-a579-43c5-bb1a-58ed29bf0a6a'; // the quickstart seed's "VIP and newsletter"

/** The child side: one measured step, printed as one JSON line. */
async function measure(root, step, folder) {
  const require = createRequire(import.meta.url);
  const started = performance.now();
  const result = { step };
  if (step === 'bare-parse') {
    const profiles = require(join(root, 'dist', 'src', 'profiles'));
    result.rows = await profiles.countCsvRecords(join(folder, 'data', 'profiles.csv'));
  } else if (step === 'csv-parse') {
    // For reference: the same file through csv-parse alone (the reader before CsvScanner).
    const { csvParseRecordBatches } = require(join(root, 'dist', 'src', 'profiles', 'csv-records.js'));
    const { createReadStream } = await import('node:fs');
    let rows = 0;
    for await (const batch of csvParseRecordBatches(createReadStream(join(folder, 'data', 'profiles.csv')))) {
      rows += batch.length;
    }
    result.rows = rows - 1;
  } else {
    // As `exportctl run` does it: in a worker thread with the bounded heap (exportWorkerHeap).
    const { runExportsInWorker } = require(join(root, 'dist', 'src', 'engine'));
    const [outcome] = await runExportsInWorker({
      state: `sqlite:${join(folder, 'state', 'state.db')}`,
      cwd: folder,
      env: {},
      actor: 'bench@example.com',
      targets: [{ destination: 'everyone', trigger: 'manual' }],
      dryRun: false,
      full: false,
      lockTimeoutMs: 0,
      concurrency: 1,
    });
    if (outcome.failure) throw outcome.failure;
    result.status = outcome.run.status;
    result.error = outcome.error?.message;
    result.record = outcome.record;
  }
  result.seconds = (performance.now() - started) / 1000;
  result.peakRss = process.resourceUsage().maxRSS * 1024;
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [root, step, folder] = process.argv.slice(2);
  await measure(root, step, folder);
  process.exit(0);
}

/**
 * profiles.csv from the generator (as scripts/generate-profiles.mjs writes it), with the first name
 * of every `changeEvery`-th profile changed, and a membership file that puts every profile in one
 * segment "Everyone".
 */
async function writeData(generator, count, folder, changeEvery) {
  mkdirSync(folder, { recursive: true });
  const profiles = createWriteStream(join(folder, 'profiles.csv'));
  const membership = createWriteStream(join(folder, 'segment-membership.csv'));
  const write = (stream, text) =>
    stream.write(text) ? undefined : new Promise((resolve) => stream.once('drain', resolve));
  await write(profiles, 'CustomerId,EmailAddress,FirstName,LastName,Country,LifetimeValue\n');
  await write(membership, 'CustomerId,Segment\n');
  let index = 0;
  for (const { profile } of generator.generateProfiles({ count, seed })) {
    index += 1;
    if (changeEvery && index % changeEvery === 50 % changeEvery)
      profile.FirstName = `${profile.FirstName}-changed`;
    await write(profiles, `${Object.values(profile).map(generator.csvField).join(',')}\n`);
    await write(membership, `${profile.CustomerId},Everyone\n`);
  }
  await Promise.all([profiles, membership].map((stream) => new Promise((resolve) => stream.end(resolve))));
}

const mb = (bytes) => `${Math.round(bytes / 2 ** 20)} MiB`;
const int = (n) => Math.round(n).toLocaleString('en-US');

/** RUN_BENCH_COUNT overrides the size (a quicker run). */
const runCount = Number(process.env.RUN_BENCH_COUNT ?? 1_000_000);

export default {
  name: 'run',
  description: `exportctl run at ${int(runCount)} profiles against the sandbox (4 requests/second): full, no-change, 1% change; and a bare parse`,
  async run({ root, log }) {
    const count = runCount;
    const folder = join(root, 'bench', '.data', `run-${count}-${seed}`);
    const keep = process.env.RUN_BENCH_KEEP === '1';
    rmSync(folder, { recursive: true, force: true });
    const generator = await import(pathToFileURL(join(root, 'scripts', 'generate-profiles.mjs')).href);
    let started = performance.now();
    await writeData(generator, count, join(folder, 'data'), 0);
    log(
      `data: ${int(count)} generated profiles, all in segment "Everyone", in ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );

    const sandbox = await startSandboxProcess(root);
    try {
      writeFileSync(
        join(folder, 'exportctl.yaml'),
        `apiVersion: exportctl/v1
kind: Connection
metadata: { name: sandbox }
spec:
  type: constant-contact
  dataPrivacyConsent: true
  exportUser: bench@example.com
  auth:
    clientId: sandbox-client
    clientSecret: { env: CC_CLIENT_SECRET }
    refreshToken: { env: CC_REFRESH_TOKEN }
  endpoints: { api: ${sandbox.apiUrl}, token: ${sandbox.tokenUrl} }
---
apiVersion: exportctl/v1
kind: ProfileSource
metadata: { name: profiles }
spec:
  type: csv
  profiles: data/profiles.csv
  key: CustomerId
  segmentMembership: data/segment-membership.csv
---
apiVersion: exportctl/v1
kind: ExportDestination
metadata: { name: everyone }
spec:
  connection: sandbox
  source: profiles
  listId: ${listId}
  dataMatching: { email: EmailAddress, firstName: FirstName, lastName: LastName }
  segments: [Everyone]
  schedule: manual
`,
      );
      const applied = spawnSync(
        process.execPath,
        [
          join(root, 'bin', 'exportctl.js'),
          'apply',
          '--auto-approve',
          '--state',
          'sqlite:state/state.db',
          '.',
        ],
        {
          cwd: folder,
          encoding: 'utf8',
          env: {
            PATH: process.env.PATH,
            HOME: folder,
            CC_CLIENT_SECRET: 'sandbox-secret',
            CC_REFRESH_TOKEN: 'sandbox-refresh-token',
            EXPORTCTL_ACTOR: 'bench@example.com',
          },
        },
      );
      if (applied.status !== 0) throw new Error(`apply failed: ${applied.stdout}${applied.stderr}`);

      const self = fileURLToPath(import.meta.url);
      const step = (name) => {
        // The data was just written (hundreds of MB): flush it first, so that a step is not measured
        // competing with the kernel writing back the generator's output.
        spawnSync('sync');
        const profile = process.env.RUN_BENCH_CPU_PROF;
        const flags = profile ? ['--cpu-prof', '--cpu-prof-dir', join(profile, name)] : [];
        const child = spawnSync(process.execPath, [...flags, self, root, name, folder], {
          encoding: 'utf8',
          maxBuffer: 64 * 2 ** 20,
        });
        if (child.status !== 0) throw new Error(`${name} failed: ${child.stderr}`);
        return JSON.parse(child.stdout.trim().split('\n').pop());
      };
      const rows = [];
      const report = (label, r) => {
        const record = r.record;
        const calls = record.apiCalls;
        const imports = Object.values(calls.byPhase).reduce(
          (sum, routes) => sum + (routes['POST /activities/contacts_json_import'] ?? 0),
          0,
        );
        const phases = Object.entries(record.timingsMs)
          .filter(([phase]) => phase !== 'total')
          .map(([phase, ms]) => `${phase} ${(ms / 1000).toFixed(1)}`)
          .join(', ');
        const perPhase = Object.entries(calls.byPhase)
          .map(
            ([phase, routes]) =>
              `${phase}: ${Object.entries(routes)
                .map(([route, n]) => `${n} ${route}`)
                .join(', ')}`,
          )
          .join('; ');
        rows.push({ label, r, imports, calls });
        log(
          `${label}: ${r.status} in ${r.seconds.toFixed(2)} s (${phases}); ${int(record.counts.contacts)} contacts, ${int(record.counts.imported)} imported = ${int(record.counts.contacts / r.seconds)} contacts/s; peak RSS ${mb(r.peakRss)}`,
        );
        log(
          `    ${imports} import calls, ${calls.writes} write calls, ${calls.total} API requests (${calls.failed} failed, ${calls.throttled} throttled): ${perPhase}`,
        );
        if (r.error) log(`    error: ${r.error}`);
      };

      const bare = step('bare-parse');
      log(
        `bare parse (countCsvRecords) of the same profiles.csv: ${int(bare.rows)} rows in ${bare.seconds.toFixed(2)} s; peak RSS ${mb(bare.peakRss)}`,
      );
      const reference = step('csv-parse');
      log(
        `  for reference, csv-parse alone (the reader before CsvScanner): ${reference.seconds.toFixed(2)} s`,
      );
      const full = step('run');
      report('full export', full);
      const expectedImports = Math.ceil(full.record.counts.contacts / 40_000);
      log(
        `    import calls expected ceil(${int(full.record.counts.contacts)} / 40,000) = ${expectedImports}; ${(full.seconds / bare.seconds).toFixed(1)}x the bare parse (${(full.seconds / reference.seconds).toFixed(1)}x csv-parse's)`,
      );
      report('no-change rerun', step('run'));
      started = performance.now();
      await writeData(generator, count, join(folder, 'data'), 100);
      log(
        `(changed the first name of 1 profile in 100 in ${((performance.now() - started) / 1000).toFixed(1)} s)`,
      );
      report('1%-change rerun', step('run'));
      const stats = await (await fetch(`${sandbox.url}/__sandbox/stats`)).json();
      const lists = await (await fetch(`${sandbox.url}/__sandbox/lists`)).json();
      const members = (Array.isArray(lists) ? lists : (lists.lists ?? [])).find(
        (list) => list.list_id === listId,
      )?.members;
      log(
        `sandbox: ${stats.total} API requests, ${stats.throttled} throttled, busiest 1-second window ${stats.maxInAnySecond} (limit 4); the list has ${members === undefined ? '?' : int(members)} members`,
      );
      log('');
      log('| step | wall time | contacts/s | peak RSS | import calls | write calls | all API calls |');
      log('| --- | --- | --- | --- | --- | --- | --- |');
      log(
        `| bare parse of profiles.csv | ${bare.seconds.toFixed(1)} s | ${int(bare.rows / bare.seconds)} rows/s | ${mb(bare.peakRss)} | | | |`,
      );
      log(
        `| (csv-parse alone, for reference) | ${reference.seconds.toFixed(1)} s | ${int(reference.rows / reference.seconds)} rows/s | ${mb(reference.peakRss)} | | | |`,
      );
      for (const { label, r, imports, calls } of rows) {
        log(
          `| ${label} | ${r.seconds.toFixed(1)} s | ${int(r.record.counts.contacts / r.seconds)} | ${mb(r.peakRss)} | ${imports} | ${calls.writes} | ${calls.total} |`,
        );
      }
    } finally {
      await sandbox.stop();
    }
    if (!keep) rmSync(folder, { recursive: true, force: true });
  },
};
