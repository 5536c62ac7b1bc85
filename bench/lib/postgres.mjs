// A throwaway PostgreSQL server for the benches: the machine's binaries (initdb, pg_ctl on PATH), a
// cluster in a temp folder, 127.0.0.1 and a free port only, run as the `postgres` user when the
// bench runs as root (PostgreSQL refuses root). Unlike the test server, durability is PostgreSQL's
// default (fsync, synchronous_commit, full_page_writes on), as the SQLite state's is FULL: the
// figures compare two states that both survive a power loss.
// To look inside a step: BENCH_PG_OPTIONS adds server settings (`-c log_min_duration_statement=250`)
// and BENCH_PG_LOG=FILE keeps the server's log there when the server stops; with
// BENCH_PG_OPTIONS='-c shared_preload_libraries=pg_stat_statements', BENCH_PG_STATEMENTS=FILE writes
// the 30 statements that took the server longest there.
import { execFileSync } from 'node:child_process';
import {
  chownSync,
  copyFileSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { processCpuSeconds } from './process-cpu.mjs';

const freePort = () =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });

/**
 * Starts a server; resolves with `url(database)`, `usage()` (the CPU seconds and bytes written of
 * the server's processes so far, the exited backends included: see below) and `stop()`.
 */
export async function startPostgres() {
  const asRoot = userInfo().uid === 0;
  const run = (command, args) =>
    execFileSync(...(asRoot ? ['runuser', ['-u', 'postgres', '--', command, ...args]] : [command, args]), {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  const folder = mkdtempSync(join(tmpdir(), 'exportctl-bench-pg-'));
  if (asRoot) {
    const id = (flag) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
    chownSync(folder, id('-u'), id('-g'));
  }
  const data = join(folder, 'data');
  run('initdb', ['-D', data, '-U', 'bench', '--auth=trust', '--encoding=UTF8', '--locale=C']);
  const port = await freePort();
  const options = `-c listen_addresses=127.0.0.1 -c port=${port} -c unix_socket_directories=${folder} ${process.env.BENCH_PG_OPTIONS ?? ''}`;
  run('pg_ctl', ['-D', data, '-l', join(folder, 'server.log'), '-o', options, '-w', 'start']);
  const postmaster = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
  return {
    url: (database = 'postgres') => `postgres://bench@127.0.0.1:${port}/${database}`,
    /**
     * CPU (user + system, seconds) and write_bytes of the postmaster and its live children, from
     * /proc: the postmaster's own figures include the children it reaped (the backends of closed
     * connections), so a delta over a step counts every backend that served it.
     */
    usage() {
      const pids = [postmaster];
      for (const entry of readdirSync('/proc')) {
        if (!/^\d+$/.test(entry)) continue;
        try {
          const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
          const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
          if (Number(fields[1]) === postmaster) pids.push(Number(entry));
        } catch {
          // Gone meanwhile.
        }
      }
      let cpu = 0;
      let written = 0;
      for (const pid of pids) {
        cpu += processCpuSeconds(pid);
        try {
          const io = /write_bytes:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/io`, 'utf8'));
          written += Number(io?.[1] ?? 0);
        } catch {
          // Gone meanwhile.
        }
      }
      return { cpu, written };
    },
    stop() {
      if (process.env.BENCH_PG_LOG) copyFileSync(join(folder, 'server.log'), process.env.BENCH_PG_LOG);
      if (process.env.BENCH_PG_STATEMENTS) {
        const top = run('psql', [
          ...['-h', folder, '-p', String(port), '-U', 'bench', '-d', 'postgres', '-X', '-A', '-F', ' | '],
          '-c',
          'CREATE EXTENSION IF NOT EXISTS pg_stat_statements',
          '-c',
          `SELECT calls, round(total_exec_time)::bigint AS ms, rows, left(regexp_replace(query, '\\s+', ' ', 'g'), 160)
           FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT 30`,
        ]);
        writeFileSync(process.env.BENCH_PG_STATEMENTS, top);
      }
      try {
        run('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']);
      } finally {
        rmSync(folder, { recursive: true, force: true });
      }
    },
  };
}
