import { statSync } from 'node:fs';
import { relative } from 'node:path';
import type { Logger } from 'pino';
import {
  type ExportDestinationSpec,
  hasErrors,
  loadManifests,
  type Problem,
  type ProfileSourceSpec,
  problemPlace,
  type RefreshSpec,
} from '../config';
import { destinationSchedule } from '../engine/due-destinations';
import { lastRuns } from '../engine/last-runs';
import { locatedSourceSpec, recordedSourceFolder, sourceWatchPaths } from '../profiles';
import { firingKey, type QueuedRun, type QueuedRunResult, type RunQueue } from '../queue/run-queue';
import { applyPlan, computePlan, observeDrift } from '../reconcile';
import { createHandlerContext } from '../resources/live-handler-context';
import { withStoredSourceSecrets } from '../resources/profile-source-secrets';
import {
  CONTROL_PLANE_LOCK,
  type LockHandle,
  LockTimeoutError,
  lockCheck,
  type RunRecord,
  resourceState,
  type StateStore,
  stateReason,
} from '../state';
import { rateLimitersFor } from '../wiring/state-rate-limiters';
import { DataFileWatcher } from './data-file-watcher';
import { ManifestWatcher } from './manifest-watcher';
import type { WatchNotifier } from './notifications';
import { type ExportRunner, RunCoordinator, type RunOutcome, type WatchTrigger } from './run-coordinator';
import { type DestinationSchedule, RunScheduler } from './run-scheduler';
import { SourceChangeWatchers } from './source-change-watchers';
import type { WatchClock } from './watch-clock';
import type { WatchMetrics } from './watch-metrics';

export interface WatchServiceOptions {
  readonly paths: readonly string[];
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
  /** The open state; watch mode keeps it for its lifetime. */
  readonly store: StateStore;
  readonly actor: string | undefined;
  /** Delete what the manifests no longer declare (only when asked). */
  readonly prune: boolean;
  /** A burst of saves within this is one reconcile. */
  readonly debounceMs: number;
  /** How often remote facts are re-read (0: never). */
  readonly driftIntervalMs: number;
  /** A data file must stay unchanged this long before it counts as changed. */
  readonly dataStableMs: number;
  readonly maxConcurrentRuns: number;
  /** How long a reconcile waits for the control-plane lock. */
  readonly lockTimeoutMs: number;
  readonly clock: WatchClock;
  readonly logger: Logger;
  readonly metrics: WatchMetrics;
  /** Runs one export; given the service's store. */
  readonly runner: ExportRunner;
  /**
   * The run queue shared with the other watch processes of the state (PostgreSQL): firings and data
   * changes are enqueued, and this process works the queue with `maxConcurrentRuns` slots. Without
   * it (SQLite) this process runs everything itself.
   */
  readonly queue?: RunQueue;
  /** Tells the administrators about failures, Stalled resources and recoveries (Access notifications). */
  readonly notifier?: WatchNotifier;
}

export interface ReconcileReport {
  readonly at: string;
  readonly reason: string;
  readonly result: 'applied' | 'no-changes' | 'invalid' | 'failed';
  readonly problems: readonly { code: string; where: string; message: string }[];
  readonly changes: number;
  readonly failures: number;
}

/**
 * `exportctl watch`: reconciles whenever the manifests change (debounced; never two at once; a change
 * that does not validate applies nothing and leaves the last good state in force), runs exports on
 * their schedules and when their source data changes, re-reads remote facts periodically, and stops
 * cleanly on request (runs stop at their next checkpoint).
 */
export class WatchService {
  private readonly manifests: ManifestWatcher;
  private readonly dataFiles: DataFileWatcher;
  private readonly databases: SourceChangeWatchers;
  private readonly scheduler: RunScheduler;
  private readonly coordinator: RunCoordinator;
  private queue: Promise<void> = Promise.resolve();
  private pendingReconcile: NodeJS.Timeout | undefined;
  private pendingReasons = new Set<string>();
  private driftTimer: NodeJS.Timeout | undefined;
  private readonly sourceDebounce = new Map<string, NodeJS.Timeout>();
  private lastReport: ReconcileReport | undefined;
  private ready = false;
  private stopping = false;
  private starting: Promise<void> | undefined;
  private readonly lastRuns = new Map<
    string,
    { trigger: WatchTrigger; outcome: RunOutcome; finishedAt: string }
  >();

