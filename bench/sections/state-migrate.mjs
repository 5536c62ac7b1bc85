// `exportctl state migrate` at size (issue #15): a SQLite state holding one destination's snapshot
// of N confirmed contacts (1,000,000 unless told), a connection with its secrets and tokens and a
// run, copied into an empty schema of a PostgreSQL server of the bench's own (fsync on). Wall: the
// call of `migrateState` (opening both states, the read, the one transaction on the target); peak
// RSS: this process's, which shows that the snapshot is streamed rather than held. The SQLite state
// is filled with SQL (generating a million contacts through real runs would be another bench).
// Nothing is asserted.
//
//   npm run bench -- state-migrate                 1,000,000 snapshot rows
//   npm run bench -- state-migrate --size 100000   smaller
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { int, MiB, s } from '../lib/bench-data.mjs';
import { startPostgres } from '../lib/postgres.mjs';

export default {
  name: 'state-migrate',
  description: 'exportctl state migrate: a SQLite state with N snapshot rows into PostgreSQL',
  async run({ root, log, options }) {
    const size = Number(options.size ?? 1_000_000);
    const require = createRequire(import.meta.url);
    const { openExportctlState, migrateState } = require(join(root, 'dist', 'src', 'wiring'));
    const folder = mkdtempSync(join(tmpdir(), 'exportctl-bench-migrate-'));
    const server = await startPostgres();
    try {
      const env = { EXPORTCTL_SECRET_KEY: randomBytes(32).toString('base64') };
      const from = `sqlite:${join(folder, 'state.db')}`;
      const store = await openExportctlState(from, { cwd: folder, env });
      await store.resources.put({
        kind: 'ExportDestination',
        name: 'everyone',
        owner: 'exportctl',
        spec: {},
      });
      await store.secrets.put('cc', 'clientSecret', 'bench-secret');
      await store.tokens
        .forConnection('cc')
        .save({ refreshToken: 'bench-refresh', bootstrapFingerprint: 'sha256:x', updatedAt: Date.now() });
      const run = await store.runs.start({ destination: 'everyone', trigger: 'manual' });
      await store.runs.finish(run.id, { status: 'succeeded' });
      const insert = store.sqlite.prepare(
        'INSERT INTO export_snapshots (destination, email_key, fingerprint, confirmed_run) VALUES (?, ?, ?, ?)',
      );
      store.sqlite.transaction(() => {
        for (let i = 0; i < size; i++) {
          insert.run(
            'everyone',
            `p${String(i).padStart(7, '0')}@example.com`,
            BigInt.asIntN(64, BigInt(i) * 0x9e3779b97f4a7c15n),
            run.id,
          );
        }
      })();
      await store.close();
      const to = `${server.url('postgres')}?schema=migrated`;
      const rssBefore = process.memoryUsage().rss;
      const server0 = server.usage();
      const cpu0 = process.cpuUsage();
      const started = performance.now();
      const result = await migrateState({ from, to, cwd: folder, env, actor: 'bench' });
      const wall = (performance.now() - started) / 1000;
      const cpu = process.cpuUsage(cpu0);
      const server1 = server.usage();
      log(`snapshot rows copied: ${int(result.copied.snapshotRows)} (of ${int(size)})`);
      log(`wall: ${s(wall)} (${int(result.copied.snapshotRows / wall)} rows/s)`);
      log(
        `exportctl CPU: ${s((cpu.user + cpu.system) / 1e6)}; PostgreSQL CPU: ${s(server1.cpu - server0.cpu)}, written ${MiB(server1.written - server0.written)}`,
      );
      log(
        `peak RSS of this process: ${MiB(process.resourceUsage().maxRSS * 1024)} (RSS before the copy: ${MiB(rssBefore)})`,
      );
    } finally {
      server.stop();
      rmSync(folder, { recursive: true, force: true });
    }
  },
};
