// `exportctl sandbox --port 0 --output json [args...]` as a process of its own, for the run section
// (as scripts/sandbox-process.mjs, with extra arguments such as --seed), and its traffic counters.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { get } from 'node:http';
import { join } from 'node:path';
import { processCpuSeconds } from './process-cpu.mjs';

/**
 * GET of a JSON answer on a connection of its own: the bench blocks in spawnSync for a whole step,
 * longer than the sandbox keeps an idle connection open, so a pooled one could be stale.
 */
function getJson(url) {
  return new Promise((resolve, reject) => {
    get(url, { agent: false }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk) => {
        body += chunk;
      });
      response.on('end', () => {
        if (response.statusCode !== 200) reject(new Error(`GET ${url}: ${response.statusCode} ${body}`));
        else resolve(JSON.parse(body));
      });
    }).on('error', reject);
  });
}

/**
 * Starts the sandbox from the build in `root` with `args` added; resolves, once it printed its JSON
 * line, with that line (`url`, `apiUrl`, `tokenUrl`, ...), `stats()` (GET /__sandbox/stats) and
 * `stop()`, which sends SIGTERM and waits for the exit.
 */
export function startSandbox(root, args = []) {
  const child = spawn(
    process.execPath,
    [join(root, 'bin', 'exportctl.js'), 'sandbox', '--port', '0', '--output', 'json', ...args],
    { cwd: root, env: { PATH: process.env.PATH, HOME: root }, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  return new Promise((resolve, reject) => {
    let stdout = '';
    let started = false;
    child.stdout.setEncoding('utf8').on('data', (chunk) => {
      if (started) return; // later output is read and dropped, so that the pipe never fills
      stdout += chunk;
      if (!stdout.includes('\n')) return;
      started = true;
      const line = JSON.parse(stdout.split('\n')[0]);
      resolve({
        ...line,
        stats: () => getJson(`${line.url}/__sandbox/stats`),
        lists: async () => (await getJson(`${line.url}/__sandbox/lists`)).lists,
        /** The sandbox's request log, oldest first (its last 10,000 requests at most). */
        requests: async () => (await getJson(`${line.url}/__sandbox/requests?limit=10000`)).requests,
        /** The sandbox process's CPU so far (user + system, seconds). */
        cpu: () => processCpuSeconds(child.pid),
        /** The sandbox process's peak RSS so far, in bytes (VmHWM). */
        peakRss: () =>
          Number(
            /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? Number.NaN,
          ) * 1024,
        stop: () =>
          new Promise((done) => {
            child.removeAllListeners('exit');
            child.once('exit', done);
            child.kill('SIGTERM');
          }),
      });
    });
    child.once('exit', (code) => reject(new Error(`exportctl sandbox exited with ${code}`)));
  });
}

/** Write routes: any method but GET/HEAD (the token endpoint is not an API route). */
const isWrite = (route) => !/^(GET|HEAD) /.test(route);

/**
 * What the sandbox saw between two `stats()`: API requests, writes (by route), throttled answers
 * and token requests.
 */
export function trafficBetween(before, after) {
  const byRoute = {};
  for (const [route, n] of Object.entries(after.byRoute)) {
    const delta = n - (before.byRoute[route] ?? 0);
    if (delta > 0) byRoute[route] = delta;
  }
  const writesByRoute = Object.fromEntries(Object.entries(byRoute).filter(([route]) => isWrite(route)));
  return {
    requests: after.total - before.total,
    writes: Object.values(writesByRoute).reduce((a, b) => a + b, 0),
    writesByRoute,
    byRoute,
    throttled: after.throttled - before.throttled,
    tokenRequests: after.tokenRequests - before.tokenRequests,
  };
}