  constructor(private readonly options: WatchServiceOptions) {
    const { logger, metrics } = options;
    this.manifests = new ManifestWatcher(options.paths, options.cwd, (file) =>
      this.requestReconcile(`${relative(options.cwd, file) || file} changed`),
    );
    this.dataFiles = new DataFileWatcher(options.dataStableMs, (source, file) =>
      this.sourceChanged(source, { file }),
    );
    this.databases = new SourceChangeWatchers(
      (source, what) => this.sourceChanged(source, { database: what }),
      (source, error) =>
        logger.warn(
          { source, code: error.code, hint: error.hint },
          `checking ${source} for changes failed: ${error.message}`,
        ),
    );
    this.coordinator = new RunCoordinator(options.runner, {
      maxConcurrent: options.maxConcurrentRuns,
      onStart: (destination, trigger) =>
        logger.info({ destination, trigger }, `run of ${destination} started (${trigger})`),
      onFinish: (destination, trigger, outcome, durationMs) => {
        metrics.runs.inc({ destination, result: outcome.status });
        metrics.runDuration.observe({ destination }, durationMs / 1000);
        metrics.contactsExported.inc({ destination }, outcome.imported);
        metrics.contactsRemoved.inc({ destination }, outcome.removed);
        if (outcome.status === 'succeeded')
          metrics.lastSuccessfulRun.set({ destination }, this.options.clock.now() / 1000);
        this.lastRuns.set(destination, {
          trigger,
          outcome,
          finishedAt: new Date(this.options.clock.now()).toISOString(),
        });
        this.options.notifier?.runFinished(destination, outcome);
        const fields = {
          destination,
          trigger,
          status: outcome.status,
          imported: outcome.imported,
          removed: outcome.removed,
          durationMs: Math.round(durationMs),
        };
        if (outcome.status === 'succeeded') logger.info(fields, `run of ${destination} ${outcome.status}`);
        else
          logger.warn(
            { ...fields, reason: outcome.message },
            `run of ${destination} ${outcome.status}: ${outcome.message ?? ''}`,
          );
      },
    });
    this.scheduler = new RunScheduler(options.clock, (schedule, firedAt) => {
      if (options.queue) {
        this.enqueueRun(schedule.destination, schedule.trigger, firingKey(schedule.destination, firedAt), {
          cron: schedule.cron,
          firedAt: new Date(firedAt).toISOString(),
        });
        return;
      }
      const answer = this.coordinator.request(schedule.destination, schedule.trigger, 'schedule');
      logger.info(
        {
          destination: schedule.destination,
          cron: schedule.cron,
          firedAt: new Date(firedAt).toISOString(),
          answer,
        },
        `schedule fired for ${schedule.destination}: ${answer}`,
      );
    });
  }

  /**
   * Puts a run in the shared queue; every worker asks for the same key, one job comes of it. The log
   * line says whether this worker's request made the job (`queued`) or found it made (`already queued`).
   */
  private enqueueRun(
    destination: string,
    trigger: WatchTrigger,
    key: string,
    fields: Record<string, unknown>,
    laterChangesShareKey = false,
  ): void {
    const queue = this.options.queue;
    if (!queue || this.stopping) return;
    const what = key.startsWith('schedule:') ? `schedule fired for ${destination}` : `run of ${destination}`;
    queue
      .enqueue({ destination, trigger, key, ...(laterChangesShareKey ? { laterChangesShareKey } : {}) })
      .then(
        (created) =>
          this.options.logger.info(
            { destination, key, ...fields, answer: created ? 'queued' : 'already-queued' },
            `${what}: ${created ? 'queued' : 'already queued'}`,
          ),
        (error: unknown) =>
          this.options.logger.error(
            { destination, key, err: error },
            `${what}: could not be queued: ${error instanceof Error ? error.message : String(error)}`,
          ),
      );
  }

