import type { LoggedRequest } from '../sandbox-inspection';

/** An exportctl process's lifetime, and the API keys (client IDs) it may use. */
export interface ProcessSpan {
  readonly clients: readonly string[];
  readonly startedAt: number;
  readonly endedAt: number;
}

/** A 1-second window in which one API key saw more requests than its processes may send. */
export interface RateExcess {
  readonly clientId: string;
  /** Epoch ms: the window is (at - 1000, at]. */
  readonly at: number;
  readonly requests: number;
  readonly allowed: number;
}

/**
 * Checks the sandbox's request log against the per-second limit. The limit binds each exportctl
 * process (each has its own limiter for a key), so a window may hold `limit` times the number of
 * processes of that key alive during it (a killed process and its successor can overlap a second).
 * Token requests have their own limit and are left out.
 */
export function rateExcesses(
  requests: readonly LoggedRequest[],
  spans: readonly ProcessSpan[],
  limit: number,
): RateExcess[] {
  const byClient = new Map<string, number[]>();
  for (const request of requests) {
    if (request.route === 'token' || request.clientId === undefined) continue;
    const times = byClient.get(request.clientId) ?? [];
    times.push(request.at);
    byClient.set(request.clientId, times);
  }
  const excesses: RateExcess[] = [];
  for (const [clientId, times] of byClient) {
    times.sort((a, b) => a - b);
    let start = 0;
    for (let end = 0; end < times.length; end++) {
      const at = times[end] as number;
      while ((times[start] as number) <= at - 1000) start++;
      const count = end - start + 1;
      if (count <= limit) continue;
      // Process times are the campaign's, request times the sandbox's: one clock, some slack for the
      // time between a spawn and its first request or an exit and its being noticed.
      const alive = spans.filter(
        (span) => span.clients.includes(clientId) && span.startedAt <= at + 50 && span.endedAt >= at - 1050,
      ).length;
      const allowed = limit * Math.max(1, alive);
      if (count > allowed) excesses.push({ clientId, at, requests: count, allowed });
    }
  }
  return excesses;
}
