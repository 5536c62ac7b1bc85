import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { ApiRequestEvent } from '../constant-contact';

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

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'exportctl_' });
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
