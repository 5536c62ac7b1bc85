// The postgres profile source against the csv one, in one run: the same generated profiles
// (scripts/generate-profiles.mjs; 1,000,000 by default) read by `readContacts` (selection of two
// segments + mapping + normalisation) from the csv files and from PostgreSQL tables loaded from
// them (config-examples/postgres/load-profiles.mjs, COPY). Each read runs in a child process of its
// own, so that its peak RSS and CPU are its own; the server's CPU over the postgres read is
// measured from /proc (bench/lib/postgres.mjs). The data is generated once into bench/.data/.
//
//   npm run bench -- profiles-postgres                 (--size 100000 or PG_SOURCE_BENCH_COUNT for less)
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { startPostgres } from '../lib/postgres.mjs';

const seed = 20261122;
const segments = ['VIP', 'Newsletter'];

/** One read in this process, printed as JSON (the child side). The URL comes from the env. */
async function measure(root, kind, folder) {
  const require = createRequire(import.meta.url);
  const profiles = require(join(root, 'dist', 'src', 'profiles'));
  const base = { key: 'CustomerId', segmentField: 'Segment' };
  const source =
    kind === 'csv'
      ? { type: 'csv', profiles: 'profiles.csv', segmentMembership: 'segment-membership.csv', ...base }
      : profiles.withPostgresUrl(
          {
            type: 'postgres',
            database: { env: 'PROFILES_DATABASE_URL' },
            profiles: 'profiles',
            segmentMembership: 'segment_membership',
            ...base,
          },
          process.env.PROFILES_DATABASE_URL,
        );
  const startRss = process.memoryUsage.rss();
  const started = performance.now();
  const issues = { error: 0, warning: 0 };
  const read = profiles.readContacts({
    source,
    baseDir: folder,
    segments,
    dataMatching: { email: 'EmailAddress', firstName: 'FirstName', lastName: 'LastName' },
    onIssue: (issue) => issues[issue.severity]++,
  });
  let contacts = 0;
  for await (const batch of read.batches()) contacts += batch.length;
  const cpu = process.cpuUsage();
  process.stdout.write(
    `${JSON.stringify({
      kind,
      ...read.summary,
      contacts,
      issues,
      seconds: (performance.now() - started) / 1000,
      cpu: (cpu.user + cpu.system) / 1e6,
      startRss,
      // maxRSS is in KiB: the peak of this whole child process.
      peakRss: process.resourceUsage().maxRSS * 1024,
    })}\n`,
  );
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [root, kind, folder] = process.argv.slice(2);
  await measure(root, kind, folder);
}

const mb = (bytes) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
const int = (n) => Math.round(n).toLocaleString('en-US');

export default {
  name: 'profiles-postgres',
  description: 'postgres profile source vs. the same profiles from csv: read time, CPU, peak RSS',
  async run({ root, log, options }) {
    const count = Number(options.size ?? process.env.PG_SOURCE_BENCH_COUNT ?? 1_000_000);
    const folder = join(root, 'bench', '.data', `profiles-${count}-${seed}`);
    if (!existsSync(join(folder, '.complete'))) {
      rmSync(folder, { recursive: true, force: true });
      const generator = await import(pathToFileURL(join(root, 'scripts', 'generate-profiles.mjs')).href);
      await generator.writeProfileFiles({ count, seed, folder });
      writeFileSync(join(folder, '.complete'), `${count} profiles, seed ${seed}\n`);
    }
    log(`data: ${int(count)} profiles in ${folder}`);
    const server = await startPostgres();
    try {
      execFileSync('psql', [server.url(), '-qc', 'CREATE DATABASE crm'], { stdio: 'pipe' });
      const url = server.url('crm');
      const loadStarted = performance.now();
      execFileSync(
        process.execPath,
        [join(root, 'config-examples', 'postgres', 'load-profiles.mjs'), '--data', folder],
        { env: { ...process.env, PROFILES_DATABASE_URL: url }, stdio: 'pipe' },
      );
      log(`loaded into PostgreSQL (COPY) in ${((performance.now() - loadStarted) / 1000).toFixed(1)} s`);
      const self = fileURLToPath(import.meta.url);
      const results = {};
      for (const kind of ['csv', 'postgres']) {
        const before = server.usage();
        const child = spawnSync(process.execPath, [self, root, kind, folder], {
          encoding: 'utf8',
          env: { ...process.env, PROFILES_DATABASE_URL: url },
        });
        if (child.status !== 0) throw new Error(`${kind} read failed: ${child.stderr}`);
        const r = JSON.parse(child.stdout.trim().split('\n').pop());
        r.serverCpu = server.usage().cpu - before.cpu;
        results[kind] = r;
        log(
          `${kind.padEnd(8)} ${int(r.profileRows)} profile + ${int(r.membershipRows)} membership rows → ${int(r.contacts)} contacts ` +
            `in ${r.seconds.toFixed(2)} s; CPU ${r.cpu.toFixed(2)} s (server ${r.serverCpu.toFixed(2)} s); ` +
            `peak RSS ${mb(r.peakRss)} (at start ${mb(r.startRss)})`,
        );
      }
      const { csv, postgres } = results;
      if (csv.contacts !== postgres.contacts) throw new Error('the two reads gave different contacts');
      log(
        `postgres / csv: read time ${(postgres.seconds / csv.seconds).toFixed(2)}x, client CPU ` +
          `${(postgres.cpu / csv.cpu).toFixed(2)}x, peak RSS ${(postgres.peakRss / csv.peakRss).toFixed(2)}x`,
      );
    } finally {
      server.stop();
    }
  },
};