  /** One job of the shared queue, run here; handed back when this worker stops in its middle. */
  private async runQueued(job: QueuedRun): Promise<QueuedRunResult> {
    this.options.logger.info(
      { destination: job.destination, jobId: job.id, key: job.key, attempt: job.attempt },
      `took ${job.key} from the queue${job.attempt > 0 ? ` (attempt ${job.attempt + 1}: resuming)` : ''}`,
    );
    const outcome = await this.coordinator.run(job.destination, job.trigger);
    if (outcome.status === 'paused' && this.coordinator.isStopping)
      return {
        done: false,
        reason: 'the worker stopped; the run paused at its checkpoint for another worker',
      };
    return { done: true, status: outcome.status };
  }

  /** Reconciles once, then watches. Resolves when watching. */
  start(): Promise<void> {
    this.starting ??= this.startWatching();
    return this.starting;
  }

  private async startWatching(): Promise<void> {
    await this.enqueue(() => this.reconcile('start'));
    if (this.stopping) return;
    await this.manifests.start();
    if (this.options.queue)
      await this.options.queue.work(this.options.maxConcurrentRuns, (job) => this.runQueued(job));
    if (this.options.driftIntervalMs > 0) {
      this.driftTimer = setInterval(
        () => void this.enqueue(() => this.checkDrift()),
        this.options.driftIntervalMs,
      );
      this.driftTimer.unref();
    }
    this.options.logger.info(
      { paths: this.options.paths, prune: this.options.prune },
      'watching for changes',
    );
  }

  /** True once a reconcile applied cleanly. */
  isReady(): boolean {
    return this.ready;
  }

  /** The `/status` document. */
  async status(): Promise<unknown> {
    const { store } = this.options;
    const resources = await store.resources.list();
    // The last real run: a dry run (`exportctl run --dry-run` beside watch) never stands in for it.
    const history = new Map<string, RunRecord | undefined>();
    for (const resource of resources) {
      if (resource.kind === 'ExportDestination')
        history.set(resource.name, (await lastRuns(store.runs, resource.name)).run);
    }
    const next = this.scheduler.nextRuns();
    const queue = this.options.queue;
    return {
      state: store.location,
      ready: this.ready,
      ...(queue ? { worker: queue.workerId, cluster: await queue.cluster() } : {}),
      lastReconcile: this.lastReport ?? null,
      runsInProgress: this.coordinator.active(),
      resources: resources.map((resource) => {
        const why = stateReason(resource);
        const run = history.get(resource.name);
        return {
          kind: resource.kind,
          name: resource.name,
          owner: resource.owner,
          state: resourceState(resource),
          reason: why?.reason ?? null,
          message: why?.message ?? null,
          ...(resource.kind === 'ExportDestination'
            ? {
                nextScheduledRun: next[resource.name]
                  ? new Date(next[resource.name] ?? 0).toISOString()
                  : null,
                lastRun: run
                  ? {
                      id: run.id,
                      status: run.status,
                      trigger: run.trigger,
                      startedAt: new Date(run.startedAt).toISOString(),
                    }
                  : null,
                lastRunInThisProcess: this.lastRuns.get(resource.name) ?? null,
              }
            : {}),
        };
      }),
    };
  }

