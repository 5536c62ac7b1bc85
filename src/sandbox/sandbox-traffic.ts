/** One request as the sandbox's inspection log shows it. */
export interface LoggedRequest {
  /** Epoch ms of arrival. */
  readonly at: number;
  readonly method: string;
  /** Path without query string. */
  readonly path: string;
  /** The route, e.g. `GET /v3/contact_lists/{list_id}`; `token` for the token endpoint. */
  readonly route: string;
  readonly status: number;
  /** The API key (client ID) the request's token belongs to, when known. */
  readonly clientId?: string;
  /** The fault injected into it, if any. */
  readonly fault?: string;
  /**
   * Milliseconds from its arrival to its answer (reading the body, the work, the answer): the
   * least time a client that counts its requests until they are answered holds a permit.
   */
  readonly answeredAfterMs?: number;
}

/** Counters the inspection endpoint returns (`GET /__sandbox/stats`). */
export interface TrafficStats {
  /** API requests (under the API base path), every status included. */
  readonly total: number;
  /** API requests by route (`METHOD /v3/template`). */
  readonly byRoute: Readonly<Record<string, number>>;
  readonly byStatus: Readonly<Record<string, number>>;
  /** The most API requests that arrived in any 1-second window, over all keys. */
  readonly maxInAnySecond: number;
  /** The same, per API key. */
  readonly maxInAnySecondByClient: Readonly<Record<string, number>>;
  readonly throttled: number;
  readonly quotaExceeded: number;
  readonly tokenRequests: number;
  readonly faults: Readonly<Record<string, number>>;
}

/**
 * Recent arrival times, kept sorted (requests are dated on arrival but recorded when handled, so they
 * can come in slightly out of order), and the most seen in any window (t - 1000, t].
 */
class SecondWindow {
  private readonly times: number[] = [];
  max = 0;

  /** Adds an arrival, updating the busiest window. */
  add(at: number): void {
    const times = this.times;
    let index = times.length;
    while (index > 0 && (times[index - 1] as number) > at) index -= 1;
    times.splice(index, 0, at);
    // Only windows ending at this arrival or at a later one within a second can have grown.
    for (let end = index; end < times.length && (times[end] as number) < at + 1000; end++) {
      const count = this.countAt(times[end] as number);
      if (count > this.max) this.max = count;
    }
    const latest = times[times.length - 1] as number;
    let stale = 0;
    while (stale < times.length && (times[stale] as number) <= latest - 2000) stale += 1;
    if (stale > 0) times.splice(0, stale);
  }

  /** How many recorded times lie in (at - 1000, at]. */
  countAt(at: number): number {
    let count = 0;
    for (const time of this.times) if (time > at - 1000 && time <= at) count += 1;
    return count;
  }
}

interface KeyBudget {
  readonly accepted: SecondWindow;
  day: string;
  usedToday: number;
}

/**
 * The sandbox's view of traffic: Constant Contact's limits per API key (a sliding 1-second window of
 * accepted requests, and a daily quota that resets at 00:00 UTC) and what the inspection endpoint
 * reports (counts, the busiest second, a bounded log of recent requests).
 */
export class SandboxTraffic {
  private total = 0;
  private tokenRequests = 0;
  private throttled = 0;
  private quotaExceeded = 0;
  private readonly byRoute = new Map<string, number>();
  private readonly byStatus = new Map<string, number>();
  private readonly faults = new Map<string, number>();
  private readonly arrivals = new SecondWindow();
  private readonly arrivalsByClient = new Map<string, SecondWindow>();
  private readonly budgets = new Map<string, KeyBudget>();
  private readonly log: LoggedRequest[] = [];

  constructor(private readonly logLimit: number) {}

  /** Counts an API request's arrival (before it is answered) for the busiest-second figures. */
  arrived(at: number, clientId: string | undefined): void {
    this.total += 1;
    this.arrivals.add(at);
    if (clientId !== undefined) {
      let window = this.arrivalsByClient.get(clientId);
      if (!window) {
        window = new SecondWindow();
        this.arrivalsByClient.set(clientId, window);
      }
      window.add(at);
    }
  }

  /**
   * Decides whether an authenticated request of `clientId` is within its limits, and if so counts
   * it against them. Throttled requests do not use up the window or the day.
   */
  admit(
    clientId: string,
    at: number,
    limits: { requestsPerSecond: number; requestsPerDay: number },
  ): 'ok' | 'throttled' | 'quota_exceeded' {
    let budget = this.budgets.get(clientId);
    if (!budget) {
      budget = { accepted: new SecondWindow(), day: '', usedToday: 0 };
      this.budgets.set(clientId, budget);
    }
    const day = new Date(at).toISOString().slice(0, 10);
    if (budget.day !== day) {
      budget.day = day;
      budget.usedToday = 0;
    }
    if (budget.usedToday >= limits.requestsPerDay) {
      this.quotaExceeded += 1;
      return 'quota_exceeded';
    }
    if (budget.accepted.countAt(at) >= limits.requestsPerSecond) {
      this.throttled += 1;
      return 'throttled';
    }
    budget.accepted.add(at);
    budget.usedToday += 1;
    return 'ok';
  }

  /** Records an answered request (API or token endpoint) in the counters and the log. */
  answered(entry: LoggedRequest, api: boolean): void {
    if (api) {
      this.byRoute.set(entry.route, (this.byRoute.get(entry.route) ?? 0) + 1);
      this.byStatus.set(String(entry.status), (this.byStatus.get(String(entry.status)) ?? 0) + 1);
    } else {
      this.tokenRequests += 1;
    }
    if (entry.fault) this.faults.set(entry.fault, (this.faults.get(entry.fault) ?? 0) + 1);
    this.log.push(entry);
    if (this.log.length > this.logLimit * 2) this.log.splice(0, this.log.length - this.logLimit);
  }

  /** The most recent requests, oldest first (at most the log limit). */
  recent(limit = this.logLimit): LoggedRequest[] {
    return this.log.slice(-Math.min(limit, this.logLimit));
  }

  stats(): TrafficStats {
    return {
      total: this.total,
      byRoute: Object.fromEntries(this.byRoute),
      byStatus: Object.fromEntries(this.byStatus),
      maxInAnySecond: this.arrivals.max,
      maxInAnySecondByClient: Object.fromEntries(
        [...this.arrivalsByClient].map(([id, window]) => [id, window.max]),
      ),
      throttled: this.throttled,
      quotaExceeded: this.quotaExceeded,
      tokenRequests: this.tokenRequests,
      faults: Object.fromEntries(this.faults),
    };
  }

  /** Used today by a key (for the inspection endpoint). */
  usedToday(clientId: string): number {
    return this.budgets.get(clientId)?.usedToday ?? 0;
  }
}
