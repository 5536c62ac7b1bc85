import type { StepKind } from '../step-kind';

interface FaultParams {
  readonly [name: string]: number;
  readonly connectionReset: number;
  readonly serverError: number;
  readonly unavailable: number;
  readonly throttled: number;
  readonly tokenExpiry: number;
  readonly slow: number;
  readonly slowMs: number;
  readonly seed: number;
}

const kinds = ['connectionReset', 'serverError', 'unavailable', 'throttled', 'tokenExpiry', 'slow'] as const;

/**
 * Sets the sandbox's faults for the steps that follow (until the next such step): a few kinds at
 * a few percent each, or none. Drawn per route from a seed of their own (`perRoute`), so the Nth
 * import meets the same fault on a replay however many polls came between.
 */
export const setFaults: StepKind<FaultParams> = {
  name: 'faults',
  weight: 1.5,
  applies: () => true,
  draw(_draft, random) {
    const chosen = new Set(random.chance(0.15) ? [] : random.sample(kinds, random.int(1, 4)));
    const rate = (kind: (typeof kinds)[number]) => (chosen.has(kind) ? random.int(4, 20) / 100 : 0);
    return {
      connectionReset: rate('connectionReset'),
      serverError: rate('serverError'),
      unavailable: rate('unavailable'),
      throttled: rate('throttled'),
      tokenExpiry: rate('tokenExpiry'),
      slow: rate('slow'),
      slowMs: random.int(200, 1_500),
      seed: random.seed31(),
    };
  },
  describe(params) {
    const set = kinds.filter((kind) => params[kind] > 0).map((kind) => `${kind} ${params[kind]}`);
    return set.length === 0
      ? 'faults: none'
      : `faults: ${set.join(', ')}${params.slow > 0 ? ` (slow ${params.slowMs} ms)` : ''}`;
  },
  async run(world, params) {
    await world.setFaults({ ...params, perRoute: true });
  },
};

/** Revokes every access token: the next requests get 401 and exportctl must refresh (and rotate). */
export const expireTokens: StepKind<Record<string, never>> = {
  name: 'expire-tokens',
  weight: 0.5,
  applies: () => true,
  draw: () => ({}),
  describe: () => 'expire every access token',
  async run(world) {
    await world.inspection.expireTokens();
  },
};