  /** Stops taking work, lets runs reach a checkpoint (up to `timeoutMs`), and releases everything. */
  async stop(timeoutMs: number): Promise<boolean> {
    this.stopping = true;
    if (this.pendingReconcile) clearTimeout(this.pendingReconcile);
    if (this.driftTimer) clearInterval(this.driftTimer);
    for (const timer of this.sourceDebounce.values()) clearTimeout(timer);
    this.scheduler.stop();
    await this.options.queue?.stopTaking();
    // The runs stop at their checkpoint while the reconcile in progress (if any) ends; the watchers
    // close last, so that nothing they start after this point outlives the service.
    const [runsStopped] = await Promise.all([
      this.coordinator.stop(timeoutMs),
      this.starting?.catch(() => undefined),
      this.queue,
    ]);
    if (this.driftTimer) clearInterval(this.driftTimer);
    // Jobs whose runs paused are handed back now; one still running past the timeout is taken up by
    // another worker once this one's session (and its worker lock) is gone.
    await this.options.queue?.close(runsStopped ? timeoutMs : 1_000);
    await Promise.all([this.manifests.stop(), this.dataFiles.stop(), this.databases.stop()]);
    return runsStopped;
  }

  private requestReconcile(reason: string): void {
    if (this.stopping) return;
    this.pendingReasons.add(reason);
    if (this.pendingReconcile) clearTimeout(this.pendingReconcile);
    this.pendingReconcile = setTimeout(() => {
      this.pendingReconcile = undefined;
      const reasons = [...this.pendingReasons].join('; ');
      this.pendingReasons.clear();
      void this.enqueue(() => this.reconcile(reasons));
    }, this.options.debounceMs);
  }

  /** Runs `task` after everything queued before it: reconciles and drift checks never overlap. */
  private enqueue(task: () => Promise<void>): Promise<void> {
    const run = this.queue.then(task).catch((error: unknown) => {
      this.options.logger.error(
        { err: error },
        `unexpected failure: ${error instanceof Error ? error.message : String(error)}`,
      );
    });
    this.queue = run;
    return run;
  }

  private async reconcile(reason: string): Promise<void> {
    if (this.stopping && reason !== 'start') return;
    const { logger, metrics, store } = this.options;
    const started = performance.now();
    const report = (
      result: ReconcileReport['result'],
      problems: readonly Problem[],
      changes = 0,
      failures = 0,
    ) => {
      this.lastReport = {
        at: new Date(this.options.clock.now()).toISOString(),
        reason,
        result,
        problems: problems.map((problem) => ({
          code: problem.code,
          where: problem.file ? problemPlace(problem, this.options.cwd) : '',
          message: problem.message,
        })),
        changes,
        failures,
      };
      metrics.reconciles.inc({ result });
      metrics.reconcileDuration.observe((performance.now() - started) / 1000);
    };

    const loaded = loadManifests(this.options.paths, { cwd: this.options.cwd, skipRoleChecks: true });
    if (hasErrors(loaded.problems)) {
      for (const problem of loaded.problems.filter((item) => item.severity === 'error'))
        logProblem(logger, problem, this.options.cwd);
      logger.error(
        { reason, errors: loaded.problems.length },
        'the manifests do not validate: nothing was applied; the last good state stays in force',
      );
      report('invalid', loaded.problems);
      return;
    }
    let lock: LockHandle;
    try {
      lock = await store.locks.acquire(
        CONTROL_PLANE_LOCK,
        { identity: this.options.actor ?? 'watch', command: 'watch' },
        { timeoutMs: this.options.lockTimeoutMs },
      );
    } catch (error) {
      if (!(error instanceof LockTimeoutError)) throw error;
      // Someone else is applying (an `apply` waiting at its prompt, say): try again later.
      logger.warn(
        { reason, code: error.code },
        `${error.message}; reconciling again in ${this.options.debounceMs} ms`,
      );
      report('failed', []);
      this.requestReconcile(reason);
      return;
    }
    try {
      const context = createHandlerContext({
        store,
        owner: 'exportctl',
        env: this.options.env,
        onRequest: metrics.onApiRequest,
        // Retry notices become warn lines of the watch log, like everything watch has to say.
        requests: { logger },
        rateLimiters: rateLimitersFor(store),
      });
      const computed = await computePlan(
        {
          manifests: loaded.manifests,
          mode: 'apply',
          prune: this.options.prune,
          refresh: false,
          actor: this.options.actor,
          cwd: this.options.cwd,
        },
        context,
      );
      if (hasErrors(computed.problems)) {
        for (const problem of computed.problems) logProblem(logger, problem, this.options.cwd);
        logger.error({ reason }, 'the change cannot be applied: nothing was applied');
        report('invalid', computed.problems);
        return;
      }
      if (computed.plan.notDeclared.length > 0) {
        logger.warn(
          { notDeclared: computed.plan.notDeclared },
          'applied resources no longer declared are kept (start watch with --prune to delete them)',
        );
      }
      if (computed.steps.length === 0) {
        logger.info({ reason }, 'reconciled: no changes');
        report('no-changes', []);
        this.ready = true;
      } else {
        const results = await applyPlan(computed.steps, computed.observations, context, {
          beforeStep: lockCheck(lock),
          onStep: (result) => {
            if (result.outcome === 'done')
              logger.info(
                { resource: result.id, action: result.action },
                `${result.id}: ${result.action} done`,
              );
            else if (result.outcome !== 'started')
              logger.error(
                {
                  resource: result.id,
                  action: result.action,
                  code: 'code' in result ? result.code : undefined,
                },
                `${result.id}: ${result.action} ${result.outcome}: ${'message' in result ? result.message : ''}`,
              );
          },
        });
        const failures = results.filter((result) => result.outcome !== 'done').length;
        logger.info(
          { reason, changes: results.length, failures },
          failures === 0 ? 'reconciled: applied' : `reconciled with ${failures} failure(s)`,
        );
        report(failures === 0 ? 'applied' : 'failed', [], results.length, failures);
        if (failures === 0) this.ready = true;
      }
    } finally {
      await lock.release();
    }
    await this.followState();
  }

