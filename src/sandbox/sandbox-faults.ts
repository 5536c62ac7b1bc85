import { seededRandom } from './seeded-random';

/**
 * Faults the sandbox injects into API requests that passed authentication and the rate limits, each
 * with its own rate (0 to 1). Decisions come from a PRNG seeded with `seed`, drawn in a fixed order
 * per request, so the same seed and the same sequence of requests give the same faults.
 */
export interface SandboxFaultRates {
  /** The connection is destroyed without an answer, before the request is carried out. */
  readonly connectionReset?: number;
  /** 500, before the request is carried out. */
  readonly serverError?: number;
  /** 503, before the request is carried out. */
  readonly unavailable?: number;
  /** 429 `throttled` although the key is within its limit. */
  readonly throttled?: number;
  /** The access token is revoked early: this request and later ones with it get 401. */
  readonly tokenExpiry?: number;
  /** The request is carried out, then the answer waits `slowMs` (a client may time out meanwhile). */
  readonly slow?: number;
  readonly slowMs?: number;
  /** Only requests whose path (after the API base) starts with one of these; default all. */
  readonly paths?: readonly string[];
  readonly seed?: number;
}

export type SandboxFault = 'connection-reset' | 'server-error' | 'unavailable' | 'throttled' | 'token-expiry';

/** What to do to one request. */
export interface FaultDecision {
  readonly fault: SandboxFault | undefined;
  /** Delay the answer by this many ms (0: none). */
  readonly slowMs: number;
}

const order: ReadonlyArray<[SandboxFault, keyof SandboxFaultRates]> = [
  ['connection-reset', 'connectionReset'],
  ['server-error', 'serverError'],
  ['unavailable', 'unavailable'],
  ['throttled', 'throttled'],
  ['token-expiry', 'tokenExpiry'],
];

export class SandboxFaults {
  private rates: SandboxFaultRates = {};
  private random: () => number = seededRandom(1);

  constructor(rates: SandboxFaultRates = {}) {
    this.configure(rates);
  }

  /** Replaces the rates and restarts the PRNG from the seed (default 1). */
  configure(rates: SandboxFaultRates): void {
    this.rates = { ...rates };
    this.random = seededRandom(rates.seed ?? 1);
  }

  current(): SandboxFaultRates {
    return this.rates;
  }

  decide(apiPath: string): FaultDecision {
    const { paths } = this.rates;
    if (paths && paths.length > 0 && !paths.some((prefix) => apiPath.startsWith(prefix))) {
      return { fault: undefined, slowMs: 0 };
    }
    let fault: SandboxFault | undefined;
    for (const [name, key] of order) {
      const rate = this.rates[key];
      // Every rate draws, whether or not an earlier one hit, so one fault's rate does not shift
      // the sequence of another's.
      const draw = typeof rate === 'number' && rate > 0 ? this.random() : 1;
      if (fault === undefined && typeof rate === 'number' && draw < rate) fault = name;
    }
    const slow = this.rates.slow ?? 0;
    const slowDraw = slow > 0 ? this.random() : 1;
    return { fault, slowMs: slowDraw < slow ? (this.rates.slowMs ?? 2_000) : 0 };
  }
}
