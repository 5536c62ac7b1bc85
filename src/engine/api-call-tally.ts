import { AsyncLocalStorage } from 'node:async_hooks';
import type { ApiRequestEvent } from '../constant-contact';

/** Requests that change the list: imports and membership removals. */
const writeRoutes = new Set([
  'POST /activities/contacts_json_import',
  'POST /activities/remove_list_memberships',
]);

/** Constant Contact requests of one run, as its record keeps them. Every attempt counts once. */
export type ApiCallCounts = {
  readonly total: number;
  /** Imports and removals: the requests that change a list. */
  readonly writes: number;
  /** Attempts that got no answer or an error status (retried or not). */
  readonly failed: number;
  /** 429 `throttled` answers. */
  readonly throttled: number;
  /** Requests to the OAuth token endpoint. */
  readonly tokenRequests: number;
  /** By phase, then by `METHOD /path/template`. */
  readonly byPhase: Readonly<Record<string, Readonly<Record<string, number>>>>;
};

export const noApiCalls: ApiCallCounts = {
  total: 0,
  writes: 0,
  failed: 0,
  throttled: 0,
  tokenRequests: 0,
  byPhase: {},
};

/** The phase requests made inside `countRequestsAs` count under. */
const requestPhase = new AsyncLocalStorage<string>();

/**
 * Runs `work` with the requests it makes (awaited or not) counted under `phase`, whatever phase the
 * run is in: the import batches sent while the source is still read count as imports.
 */
export function countRequestsAs<T>(phase: string, work: () => T): T {
  return requestPhase.run(phase, work);
}

/**
 * Counts a run's requests by phase from the client's `onRequest` events. Starts from the counts a
 * resumed run's record already holds, so a run's record counts every request it made.
 */
export class ApiCallTally {
  private counts: {
    total: number;
    writes: number;
    failed: number;
    throttled: number;
    tokenRequests: number;
    byPhase: Record<string, Record<string, number>>;
  };

  /** The phase the next events are counted under. */
  phase = 'preflight';

  constructor(start: ApiCallCounts = noApiCalls) {
    this.counts = {
      ...start,
      byPhase: Object.fromEntries(
        Object.entries(start.byPhase).map(([phase, routes]) => [phase, { ...routes }]),
      ),
    };
  }

  /** The `onRequest` listener. */
  readonly record = (event: ApiRequestEvent): void => {
    const route = `${event.method} ${event.endpoint === 'token' ? 'token' : event.pathTemplate}`;
    const at = requestPhase.getStore() ?? this.phase;
    const phase = this.counts.byPhase[at] ?? {};
    phase[route] = (phase[route] ?? 0) + 1;
    this.counts.byPhase[at] = phase;
    if (event.endpoint === 'token') this.counts.tokenRequests += 1;
    else this.counts.total += 1;
    if (writeRoutes.has(route)) this.counts.writes += 1;
    if (event.status === undefined || event.status >= 400) this.counts.failed += 1;
    if (event.throttled) this.counts.throttled += 1;
  };

  snapshot(): ApiCallCounts {
    return structuredClone(this.counts);
  }
}
