import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

/**
 * A throwaway PostgreSQL server for tests: the machine's own PostgreSQL binaries (`initdb`,
 * `pg_ctl`, on PATH), a cluster in a fresh temp folder, listening on 127.0.0.1 and a free port only.
 * PostgreSQL refuses to run as root, so when the suite runs as root the cluster belongs to the
 * `postgres` user and every server command runs through `runuser -u postgres --`.
 *
 * Password authentication (scram-sha-256) is on for TCP, as on a real server: `url()` carries the
 * password unless asked not to, so tests can check both a wrong password and its redaction.
 * Durability settings are off (fsync, synchronous_commit): a test server needs no crash safety of
 * its own, and the suite runs on 2 cores.
 */
export interface PostgresServer {
  readonly host: '127.0.0.1';
  readonly port: number;
  readonly user: string;
  readonly password: string;
  /** `postgres://user:password@127.0.0.1:port/database[?schema=…]`. */
  url(options?: { database?: string; schema?: string; password?: string | null }): string;
  /** Creates a database (`CREATE DATABASE`) and resolves its name. */
  createDatabase(name?: string): Promise<string>;
  /** Runs SQL through psql as the superuser (trusted local socket), resolving its output. */
  psql(sql: string, database?: string): string;
  /** Stops the server (fast shutdown: connections are cut) and starts it again on the same port. */
  restart(): Promise<void>;
  /** Stops the server (`mode` immediate: as if the machine lost power) without starting it. */
  stop(mode?: 'fast' | 'immediate'): void;
  /** Starts a stopped server again on the same port. */
  start(): void;
  /** Stops the server and removes its folder. Idempotent. */
  dispose(): Promise<void>;
}

const serverUser = 'postgres';
let databases = 0;

/** Starts a server; dispose it in `afterAll`. Throws with a clear hint when PostgreSQL is missing. */
export async function startPostgresServer(): Promise<PostgresServer> {
  const asRoot = userInfo().uid === 0;
  const run = (command: string, args: string[]): string => {
    const [file, argv] = asRoot ? ['runuser', ['-u', serverUser, '--', command, ...args]] : [command, args];
    try {
      return execFileSync(file, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (error) {
      const detail = error as { code?: string; stderr?: string; stdout?: string };
      if (detail.code === 'ENOENT') {
        throw new Error(
          `${command} is not on PATH: the PostgreSQL tests need the PostgreSQL 15+ server binaries (Debian: apt-get install -y postgresql)`,
        );
      }
      throw new Error(`${command} ${args.join(' ')} failed: ${detail.stderr ?? ''}${detail.stdout ?? ''}`);
    }
  };

  const folder = mkdtempSync(join(tmpdir(), 'exportctl-pg-'));
  const data = join(folder, 'data');
  const password = randomBytes(12).toString('hex');
  const user = 'exportctl';
  chmodSync(folder, 0o700);
  writeFileSync(join(folder, 'pwfile'), `${password}\n`, { mode: 0o600 });
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', serverUser], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', serverUser], { encoding: 'utf8' }).trim());
    chownSync(folder, uid, gid);
    chownSync(join(folder, 'pwfile'), uid, gid);
  }
  run('initdb', [
    '-D',
    data,
    '-U',
    user,
    `--pwfile=${join(folder, 'pwfile')}`,
    '--auth-local=trust',
    '--auth-host=scram-sha-256',
    '--encoding=UTF8',
    '--locale=C',
  ]);
  const port = await freePort();
  const options = [
    '-c listen_addresses=127.0.0.1',
    `-c port=${port}`,
    `-c unix_socket_directories=${folder}`,
    '-c fsync=off',
    '-c synchronous_commit=off',
    '-c full_page_writes=off',
    '-c max_connections=200',
  ].join(' ');
  const logFile = join(folder, 'server.log');
  let running = false;
  const start = () => {
    run('pg_ctl', ['-D', data, '-l', logFile, '-o', options, '-w', '-t', '30', 'start']);
    running = true;
  };
  const stop = (mode: 'fast' | 'immediate' = 'fast') => {
    if (!running) return;
    run('pg_ctl', ['-D', data, '-m', mode, '-w', 'stop']);
    running = false;
  };
  // A test process that dies without dispose() must not leave a server behind.
  const onExit = () => {
    if (!running) return;
    const [file, argv] = asRoot
      ? ['runuser', ['-u', serverUser, '--', 'pg_ctl', '-D', data, '-m', 'immediate', 'stop']]
      : ['pg_ctl', ['-D', data, '-m', 'immediate', 'stop']];
    spawnSync(file, argv, { stdio: 'ignore' });
    rmSync(folder, { recursive: true, force: true });
  };
  process.once('exit', onExit);
  start();

  const psql = (sql: string, database = 'postgres') =>
    run('psql', [
      '-h',
      folder,
      '-p',
      String(port),
      '-U',
      user,
      '-d',
      database,
      '-X',
      '-q',
      '-A',
      '-t',
      '-v',
      'ON_ERROR_STOP=1',
      '-c',
      sql,
    ]);

  return {
    host: '127.0.0.1',
    port,
    user,
    password,
    url(opts = {}) {
      const secret = opts.password === null ? '' : `:${encodeURIComponent(opts.password ?? password)}`;
      const query = opts.schema ? `?schema=${encodeURIComponent(opts.schema)}` : '';
      return `postgres://${user}${secret}@127.0.0.1:${port}/${opts.database ?? 'postgres'}${query}`;
    },
    async createDatabase(name) {
      databases += 1;
      const database = name ?? `test_${process.pid}_${databases}`;
      psql(`CREATE DATABASE "${database}"`);
      return database;
    },
    psql,
    async restart() {
      stop('fast');
      start();
    },
    stop,
    start,
    async dispose() {
      process.removeListener('exit', onExit);
      try {
        stop('immediate');
      } finally {
        rmSync(folder, { recursive: true, force: true });
      }
    },
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
