// Watch workers (issue #16): D destinations (20 unless told) of N contacts each (50,000 unless told)
// on 2 API keys (half the destinations on each connection), run by 1 and then by 3 `exportctl watch`
// processes on one PostgreSQL state, each worker on its own checkout of the manifests. The
// manifests are applied first (`exportctl apply`); then the workers start with a clock 8 s before
// the destinations' cron, so every destination fires once in every worker and the queue makes one
// run of each firing.
//
// Timed: from the first run taken from the queue to the last run's end (the workers' log times,
// one machine, one clock). The rate-limit floor is what the two keys cannot beat: a key allowing R
// requests in any second sends its n requests over at least ceil(n / R) - 1 seconds (R at once,
// then R a second later, ...), n counted by the sandbox on that key during the runs; the floor is
// the larger of the two keys'. The sandbox also says the most requests any key saw in one second and
// how many answers were 429 (over its rate): a cluster that exceeds the rate shows it there. Beside
// it, the CPU the runs took (user + system of the workers, the PostgreSQL server and the sandbox, all
// on this machine) over the machine's cores: a wall no run can beat here, whatever the keys allow.
//
//   npm run bench -- workers                                   20 x 50,000, 2 keys at 4 requests/s
//   npm run bench -- workers --size 2000 --destinations 6      smaller
//   npm run bench -- workers --rate 4 --workers 1,3 --slots 4  keys' requests/s, worker counts, --max-concurrent-runs
//   WORKERS_BENCH_KEEP=1                                       keep bench/.data/workers-N-D/ and the worker logs
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { int, MB, s, seed, sliceListId, writeData, x } from '../lib/bench-data.mjs';
import { startPostgres } from '../lib/postgres.mjs';
import { processCpuSeconds } from '../lib/process-cpu.mjs';
import { startSandbox, trafficBetween } from '../lib/sandbox.mjs';

const keys = ['bench-key-1', 'bench-key-2'];
/** The machine's cores: the workers, the server and the sandbox share them. */
const cores = availableParallelism();

const connectionYaml = (sandbox, name, clientId, rate) => `---
apiVersion: exportctl/v1
kind: Connection
metadata: { name: ${name} }
spec:
  type: constant-contact
  dataPrivacyConsent: true
  exportUser: bench@example.com
  auth:
    clientId: ${clientId}
    clientSecret: { env: CC_CLIENT_SECRET }
    refreshToken: { env: CC_REFRESH_TOKEN_${name.toUpperCase().replace(/-/g, '_')} }
  endpoints: { api: ${sandbox.apiUrl}, token: ${sandbox.tokenUrl} }
  limits: { requestsPerSecond: ${rate} }
`;

const manifests = (sandbox, data, destinations, rate) =>
  [
    ...keys.map((key, index) => connectionYaml(sandbox, `key-${index + 1}`, key, rate)),
    `---
apiVersion: exportctl/v1
kind: ProfileSource
metadata: { name: profiles }
spec: { type: csv, profiles: ${data}/profiles.csv, key: CustomerId, segmentMembership: ${data}/segment-membership.csv }
`,
    ...Array.from(
      { length: destinations },
      (_, index) => `---
apiVersion: exportctl/v1
kind: ExportDestination
metadata: { name: dest-${String(index + 1).padStart(2, '0')} }
spec:
  connection: key-${(index % 2) + 1}
  source: profiles
  listId: ${sliceListId(index)}
  dataMatching: { email: EmailAddress, firstName: FirstName, lastName: LastName }
  segments: [Everyone]
  schedule: "0 6 * * *"
`,
    ),
  ].join('');

