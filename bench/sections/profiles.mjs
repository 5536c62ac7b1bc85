// Profile sources at scale: 1,000,000 generated profiles (scripts/generate-profiles.mjs), read
// (a) by a bare csv parse and (b) through segment selection + mapping + normalisation of two
// segments, each in a child process of its own so that its peak RSS is its own. The data is
// generated once into bench/.data/ (gitignored) and reused.
//
//   npm run bench profiles            (PROFILES_BENCH_COUNT=100000 for a quicker run)
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const seed = 20261122;
const segments = ['VIP', 'Newsletter'];

/** Runs one measurement in this process and prints it as JSON (the child side). */
async function measure(root, kind, folder) {
  const require = createRequire(import.meta.url);
  const profiles = require(join(root, 'dist', 'src', 'profiles'));
  const startRss = process.memoryUsage.rss();
  const started = performance.now();
  const result = { kind, startRss };
  if (kind === 'bare-parse') {
    result.profileRows = await profiles.countCsvRecords(join(folder, 'profiles.csv'));
  } else {
    const issues = { error: 0, warning: 0 };
    const read = profiles.readContacts({
      source: {
        type: 'csv',
        profiles: 'profiles.csv',
        segmentMembership: 'segment-membership.csv',
        key: 'CustomerId',
        segmentField: 'Segment',
      },
      baseDir: folder,
      segments,
      dataMatching: { email: 'EmailAddress', firstName: 'FirstName', lastName: 'LastName' },
      onIssue: (issue) => issues[issue.severity]++,
    });
    // The engine's way: batches() (one per chunk of the source), then a contact at a time. At the
    // first batch the selection is built and the profile pass under way: what is live then (after
    // a GC, not timed) is what the read holds for its whole length.
    let contacts = 0;
    let gcMs = 0;
    for await (const batch of read.batches()) {
      if (contacts === 0 && globalThis.gc) {
        const before = performance.now();
        globalThis.gc();
        result.liveHeap = process.memoryUsage().heapUsed;
        gcMs = performance.now() - before;
      }
      contacts += batch.length;
    }
    Object.assign(result, read.summary, { contacts, issues });
    result.seconds = (performance.now() - started - gcMs) / 1000;
  }
  result.seconds ??= (performance.now() - started) / 1000;
  // maxRSS is in KiB: the peak of this whole child process.
  result.peakRss = process.resourceUsage().maxRSS * 1024;
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [root, kind, folder] = process.argv.slice(2);
  await measure(root, kind, folder);
}

const mb = (bytes) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
const int = (n) => Math.round(n).toLocaleString('en-US');

/** PROFILES_BENCH_COUNT overrides the size (a quicker run). */
const profilesCount = Number(process.env.PROFILES_BENCH_COUNT ?? 1_000_000);

export default {
  name: 'profiles',
  description: `csv profile source at ${int(profilesCount)} rows: bare parse vs. selection + mapping + normalisation of two segments`,
  async run({ root, log }) {
    const count = profilesCount;
    const folder = join(root, 'bench', '.data', `profiles-${count}-${seed}`);
    const done = join(folder, '.complete');
    if (existsSync(done)) {
      log(`data: ${folder} (reused; delete it to regenerate)`);
    } else {
      rmSync(folder, { recursive: true, force: true });
      const generator = await import(pathToFileURL(join(root, 'scripts', 'generate-profiles.mjs')).href);
      const started = performance.now();
      await generator.writeProfileFiles({ count, seed, folder });
      writeFileSync(done, `${count} profiles, seed ${seed}\n`);
      log(
        `data: generated ${int(count)} profiles into ${folder} in ${((performance.now() - started) / 1000).toFixed(1)} s`,
      );
    }
    const self = fileURLToPath(import.meta.url);
    for (const kind of ['bare-parse', 'select-map']) {
      const child = spawnSync(process.execPath, ['--expose-gc', self, root, kind, folder], {
        encoding: 'utf8',
      });
      if (child.status !== 0) throw new Error(`${kind} failed: ${child.stderr}`);
      const r = JSON.parse(child.stdout.trim().split('\n').pop());
      if (kind === 'bare-parse') {
        log(
          `(a) bare parse (countCsvRecords): ${int(r.profileRows)} rows in ${r.seconds.toFixed(2)} s = ` +
            `${int(r.profileRows / r.seconds)} rows/s; peak RSS ${mb(r.peakRss)} (at start ${mb(r.startRss)})`,
        );
      } else {
        log(
          `(b) select ${segments.join(' + ')} + map + normalise (readContacts): ${int(r.membershipRows)} membership rows + ` +
            `${int(r.profileRows)} profile rows in ${r.seconds.toFixed(2)} s = ${int(r.profileRows / r.seconds)} profile rows/s ` +
            `(${int((r.profileRows + r.membershipRows) / r.seconds)} rows/s of both); peak RSS ${mb(r.peakRss)} (at start ${mb(r.startRss)})`,
        );
        log(
          `    ${int(r.selectedMembers)} selected members → ${int(r.contacts)} contacts; ` +
            `${int(r.issues.error)} row errors, ${int(r.issues.warning)} warnings; ${int(r.membersWithoutProfile)} members without a profile`,
        );
        log(
          `    live heap during the profile pass (after a GC): ${mb(r.liveHeap)}, mostly the selection of ${int(r.selectedMembers)} keys; ` +
            'peak RSS is higher and varies by tens of MiB between runs with GC timing',
        );
      }
    }
  },
};