  /** Re-reads remote facts of everything applied and records the conditions. */
  private async checkDrift(): Promise<void> {
    if (this.stopping) return;
    const { store, logger, metrics } = this.options;
    const context = createHandlerContext({
      store,
      owner: 'exportctl',
      env: this.options.env,
      onRequest: metrics.onApiRequest,
      requests: { logger },
      rateLimiters: rateLimitersFor(store),
    });
    // Conditions are written as apply writes them: under the control-plane lock, so that an apply
    // in another process is never overwritten by an observation made before it. Busy: next round.
    let lock: LockHandle;
    try {
      lock = await store.locks.acquire(
        CONTROL_PLANE_LOCK,
        { identity: this.options.actor ?? 'watch', command: 'watch (drift check)' },
        { timeoutMs: 0 },
      );
    } catch (error) {
      if (!(error instanceof LockTimeoutError)) throw error;
      logger.info({ code: error.code }, `drift check skipped: ${error.message}`);
      return;
    }
    let drift: Awaited<ReturnType<typeof observeDrift>>['drift'];
    try {
      const observed = await observeDrift(await store.resources.list(), context);
      drift = observed.drift;
      await applyPlan([], observed.observations, context);
    } finally {
      await lock.release();
    }
    for (const finding of drift)
      logger.warn(
        { resource: finding.id, reason: finding.reason },
        `drift: ${finding.id} is ${finding.condition}: ${finding.message}`,
      );
    logger.info({ stalled: drift.length }, 'drift check done');
    this.options.notifier?.observe(await store.resources.list());
  }