function sandboxSeed(root, destinations, rate) {
  const base = JSON.parse(
    readFileSync(join(root, 'config-examples', 'quickstart', 'sandbox-seed.json'), 'utf8'),
  );
  return {
    ...base,
    clients: keys.map((clientId) => ({
      clientId,
      clientSecret: 'sandbox-secret',
      refreshTokens: [`${clientId}-refresh`],
      limits: { requestsPerSecond: rate, requestsPerDay: 1_000_000 },
    })),
    lists: Array.from({ length: destinations }, (_, index) => ({
      listId: sliceListId(index),
      name: `Bench ${index + 1}`,
    })),
  };
}

/** Log lines (JSON) of a worker so far. */
const lines = (worker) =>
  worker.output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line));

function startWorker(root, folder, env) {
  const child = spawn(
    process.execPath,
    [
      join(root, 'bin', 'exportctl.js'),
      'watch',
      '.',
      '--drift-interval',
      '0',
      '--lock-timeout',
      '120s',
      '--clock-start',
      '2026-11-23T05:59:52Z',
      '--max-concurrent-runs',
      env.SLOTS,
    ],
    { cwd: folder, env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const worker = { child, output: '', exited: false };
  child.stdout.setEncoding('utf8').on('data', (chunk) => {
    worker.output += chunk;
  });
  child.stderr.setEncoding('utf8').on('data', (chunk) => {
    worker.output += chunk;
  });
  child.once('exit', () => {
    worker.exited = true;
  });
  return worker;
}

export default {
  name: 'workers',
  description:
    'D destinations x N contacts on 2 API keys, by 1 and by 3 watch workers on one PostgreSQL state: total wall against the rate-limit floor of the two keys',
  async run({ root, log, options = {} }) {
    const size = Number(options.size ?? 50_000);
    const destinations = Number(options.destinations ?? 20);
    const rate = Number(options.rate ?? 4);
    const slots = String(options.slots ?? 4);
    const counts = String(options.workers ?? '1,3')
      .split(',')
      .map(Number);
    const folder = join(root, 'bench', '.data', `workers-${size}-${destinations}`);
    rmSync(folder, { recursive: true, force: true });
    const generator = await import(pathToFileURL(join(root, 'scripts', 'generate-profiles.mjs')).href);
    const data = join(folder, 'data');
    await writeData(generator, size, data, { memberships: true });
    log(
      `data: ${int(size)} generated profiles (seed ${seed}), all in segment Everyone; ${destinations} destinations export them, ${destinations / 2} on each of 2 API keys at ${rate} requests/s; ${slots} run slots per worker`,
    );
    const seedFile = join(folder, 'sandbox-seed.json');
    writeFileSync(seedFile, JSON.stringify(sandboxSeed(root, destinations, rate)));
    const postgres = await startPostgres();
    const rows = [];
    try {
      for (const count of counts) {
        const sandbox = await startSandbox(root, ['--seed', seedFile]);
        const started = [];
        try {
          const schema = `bench_workers_${count}`;
          const env = {
            PATH: process.env.PATH,
            HOME: folder,
            EXPORTCTL_STATE: `${postgres.url()}?schema=${schema}`,
            EXPORTCTL_SECRET_KEY: Buffer.alloc(32, 3).toString('base64'),
            EXPORTCTL_ACTOR: 'bench@example.com',
            CC_CLIENT_SECRET: 'sandbox-secret',
            CC_REFRESH_TOKEN_KEY_1: `${keys[0]}-refresh`,
            CC_REFRESH_TOKEN_KEY_2: `${keys[1]}-refresh`,
            GIT_CONFIG_GLOBAL: '/dev/null',
            GIT_CONFIG_NOSYSTEM: '1',
            SLOTS: slots,
          };
          const checkouts = Array.from({ length: count }, (_, index) => {
            const checkout = join(folder, `workers-${count}`, `host-${index + 1}`);
            mkdirSync(checkout, { recursive: true });
            writeFileSync(join(checkout, 'exportctl.yaml'), manifests(sandbox, data, destinations, rate));
            return checkout;
          });
          const apply = spawnSync(
            process.execPath,
            [join(root, 'bin', 'exportctl.js'), 'apply', '.', '--auto-approve'],
            { cwd: checkouts[0], env, encoding: 'utf8' },
          );
          if (apply.status !== 0) throw new Error(`exportctl apply failed: ${apply.stdout}${apply.stderr}`);
          const before = await sandbox.stats();
          const beforeAt = Date.now();
          const workers = checkouts.map((checkout) => startWorker(root, checkout, env));
          started.push(...workers);
          const ends = () =>
            workers.flatMap((worker) =>
              lines(worker).filter(
                (line) => typeof line.destination === 'string' && typeof line.status === 'string',
              ),
            );
          const deadline = Date.now() + 3_600_000;
          const cpuNow = () => {
            const server = postgres.usage();
            return {
              workers: workers.reduce((sum, worker) => sum + processCpuSeconds(worker.child.pid), 0),
              server: server.cpu,
              serverWritten: server.written,
              sandbox: sandbox.cpu(),
            };
          };
          // Every process's CPU once the first run is taken (the wall's start, within a poll): what
          // the workers' startup took (modules, state, queue, the manifests' plan) is left out.
          let cpuAtFirstRun;
          while (new Set(ends().map((line) => line.destination)).size < destinations) {
            if (
              cpuAtFirstRun === undefined &&
              workers.some((worker) => lines(worker).some((line) => line.msg?.startsWith('took ')))
            )
              cpuAtFirstRun = cpuNow();
            const dead = workers.find((worker) => worker.exited);
            if (dead) throw new Error(`a worker exited:\n${dead.output.slice(-4000)}`);
            if (Date.now() > deadline) throw new Error('the runs did not end within an hour');
            await new Promise((resolve) => setTimeout(resolve, 250));
          }
          const after = await sandbox.stats();
          // The CPU the runs took on this machine, every process of them, over the wall's span, read
          // before the workers stop.
          const end = cpuNow();
          const start = cpuAtFirstRun ?? end;
          const cpu = {
            startup: start.workers,
            workers: end.workers - start.workers,
            server: end.server - start.server,
            serverWritten: end.serverWritten - start.serverWritten,
            sandbox: end.sandbox - start.sandbox,
          };
          cpu.total = cpu.workers + cpu.server + cpu.sandbox;
          cpu.floor = cpu.total / cores;
          for (const worker of workers) worker.child.kill('SIGTERM');
          await Promise.all(
            workers.map((worker) =>
              worker.exited ? undefined : new Promise((r) => worker.child.once('exit', r)),
            ),
          );
          const taken = workers.flatMap((worker) =>
            lines(worker).filter((line) => line.msg?.startsWith('took ')),
          );
          const first = Math.min(...taken.map((line) => Date.parse(line.time)));
          const last = Math.max(...ends().map((line) => Date.parse(line.time)));
          const wall = (last - first) / 1000;
          const traffic = trafficBetween(before, after);
          const perKey = keys.map((key) => (after.usedToday[key] ?? 0) - (before.usedToday[key] ?? 0));
          const floor = Math.max(...perKey.map((n) => Math.max(0, Math.ceil(n / rate) - 1)));
          const failed = ends().filter((line) => line.status !== 'succeeded').length;
          const perWorker = workers.map(
            (worker) => lines(worker).filter((line) => line.msg?.startsWith('took ')).length,
          );
          const maxSecond = Math.max(...keys.map((key) => after.maxInAnySecondByClient[key] ?? 0));
          const logged = await sandbox.requests();
          const held = heldFloor(logged, keys, beforeAt, rate);
          log(
            `${count} worker(s): ${destinations} runs (${failed} not succeeded; taken per worker: ${perWorker.join(', ')}) in ${s(wall)}; requests per key ${perKey.map(int).join(' / ')} => floor ${s(floor)}; ${x(wall / floor)} the floor; busiest second on a key: ${maxSecond} requests (rate ${rate}); 429 answers: ${traffic.throttled}`,
          );
          log(
            `    requests per second on each key, from the first run's start:\n${keys.map((key) => `      ${perSecond(logged, key, first).join(' ')}`).join('\n')}`,
          );
          log(
            `    the sandbox's time per request (arrival to answer), per key: mean ${held.meanMs.map((ms) => `${ms.toFixed(0)} ms`).join(' / ')}; a limiter that holds each permit until its answer (as exportctl's does) cannot go faster than ${s(held.floor)} (${x(wall / held.floor)} of it)`,
          );
          log(
            `    CPU (user + system) from the first run taken to the last run's end: workers ${s(cpu.workers)} (and ${s(cpu.startup)} before, starting up), PostgreSQL ${s(cpu.server)} (and ${MB(cpu.serverWritten)} written), sandbox ${s(cpu.sandbox)}: ${s(cpu.total)} on ${cores} cores => no faster than ${s(cpu.floor)} on this machine (${x(wall / cpu.floor)} of it)`,
          );
          rows.push({ count, wall, floor, cpu, maxSecond, throttled: traffic.throttled, failed });
          if (process.env.WORKERS_BENCH_KEEP === '1')
            for (const [index, worker] of workers.entries())
              writeFileSync(join(folder, `workers-${count}`, `worker-${index + 1}.log`), worker.output);
        } finally {
          // A failed step leaves no worker or sandbox behind.
          for (const worker of started) if (!worker.exited) worker.child.kill('SIGKILL');
          await sandbox.stop();
        }
      }
    } finally {
      postgres.stop();
      if (process.env.WORKERS_BENCH_KEEP !== '1') rmSync(folder, { recursive: true, force: true });
    }
    log('');
    log(
      `| workers | wall | rate floor | wall / floor | CPU of the runs | CPU floor (${cores} cores) | wall / CPU floor | busiest second per key (rate) | 429s | runs not succeeded |`,
    );
    log('|---|---|---|---|---|---|---|---|---|---|');
    for (const row of rows)
      log(
        `| ${row.count} | ${s(row.wall)} | ${s(row.floor)} | ${x(row.wall / row.floor)} | ${s(row.cpu.total)} | ${s(row.cpu.floor)} | ${x(row.wall / row.cpu.floor)} | ${row.maxSecond} (${rate}) | ${row.throttled} | ${row.failed} |`,
      );
  },
};

/**
 * The rate floor when every request holds its key's permit from its send until its answer plus the
 * window (the rule that keeps the server's count under the rate whatever the delays): each of a
 * key's R slots is busy for (time to answer + 1 s) per request, so n requests need at least
 * (sum of their times + n s) / R, less the last window. The sandbox's time per request (arrival to
 * answer) is a lower bound of what the client sees, so this floor is too.
 */
function heldFloor(requests, keys, since, rate) {
  const perKey = keys.map((key) =>
    requests.filter(
      (entry) => entry.clientId === key && entry.at >= since && entry.answeredAfterMs !== undefined,
    ),
  );
  const floors = perKey.map((entries) => {
    const busy = entries.reduce((sum, entry) => sum + entry.answeredAfterMs + 1000, 0);
    return Math.max(0, busy / rate - 1000) / 1000;
  });
  return {
    floor: Math.max(...floors),
    meanMs: perKey.map((entries) =>
      entries.length === 0
        ? 0
        : entries.reduce((sum, entry) => sum + entry.answeredAfterMs, 0) / entries.length,
    ),
  };
}

/** A key's API requests in each second from `since` (epoch ms): where the rate went unused. */
function perSecond(requests, key, since) {
  const counts = [];
  for (const entry of requests) {
    if (entry.clientId !== key || entry.at < since) continue;
    const second = Math.floor((entry.at - since) / 1000);
    while (counts.length <= second) counts.push(0);
    counts[second] += 1;
  }
  return counts;
}
