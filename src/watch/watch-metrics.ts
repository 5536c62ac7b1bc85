import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { ApiRequestEvent } from '../constant-contact';
import type { ClusterView } from '../queue/run-queue';

/**
 * Watch mode's Prometheus metrics, in a registry of its own (so several services can live in one
 * test process). Served at `/metrics`.
 */
export class WatchMetrics {
  readonly registry = new Registry();
  readonly runs = new Counter({
    name: 'exportctl_runs_total',
    help: 'Export runs by destination and result (succeeded, failed, paused, aborted).',
    labelNames: ['destination', 'result'] as const,
    registers: [this.registry],
  });
  readonly contactsExported = new Counter({
    name: 'exportctl_contacts_exported_total',
    help: 'Contacts imported into Constant Contact lists, by destination.',
    labelNames: ['destination'] as const,
    registers: [this.registry],
  });
  readonly contactsRemoved = new Counter({
    name: 'exportctl_contacts_removed_total',
    help: 'Contacts removed from Constant Contact lists, by destination.',
    labelNames: ['destination'] as const,
    registers: [this.registry],
  });
  readonly apiRequests = new Counter({
    name: 'exportctl_api_requests_total',
    help: 'Constant Contact API requests by endpoint and HTTP status (0: no answer).',
    labelNames: ['endpoint', 'status'] as const,
    registers: [this.registry],
  });
  readonly apiThrottled = new Counter({
    name: 'exportctl_api_throttled_total',
    help: 'Constant Contact answers 429 (throttled or daily quota exceeded).',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  readonly reconciles = new Counter({
    name: 'exportctl_reconciles_total',
    help: 'Reconciles by result: applied, no-changes, invalid (manifests did not validate), failed.',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly reconcileDuration = new Histogram({
    name: 'exportctl_reconcile_duration_seconds',
    help: 'How long each reconcile took.',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });
  readonly runDuration = new Histogram({
    name: 'exportctl_run_duration_seconds',
    help: 'How long each export run took, by destination.',
    labelNames: ['destination'] as const,
    buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600],
    registers: [this.registry],
  });
  readonly lastSuccessfulRun = new Gauge({
    name: 'exportctl_last_successful_run_timestamp_seconds',
    help: 'When each destination last finished a run successfully (Unix time).',
    labelNames: ['destination'] as const,
    registers: [this.registry],
  });

  private readCluster: (() => Promise<ClusterView>) | undefined;
  private clusterRead: { at: number; view: Promise<ClusterView | undefined> } | undefined;
  /** One read of the cluster per scrape (the gauges below share it). */
  private cluster(): Promise<ClusterView | undefined> {
    const read = this.readCluster;
    if (!read) return Promise.resolve(undefined);
    const now = Date.now();
    if (!this.clusterRead || now - this.clusterRead.at > 500)
      this.clusterRead = { at: now, view: read().catch(() => undefined) };
    return this.clusterRead.view;
  }
  readonly clusterWorkers = new Gauge({
    name: 'exportctl_cluster_workers',
    help: 'Watch workers of this state by liveness (alive: its session holds its worker lock).',
    labelNames: ['alive'] as const,
    registers: [this.registry],
    collect: async () => {
      const view = await this.cluster();
      if (!view) return;
      const alive = view.workers.filter((worker) => worker.alive).length;
      this.clusterWorkers.set({ alive: 'true' }, alive);
      this.clusterWorkers.set({ alive: 'false' }, view.workers.length - alive);
    },
  });
  readonly clusterHeartbeatAge = new Gauge({
    name: 'exportctl_cluster_worker_heartbeat_age_seconds',
    help: "Seconds since each live worker's last heartbeat, by the database's clock.",
    labelNames: ['worker'] as const,
    registers: [this.registry],
    collect: async () => {
      const view = await this.cluster();
      if (!view) return;
      this.clusterHeartbeatAge.reset();
      for (const worker of view.workers.filter((item) => item.alive))
        this.clusterHeartbeatAge.set({ worker: worker.id }, worker.heartbeatAgeSeconds);
    },
  });
  readonly clusterRuns = new Gauge({
    name: 'exportctl_cluster_runs',
    help: 'Runs in progress in the cluster, by worker and destination (1 while it runs there).',
    labelNames: ['worker', 'destination'] as const,
    registers: [this.registry],
    collect: async () => {
      const view = await this.cluster();
      if (!view) return;
      this.clusterRuns.reset();
      for (const worker of view.workers)
        for (const run of worker.runs)
          this.clusterRuns.set({ worker: worker.id, destination: run.destination }, 1);
    },
  });
  readonly queueJobs = new Gauge({
    name: 'exportctl_queue_jobs',
    help: 'Jobs of the shared run queue by state: queued (waiting), retry (handed back), active (taken).',
    labelNames: ['state'] as const,
    registers: [this.registry],
    collect: async () => {
      const view = await this.cluster();
      if (!view) return;
      this.queueJobs.set({ state: 'queued' }, view.queued);
      this.queueJobs.set({ state: 'retry' }, view.retrying);
      this.queueJobs.set({ state: 'active' }, view.active);
    },
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'exportctl_' });
  }

  /** Serves the cluster gauges from `read` (a watch worker on a shared queue). */
  observeCluster(read: () => Promise<ClusterView>): void {
    this.readCluster = read;
  }

  /** Counts one Constant Contact request (the client's `onRequest`). */
  readonly onApiRequest = (event: ApiRequestEvent): void => {
    this.apiRequests.inc({
      endpoint: `${event.method} ${event.pathTemplate}`,
      status: String(event.status ?? 0),
    });
    if (event.throttled) this.apiThrottled.inc({ kind: 'throttled' });
    if (event.quotaExceeded) this.apiThrottled.inc({ kind: 'quota_exceeded' });
  };
}
