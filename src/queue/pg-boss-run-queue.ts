import { randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import PgBoss from 'pg-boss';
import { advisoryKey, type PostgresLocation } from '../state';
import { postgresClientConfig, quoteIdentifier } from '../state/postgres/postgres-connection';
import { StateError } from '../state/state-errors';
import { jobIdOf } from './job-id';
import type {
  ClusterView,
  ClusterWorker,
  QueuedRun,
  QueuedRunResult,
  QueuedTrigger,
  RunQueue,
  RunRequest,
} from './run-queue';

/** The one queue of export runs in a state's queue schema. */
export const RUN_QUEUE = 'exportctl-runs';

/** How often a worker beats its heartbeat and looks for jobs of lost workers. */
const HEARTBEAT_MS = 5_000;
/** A job taken this long ago by no live worker is handed to another (covers fetch-to-claim). */
const LOST_AFTER_SECONDS = 10;
/** Attempts of one job: hand-backs on SIGTERM and lost workers each take one. */
const RETRY_LIMIT = 50;
/** pg-boss's own backstop for a job whose worker never answers again: its longest (24 h). */
const EXPIRE_IN_SECONDS = 24 * 3600 - 60;

/**
 * The queue schema of a state's schema: `<schema>_queue`, a sibling, so that one database holds many
 * states and each has its queue. pg-boss writes the name into its SQL unquoted, so it must be a
 * plain lower-case identifier.
 */
export function queueSchemaOf(stateSchema: string): string {
  const name = `${stateSchema}_queue`;
  if (!/^[a-z_][a-z0-9_]*$/.test(name) || name.length > 63) {
    throw new StateError(
      'state-url-invalid',
      `the state's schema "${stateSchema}" cannot have a run queue: its queue schema ${JSON.stringify(name)} must be lower-case letters, digits and _ (at most 63)`,
      { hint: 'use a plain schema name in the state URL (?schema=exportctl_prod) for watch workers' },
    );
  }
  return name;
}

/** Whether the advisory lock of the bigint column `key` is granted to some session. */
const isGranted = (key: string) => `EXISTS (
  SELECT 1 FROM pg_locks l
  WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
    AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
    AND l.classid::bigint = ((${key} >> 32) & 4294967295) AND l.objid::bigint = (${key} & 4294967295))`;

type Query = (sql: string, params?: unknown[]) => Promise<{ rows: Record<string, unknown>[] }>;

/**
 * The cluster read from the queue schema with any connection of the database: undefined when no
 * worker ever started on this state (`exportctl status` from any machine, `/status`).
 */
export async function readClusterView(query: Query, stateSchema: string): Promise<ClusterView | undefined> {
  const schema = queueSchemaOf(stateSchema);
  const q = quoteIdentifier(schema);
  const exists = await query(
    `SELECT to_regclass($1) IS NOT NULL AS workers, to_regclass($2) IS NOT NULL AS jobs`,
    [`${q}.exportctl_workers`, `${q}.job`],
  );
  if (exists.rows[0]?.workers !== true || exists.rows[0]?.jobs !== true) return undefined;
  const workers = await query(
    `SELECT w.id, w.hostname, w.pid, w.max_concurrent, w.started_at,
            ${isGranted('w.lock_key')} AS alive,
            EXTRACT(EPOCH FROM now() - w.heartbeat_at)::float8 AS age
       FROM ${q}.exportctl_workers w
      WHERE ${isGranted('w.lock_key')} OR w.heartbeat_at > now() - interval '1 hour'
      ORDER BY w.started_at, w.id`,
  );
  const runs = await query(
    `SELECT r.job_id, r.worker_id, r.destination, r.trigger, r.since
       FROM ${q}.exportctl_worker_runs r JOIN ${q}.job j ON j.id = r.job_id AND j.state = 'active'
      ORDER BY r.destination`,
  );
  const counts = await query(
    `SELECT state::text AS state, count(*)::int AS n FROM ${q}.job
      WHERE name = $1 AND state IN ('created', 'retry', 'active') GROUP BY state`,
    [RUN_QUEUE],
  );
  const count = (state: string) => Number(counts.rows.find((row) => row.state === state)?.n ?? 0);
  return {
    queue: `${schema}.${RUN_QUEUE}`,
    workers: workers.rows.map(
      (row): ClusterWorker => ({
        id: String(row.id),
        hostname: String(row.hostname),
        pid: Number(row.pid),
        alive: row.alive === true,
        startedAt: new Date(row.started_at as Date).toISOString(),
        heartbeatAgeSeconds: Math.max(0, Math.round(Number(row.age) * 10) / 10),
        maxConcurrentRuns: Number(row.max_concurrent),
        runs: runs.rows
          .filter((run) => run.worker_id === row.id)
          .map((run) => ({
            destination: String(run.destination),
            trigger: String(run.trigger),
            jobId: String(run.job_id),
            since: new Date(run.since as Date).toISOString(),
          })),
      }),
    ),
    queued: count('created'),
    retrying: count('retry'),
    active: count('active'),
  };
}

export interface PgBossRunQueueOptions {
  /** The state's connection settings (its password is used, never shown). */
  readonly location: PostgresLocation;
  readonly hostname: string;
  readonly pid: number;
  /** Runs of this worker at once (its row says so, for the cluster view). */
  readonly maxConcurrentRuns: number;
  /** Things worth a log line: a lost worker's job handed on, a fetch that failed. */
  readonly onEvent?: (level: 'info' | 'warn', fields: Record<string, unknown>, message: string) => void;
  /** How often an idle slot asks for a job (ms). */
  readonly pollMs?: number;
}

interface JobData {
  destination: string;
  trigger: QueuedTrigger;
  key: string;
}

/**
 * {@link RunQueue} on pg-boss 10 in `<schema>_queue`, beside the state. Each job is one run; its id
 * is derived from its key (a firing, a data change), so N workers enqueueing one firing make one
 * job. The queue's policy is `stately`, per destination: at most one job of a destination waiting
 * and one taken, anywhere, so one destination never runs twice at once and a burst of requests
 * while it runs leaves one run after it.
 *
 * Liveness without comparing clocks: each worker holds a session advisory lock of its own (its
 * row in `exportctl_workers` names the key) on a dedicated connection, and records each job it takes
 * in `exportctl_worker_runs`. The server drops the lock with the session: at once when the process
 * dies (`kill -9`), within about 25 s (keepalives) when its network is cut. Every worker looks every
 * 5 s for taken jobs whose worker's lock is gone and fails them; pg-boss puts them back (retry, no
 * delay) and another worker takes them and resumes the run from its checkpoint (the run lock of the
 * dead process went with its session too).
 */
export class PgBossRunQueue implements RunQueue {
  readonly workerId: string;
  private readonly schema: string;
  private readonly q: string;
  private readonly lockKey: string;
  /** Holds this worker's lock, nothing else: its end is this worker's end, for the others. */
  private session: pg.Client | undefined;
  /** The session broke (server restart, network): the next heartbeat opens a new one. */
  private broken = false;
  /** Heartbeats, claims and cluster reads: any connection does. */
  private readonly pool: pg.Pool;
  /** The jobs this worker runs now, to claim again after its session was renewed. */
  private readonly running = new Map<string, { destination: string; trigger: string }>();
  private heartbeat: NodeJS.Timeout | undefined;
  private taking = false;
  private slots: Promise<void>[] = [];
  private wake: (() => void)[] = [];
  private closed = false;

  private constructor(
    private readonly boss: PgBoss,
    private readonly options: PgBossRunQueueOptions,
  ) {
    this.schema = queueSchemaOf(options.location.schema);
    this.q = quoteIdentifier(this.schema);
    this.workerId = `${options.hostname}:${options.pid}:${randomBytes(3).toString('hex')}`;
    this.lockKey = advisoryKey('worker', options.location.schema, this.workerId);
    this.pool = new pg.Pool({ ...postgresClientConfig(options.location, false), max: 2 });
    this.pool.on('error', () => {}); // an idle connection that broke: the next query opens another
  }

  /** Starts pg-boss on the queue schema (creating or migrating it) and joins the cluster. */
  static async open(options: PgBossRunQueueOptions): Promise<PgBossRunQueue> {
    const schema = queueSchemaOf(options.location.schema);
    const { location } = options;
    const boss = new PgBoss({
      host: location.host,
      port: location.port,
      user: location.user,
      ...(location.password === undefined ? {} : { password: location.password }),
      database: location.database,
      application_name: `${location.applicationName} (queue)`,
      ssl: postgresClientConfig(location, false).ssl,
      schema,
      max: 3,
      schedule: false,
      supervise: true,
      migrate: true,
    });
    // pg-boss reports maintenance failures as events; without a listener they would throw.
    boss.on('error', (error: Error) =>
      options.onEvent?.('warn', { code: (error as { code?: string }).code }, `queue: ${error.message}`),
    );
    const queue = new PgBossRunQueue(boss, options);
    try {
      await queue.join(async () => {
        await boss.start();
        await queue.createQueue();
      });
    } catch (error) {
      await boss.stop({ graceful: false, close: true }).catch(() => {});
      await queue.session?.end().catch(() => {});
      await queue.pool.end().catch(() => {});
      throw error;
    }
    return queue;
  }

  private async createQueue(): Promise<void> {
    const options = {
      name: RUN_QUEUE,
      policy: 'stately' as const,
      retryLimit: RETRY_LIMIT,
      retryDelay: 0,
      retryBackoff: false,
      expireInSeconds: EXPIRE_IN_SECONDS,
    };
    if ((await this.boss.getQueue(RUN_QUEUE)) !== null) return;
    await this.boss.createQueue(RUN_QUEUE, options).catch(async (error: unknown) => {
      // Another worker created it at the same moment.
      if ((await this.boss.getQueue(RUN_QUEUE)) === null) throw error;
    });
  }

  /**
   * Sets the queue up (`setup`: pg-boss's schema and the queue) and creates the cluster tables, one
   * worker at a time: workers starting together on a new state would otherwise create the queue's
   * partition at once and deadlock. Then takes this worker's lock and writes its row.
   */
  private async join(setup: () => Promise<void>): Promise<void> {
    const session = await this.connectSession();
    const q = this.q;
    const setupKey = advisoryKey('queue-setup', this.options.location.schema);
    await session.query('SELECT pg_advisory_lock($1::bigint)', [setupKey]);
    try {
      await setup();
      await session.query('BEGIN');
      await session.query(
        `CREATE TABLE IF NOT EXISTS ${q}.exportctl_workers (
           id TEXT PRIMARY KEY, hostname TEXT NOT NULL, pid INTEGER NOT NULL, lock_key BIGINT NOT NULL,
           max_concurrent INTEGER NOT NULL, started_at TIMESTAMPTZ NOT NULL DEFAULT now(),
           heartbeat_at TIMESTAMPTZ NOT NULL DEFAULT now())`,
      );
      await session.query(
        `CREATE TABLE IF NOT EXISTS ${q}.exportctl_worker_runs (
           job_id UUID PRIMARY KEY, worker_id TEXT NOT NULL, destination TEXT NOT NULL,
           trigger TEXT NOT NULL, since TIMESTAMPTZ NOT NULL DEFAULT now())`,
      );
      await session.query('COMMIT');
    } catch (error) {
      await session.query('ROLLBACK').catch(() => {});
      throw error;
    } finally {
      await session.query('SELECT pg_advisory_unlock($1::bigint)', [setupKey]).catch(() => {});
    }
    await this.takeWorkerLock(session);
    this.heartbeat = setInterval(() => void this.beat(), HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  private async connectSession(): Promise<pg.Client> {
    const session = new pg.Client(postgresClientConfig(this.options.location));
    const broke = (why: string) => {
      if (this.closed || this.broken || this.session !== session) return;
      this.broken = true;
      this.options.onEvent?.(
        'warn',
        { workerId: this.workerId },
        `queue: this worker's session to the database ended (${why}); the others may take over its runs; reconnecting`,
      );
    };
    session.on('error', (error) => broke(error.message));
    session.on('end', () => broke('connection closed'));
    await session.connect();
    this.session = session;
    this.broken = false;
    return session;
  }

  /** Takes this worker's lock on `session` and (re)writes its row and its claims. */
  private async takeWorkerLock(session: pg.Client): Promise<void> {
    const q = this.q;
    await session.query('SELECT pg_advisory_lock($1::bigint)', [this.lockKey]);
    await session.query(
      `INSERT INTO ${q}.exportctl_workers (id, hostname, pid, lock_key, max_concurrent)
       VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO UPDATE SET heartbeat_at = now()`,
      [this.workerId, this.options.hostname, this.options.pid, this.lockKey, this.options.maxConcurrentRuns],
    );
    // Jobs still ours (no one took them over meanwhile) are claimed again; others are no longer ours.
    for (const [jobId, run] of this.running)
      await session.query(
        `INSERT INTO ${q}.exportctl_worker_runs (job_id, worker_id, destination, trigger)
         SELECT $1, $2, $3, $4 WHERE EXISTS (SELECT 1 FROM ${q}.job WHERE id = $1 AND state = 'active')
         ON CONFLICT (job_id) DO NOTHING`,
        [jobId, this.workerId, run.destination, run.trigger],
      );
  }

  /** A new session after the old one broke (the database restarted, the network came back). */
  private async renewSession(): Promise<void> {
    const old = this.session;
    this.session = undefined;
    await old?.end().catch(() => {});
    const session = await this.connectSession();
    await this.takeWorkerLock(session);
    this.options.onEvent?.('info', { workerId: this.workerId }, 'queue: this worker is back in the cluster');
  }

  /** Refreshes this worker's heartbeat and hands on the jobs of lost workers. */
  private async beat(): Promise<void> {
    if (this.closed) return;
    const q = this.q;
    const db = this.pool;
    try {
      if (this.broken || this.session === undefined) await this.renewSession();
      await db.query(`UPDATE ${q}.exportctl_workers SET heartbeat_at = now() WHERE id = $1`, [this.workerId]);
      const lost = await db.query<{ id: string; destination: string | null; worker_id: string | null }>(
        `SELECT j.id, j.data->>'destination' AS destination, r.worker_id
           FROM ${q}.job j LEFT JOIN ${q}.exportctl_worker_runs r ON r.job_id = j.id
          WHERE j.name = $1 AND j.state = 'active'
            AND j.started_on < now() - make_interval(secs => $2)
            AND NOT EXISTS (
              SELECT 1 FROM ${q}.exportctl_workers w
               WHERE w.id = r.worker_id AND ${isGranted('w.lock_key')})`,
        [RUN_QUEUE, LOST_AFTER_SECONDS],
      );
      for (const job of lost.rows) {
        // Its claim goes first: the lost worker, should it come back, finds the job no longer its.
        const unclaimed = await db.query(
          `DELETE FROM ${q}.exportctl_worker_runs WHERE job_id = $1 AND worker_id IS NOT DISTINCT FROM $2::text`,
          [job.id, job.worker_id],
        );
        if (job.worker_id !== null && unclaimed.rowCount === 0) continue; // it finished meanwhile
        await this.boss.fail(RUN_QUEUE, job.id, {
          message: `worker ${job.worker_id ?? '(unknown)'} was lost; another worker continues the run from its checkpoint`,
        });
        this.options.onEvent?.(
          'warn',
          { jobId: job.id, destination: job.destination, lostWorker: job.worker_id },
          `run of ${job.destination ?? '?'} on lost worker ${job.worker_id ?? '(unknown)'} handed back to the queue`,
        );
      }
      if (lost.rows.length > 0) this.notify();
      await db.query(
        `DELETE FROM ${q}.exportctl_workers w
          WHERE w.heartbeat_at < now() - interval '1 day' AND NOT ${isGranted('w.lock_key')}`,
      );
    } catch (error) {
      this.options.onEvent?.(
        'warn',
        { workerId: this.workerId },
        `queue: heartbeat failed: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }

  async enqueue(request: RunRequest): Promise<boolean> {
    const data: JobData = { destination: request.destination, trigger: request.trigger, key: request.key };
    const keyed = jobIdOf(request.key);
    let id = await this.boss.send(RUN_QUEUE, data, { id: keyed, singletonKey: request.destination });
    if (id === null && request.laterChangesShareKey) {
      // The key's job exists: still waiting, it will read this change too; taken or ended, it may
      // have read before it, so this change gets a job of its own (one waiting per destination).
      const existing = await this.boss.getJobById(RUN_QUEUE, keyed, { includeArchive: true });
      if (existing && existing.state !== 'created' && existing.state !== 'retry')
        id = await this.boss.send(RUN_QUEUE, data, { id: randomUUID(), singletonKey: request.destination });
    }
    if (id !== null) this.notify();
    return id !== null;
  }

  async work(concurrency: number, run: (job: QueuedRun) => Promise<QueuedRunResult>): Promise<void> {
    if (this.taking || this.closed) return;
    this.taking = true;
    for (let slot = 0; slot < concurrency; slot++) this.slots.push(this.slot(run));
  }

  private async slot(run: (job: QueuedRun) => Promise<QueuedRunResult>): Promise<void> {
    while (this.taking) {
      let jobs: PgBoss.JobWithMetadata<JobData>[] | null = null;
      try {
        jobs = await this.boss.fetch<JobData>(RUN_QUEUE, { batchSize: 1, includeMetadata: true });
      } catch (error) {
        // Two workers taking the two waiting jobs of one destination: the stately index refuses the
        // second, which simply asks again later.
        if ((error as { code?: string }).code !== '23505')
          this.options.onEvent?.(
            'warn',
            {},
            `queue: fetch failed: ${error instanceof Error ? error.message : String(error)}`,
          );
      }
      const job = jobs?.[0];
      if (!job || !this.taking) {
        if (job) await this.boss.fail(RUN_QUEUE, job.id, { message: 'worker stopping' }).catch(() => {});
        await this.idle();
        continue;
      }
      await this.handle(job, run);
    }
  }

  private async handle(
    job: PgBoss.JobWithMetadata<JobData>,
    run: (job: QueuedRun) => Promise<QueuedRunResult>,
  ): Promise<void> {
    const q = this.q;
    const { destination, trigger, key } = job.data;
    try {
      await this.pool.query(
        `INSERT INTO ${q}.exportctl_worker_runs (job_id, worker_id, destination, trigger)
         VALUES ($1, $2, $3, $4) ON CONFLICT (job_id) DO UPDATE SET worker_id = excluded.worker_id,
           since = now()`,
        [job.id, this.workerId, destination, trigger],
      );
    } catch (error) {
      // Unclaimed, the job would look lost while it runs: hand it back before starting it.
      await this.boss.fail(RUN_QUEUE, job.id, { message: 'could not claim the job' }).catch(() => {});
      this.options.onEvent?.(
        'warn',
        { jobId: job.id, destination },
        `queue: could not claim ${key} (${error instanceof Error ? error.message : String(error)}); handed back`,
      );
      return;
    }
    this.running.set(job.id, { destination, trigger });
    let result: QueuedRunResult;
    try {
      result = await run({ id: job.id, destination, trigger, key, attempt: job.retryCount });
    } catch (error) {
      result = { done: false, reason: error instanceof Error ? error.message : String(error) };
    } finally {
      this.running.delete(job.id);
    }
    // Only the worker that still holds the claim ends the job: a worker found lost meanwhile (its
    // session broke) must not complete the attempt another worker has now.
    const owned = await this.pool
      .query(`DELETE FROM ${q}.exportctl_worker_runs WHERE job_id = $1 AND worker_id = $2`, [
        job.id,
        this.workerId,
      ])
      .then((answer) => (answer.rowCount ?? 0) > 0)
      .catch(() => false);
    if (!owned) {
      this.options.onEvent?.(
        'warn',
        { jobId: job.id, destination },
        `queue: ${key} was handed to another worker while this one ran it; its outcome is that worker's to record`,
      );
      return;
    }
    if (result.done) await this.boss.complete(RUN_QUEUE, job.id, { status: result.status }).catch(() => {});
    else await this.boss.fail(RUN_QUEUE, job.id, { message: result.reason }).catch(() => {});
  }

  private idle(): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, this.options.pollMs ?? 1_000);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake.push(done);
    });
  }

  private notify(): void {
    for (const wake of this.wake.splice(0)) wake();
  }

  async stopTaking(): Promise<void> {
    this.taking = false;
    this.notify();
  }

  async cluster(): Promise<ClusterView> {
    if (this.closed) throw new Error('the run queue is closed');
    const view = await readClusterView(
      (sql, params) => this.pool.query(sql, params) as Promise<{ rows: Record<string, unknown>[] }>,
      this.options.location.schema,
    );
    if (view === undefined) throw new Error('the run queue has no cluster tables');
    return view;
  }

  async close(timeoutMs: number): Promise<void> {
    if (this.closed) return;
    await this.stopTaking();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled(this.slots),
      new Promise((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    this.closed = true;
    if (this.heartbeat) clearInterval(this.heartbeat);
    await this.boss.stop({ graceful: false, close: true }).catch(() => {});
    // Ending the session drops this worker's lock: its row shows it gone at once.
    const session = this.session;
    this.session = undefined;
    await session?.end().catch(() => {});
    await this.pool.end().catch(() => {});
  }
}
