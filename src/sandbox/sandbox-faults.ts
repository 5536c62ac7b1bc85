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
  /**
   * Token endpoint: a granted token's answer waits `slowMs` after the grant (the used refresh token
   * is already spent and its successor issued), so a client can die with the new token in the air.
   * Drawn from a stream of its own, so it never shifts the API requests' faults.
   */
  readonly tokenSlow?: number;
  /** Only requests whose path (after the API base) starts with one of these; default all. */
  readonly paths?: readonly string[];
  /**
   * Draw each route's decisions from a PRNG of its own (seeded from `seed` and the route), so the
   * Nth request of a route meets the same fault however many requests of other routes (polls, say)
   * came in between. Default false: one stream for all requests, in arrival order.
   */
  readonly perRoute?: boolean;
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

const defaultSlowMs = 2_000;

/** FNV-1a of a route name, mixed into the seed of that route's stream. */
function streamSeed(seed: number, stream: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < stream.length; index++) {
    hash ^= stream.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return (seed ^ hash) >>> 0;
}

export class SandboxFaults {
  private rates: SandboxFaultRates = {};
  private random: () => number = seededRandom(1);
  private streams = new Map<string, () => number>();
  private tokenRandom: () => number = seededRandom(streamSeed(1, 'token'));

  constructor(rates: SandboxFaultRates = {}) {
    this.configure(rates);
  }

  /** Replaces the rates and restarts the PRNGs from the seed (default 1). */
  configure(rates: SandboxFaultRates): void {
    const seed = rates.seed ?? 1;
    this.rates = { ...rates };
    this.random = seededRandom(seed);
    this.streams = new Map();
    this.tokenRandom = seededRandom(streamSeed(seed, 'token'));
  }

  current(): SandboxFaultRates {
    return this.rates;
  }

  /**
   * The fault for one API request at `apiPath` (after the base path). `route` names its stream when
   * `perRoute` is on (the route template, e.g. `POST /v3/activities/contacts_json_import`).
   */
  decide(apiPath: string, route: string = apiPath): FaultDecision {
    const { paths } = this.rates;
    if (paths && paths.length > 0 && !paths.some((prefix) => apiPath.startsWith(prefix))) {
      return { fault: undefined, slowMs: 0 };
    }
    const random = this.streamOf(route);
    let fault: SandboxFault | undefined;
    for (const [name, key] of order) {
      const rate = this.rates[key];
      // Every rate draws, whether or not an earlier one hit, so one fault's rate does not shift
      // the sequence of another's.
      const draw = typeof rate === 'number' && rate > 0 ? random() : 1;
      if (fault === undefined && typeof rate === 'number' && draw < rate) fault = name;
    }
    const slow = this.rates.slow ?? 0;
    const slowDraw = slow > 0 ? random() : 1;
    return { fault, slowMs: slowDraw < slow ? (this.rates.slowMs ?? defaultSlowMs) : 0 };
  }

  /** How long to hold a granted token's answer (0: not at all). */
  decideToken(): number {
    const rate = this.rates.tokenSlow ?? 0;
    if (rate <= 0) return 0;
    return this.tokenRandom() < rate ? (this.rates.slowMs ?? defaultSlowMs) : 0;
  }

  private streamOf(route: string): () => number {
    if (!this.rates.perRoute) return this.random;
    let stream = this.streams.get(route);
    if (!stream) {
      stream = seededRandom(streamSeed(this.rates.seed ?? 1, route));
      this.streams.set(route, stream);
    }
    return stream;
  }
}
