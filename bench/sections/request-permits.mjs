// What the shared rate limiter costs per request: N permits reserved and released one after
// another through each state backend's permit store (a SQLite side file; a PostgreSQL table, the
// server started here on loopback), at a limit high enough that nothing waits, so the figure is the
// store's own time per permit; then the same through a SharedRateLimiter (the process-local limiter
// in front). Options: --permits N (default 2000).

import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPostgres } from '../lib/postgres.mjs';

export default {
  name: 'request-permits',
  description: 'time per request permit of the shared rate limiter, SQLite and PostgreSQL states',
  async run({ root, log, options }) {
    const require = createRequire(import.meta.url);
    const { openExportctlState, rateLimitersFor, findStateBackend } = require(
      join(root, 'dist', 'src', 'wiring'),
    );
    const permits = Number(options.permits ?? 2000);
    // A 1 ms window: permits are forgotten as fast as at 4 a second, so a key holds a few rows.
    const rule = { requestsPerSecond: 1_000_000, windowMs: 1, leaseMs: 30_000 };
    const folder = mkdtempSync(join(tmpdir(), 'exportctl-bench-permits-'));
    const postgres = await startPostgres();
    try {
      const states = {
        sqlite: `sqlite:${join(folder, 'state.db')}`,
        postgres: `${postgres.url()}?schema=bench_permits`,
      };
      for (const [backend, url] of Object.entries(states)) {
        const store = await openExportctlState(url, {
          cwd: folder,
          env: { EXPORTCTL_SECRET_KEY: Buffer.alloc(32, 1).toString('base64') },
        });
        try {
          const permitStore = findStateBackend(store).requestPermits(store);
          let started = performance.now();
          for (let index = 0; index < permits; index++) {
            const answer = await permitStore.reserve('bench-key', rule);
            if (!answer.granted) throw new Error('a permit was refused at an unreachable limit');
            await permitStore.release('bench-key', answer.permit);
          }
          const storeMs = (performance.now() - started) / permits;
          const limiter = rateLimitersFor(store).forApiKey(
            { clientId: 'bench-client', baseUrl: 'http://127.0.0.1:1/v3' },
            { requestsPerSecond: 1_000_000, requestsPerDay: Number.MAX_SAFE_INTEGER },
          );
          started = performance.now();
          for (let index = 0; index < permits; index++) (await limiter.acquire())();
          const limiterMs = (performance.now() - started) / permits;
          log(
            `${backend}: ${permits} permits, store reserve + release ${storeMs.toFixed(2)} ms per permit; through the shared limiter (1 s window: up to ${permits} rows of the key) ${limiterMs.toFixed(2)} ms per permit`,
          );
        } finally {
          await store.close();
        }
      }
    } finally {
      postgres.stop();
      rmSync(folder, { recursive: true, force: true });
    }
  },
};
