/** One granted request permit of an API key, as a limiter (or a shared permit store) records it. */
export interface PermitTimes {
  /** Epoch ms it was granted (the request was sent right after). */
  readonly grantedAt: number;
  /** Epoch ms the request was over (answered or failed); undefined while it is in flight. */
  readonly endedAt: number | undefined;
}

/** The rule a key's permits follow. */
export interface PermitRule {
  /** Most requests the server may see in any window of `windowMs`. */
  readonly requestsPerSecond: number;
  /** The server's window, in ms (Constant Contact: 1000). */
  readonly windowMs: number;
  /**
   * How long a permit still in flight may hold others back, in ms from its grant; Infinity: until
   * it is released. A shared store needs a bound: a process that died mid-request never releases
   * its permit, and the server saw that request arrive long before the lease is over.
   */
  readonly leaseMs: number;
}

/** When the next permit of a key may be granted, from `nextPermitTime`. */
export interface NextPermit {
  /** Epoch ms, at least `now`: the earliest the next permit may be granted, as far as is known now. */
  readonly at: number;
  /**
   * True when a permit still in flight (within its lease) holds the next one back: `at` then
   * assumes it ends now, and it can only be later. Ask again at `at`, or when that permit ends.
   */
  readonly heldByInFlight: boolean;
}

/**
 * When a permit ended as far as holding others back goes: its release, or for one in flight `now`
 * (it ends no earlier), but never later than its lease.
 */
function effectiveEnd(permit: PermitTimes, now: number, leaseMs: number): { end: number; inFlight: boolean } {
  if (permit.endedAt !== undefined) return { end: permit.endedAt, inFlight: false };
  const leaseEnd = permit.grantedAt + leaseMs;
  return leaseEnd <= now ? { end: leaseEnd, inFlight: false } : { end: now, inFlight: true };
}

/**
 * True when `permit` can never hold a later grant back (it ended, or its lease ran out, at least
 * `windowMs` before `now`): a store may forget it.
 */
export function permitExpired(permit: PermitTimes, now: number, rule: PermitRule): boolean {
  const { end, inFlight } = effectiveEnd(permit, now, rule.leaseMs);
  return !inFlight && end + rule.windowMs <= now;
}

/**
 * When the next request of a key may go, given the key's recent permits (any order) and the rule.
 *
 * Why permits count from when their request was *over*: the server counts a request when it
 * arrives, some time after it was sent (event loops, garbage collection, a 4 MB upload, the
 * network) and before its answer comes back. So a request may start only `windowMs` after the end
 * of every request `requestsPerSecond` or more places before it: its arrival is then at least
 * `windowMs` after theirs whatever the delays, and no server window holds more than the limit.
 * Hence every permit except the newest `requestsPerSecond - 1` holds the next grant back until
 * `windowMs` after it ended.
 */
export function nextPermitTime(permits: readonly PermitTimes[], now: number, rule: PermitRule): NextPermit {
  const live = permits
    .filter((permit) => !permitExpired(permit, now, rule))
    .sort((a, b) => a.grantedAt - b.grantedAt);
  const binding = live.length - (Math.max(1, Math.floor(rule.requestsPerSecond)) - 1);
  let at = now;
  let heldByInFlight = false;
  for (let index = 0; index < binding; index++) {
    const { end, inFlight } = effectiveEnd(live[index] as PermitTimes, now, rule.leaseMs);
    if (inFlight) heldByInFlight = true;
    at = Math.max(at, end + rule.windowMs);
  }
  return { at, heldByInFlight };
}