  /** Points the scheduler and the data-file watcher at what is applied now. */
  private async followState(): Promise<void> {
    if (this.stopping) return;
    const { store } = this.options;
    this.options.notifier?.observe(await store.resources.list());
    const refresh = (await store.resources.list({ kind: 'Refresh' }))[0]?.spec as RefreshSpec | undefined;
    const destinations = await store.resources.list({ kind: 'ExportDestination' });
    const schedules: DestinationSchedule[] = destinations.map((destination) => {
      const schedule = destinationSchedule(destination.spec as unknown as ExportDestinationSpec, refresh);
      if (schedule.cron !== undefined) return { destination: destination.name, ...schedule };
      if (schedule.reason !== 'schedule: manual')
        this.options.logger.warn(
          { destination: destination.name },
          `${destination.name} is not scheduled: ${schedule.reason}`,
        );
      return { destination: destination.name, cron: undefined, timezone: 'UTC', trigger: 'schedule' };
    });
    this.scheduler.update(schedules);
    const files = new Map<string, string[]>();
    const databases = new Map<string, ProfileSourceSpec>();
    for (const source of await store.resources.list({ kind: 'ProfileSource' })) {
      let spec: ProfileSourceSpec;
      try {
        spec = locatedSourceSpec(
          source.spec as unknown as ProfileSourceSpec,
          recordedSourceFolder(source.remoteFacts?.facts),
          source.name,
        );
      } catch {
        continue; // no folder recorded yet: its next apply records one, and the run says so
      }
      const paths = sourceWatchPaths(spec);
      for (const path of paths) files.set(path, [...(files.get(path) ?? []), source.name]);
      databases.set(source.name, await withStoredSourceSecrets(store.secrets, source.name, spec));
    }
    await this.dataFiles.track(files);
    if (!this.stopping) await this.databases.track(databases);
  }

  /**
   * A source's data changed (and settled): its destinations run, as a refresh. `file`: the data
   * file that changed; `database`: what the source's changeDetection saw.
   */
  private sourceChanged(source: string, change: { file: string } | { database: string }): void {
    const file = 'file' in change ? change.file : change.database;
    if (this.stopping) return;
    const existing = this.sourceDebounce.get(source);
    if (existing) clearTimeout(existing);
    this.sourceDebounce.set(
      source,
      setTimeout(() => {
        this.sourceDebounce.delete(source);
        this.options.store.resources.list({ kind: 'ExportDestination' }).then(
          (destinations) => {
            for (const destination of destinations.filter((item) => item.spec.source === source)) {
              if (this.options.queue) {
                if ('file' in change)
                  this.enqueueRun(
                    destination.name,
                    'refresh',
                    dataChangeKey(destination.name, source, file),
                    {
                      source,
                      file,
                    },
                  );
                // A database change has no version every worker sees alike (a NOTIFY, a query's
                // value polled at other moments): one key per source, and a later change gets a
                // job of its own once the key's job was taken (see `laterChangesShareKey`).
                else
                  this.enqueueRun(
                    destination.name,
                    'refresh',
                    `data:${destination.name}@${source}:database`,
                    { source, change: change.database },
                    true,
                  );
                continue;
              }
              const answer = this.coordinator.request(destination.name, 'refresh', 'data-changed');
              this.options.logger.info(
                { source, file, destination: destination.name, answer },
                `data of ${source} changed: run of ${destination.name} ${answer}`,
              );
            }
          },
          (error: unknown) =>
            this.options.logger.error(
              { err: error, source, file },
              `data of ${source} changed, but its destinations could not be read from the state: ${error instanceof Error ? error.message : String(error)}`,
            ),
        );
      }, this.options.debounceMs),
    );
  }
}

/**
 * The key of a data change: the file's identity and version as this host sees it (size and mtime),
 * so that workers watching the same file ask for one run; copies on other hosts with other times
 * may ask for another, which the queue keeps to one waiting run per destination (and a run finds
 * unchanged data unchanged).
 */
function dataChangeKey(destination: string, source: string, file: string): string {
  let version = 'gone';
  try {
    const stat = statSync(file);
    version = `${stat.size}:${Math.trunc(stat.mtimeMs)}`;
  } catch {
    // removed since: its removal is the change
  }
  return `data:${destination}@${source}:${file}:${version}`;
}

function logProblem(logger: Logger, problem: Problem, cwd: string): void {
  const where = problem.file ? problemPlace(problem, cwd) : '';
  logger.error(
    { code: problem.code, where, resource: problem.resource, hint: problem.hint },
    `${where ? `${where}: ` : ''}${problem.resource ? `${problem.resource}: ` : ''}${problem.message}`,
  );
}
