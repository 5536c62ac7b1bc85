import type { ActivityReport, ConstantContactClient } from '../constant-contact';

/** An import request whose answer never came: what is known of it. */
export interface UnansweredImport {
  /** Contacts in its body. */
  readonly contacts: number;
  /** When it was (first) sent, epoch ms: its activity cannot be older. */
  readonly sentAt: number;
  /** Activity IDs already claimed by a run of this state (finished ones included): never adopted again. */
  readonly knownActivityIds: ReadonlySet<string>;
  /** Now, epoch ms. */
  readonly now: number;
}

/**
 * How far Constant Contact's clock may be from ours. Activities carry only Constant Contact's
 * `created_at`; a window this wide on both sides still excludes the batches sent before (they are
 * claimed by their checkpoints anyway).
 */
export const clockSkewToleranceMs = 120_000;

/**
 * Picks the activity an unanswered import created, among recent activities: one not claimed by any
 * run, created between `sentAt` and now (give or take the clock skew), with exactly as many
 * items as the batch had. Returns it only when exactly one activity fits: with none the request
 * made nothing; with several it cannot be told which, and sending the batch again is the safe
 * choice (an import is an upsert: the list ends the same, the batch is only imported twice). The one
 * that fits is only a candidate: activities do not say which list they imported into, so the caller
 * confirms the batch on the list's evidence (`judgeAdoptedImport`).
 */
export function matchUnansweredImport(
  activities: readonly ActivityReport[],
  unanswered: UnansweredImport,
): ActivityReport | undefined {
  const earliest = unanswered.sentAt - clockSkewToleranceMs;
  const latest = unanswered.now + clockSkewToleranceMs;
  const candidates = activities.filter((activity) => {
    if (unanswered.knownActivityIds.has(activity.activityId)) return false;
    if (activity.counters.items_total_count !== unanswered.contacts) return false;
    const created = activity.createdAt === undefined ? Number.NaN : Date.parse(activity.createdAt);
    return created >= earliest && created <= latest;
  });
  return candidates.length === 1 ? candidates[0] : undefined;
}

/**
 * Looks for the activity of an import whose request may have been carried out (`mayHaveSucceeded`,
 * or a batch found `sending` after a crash): one `GET /activities` (the 500 most recent).
 */
export async function findUnansweredImport(
  client: Pick<ConstantContactClient, 'listActivities'>,
  unanswered: UnansweredImport,
): Promise<ActivityReport | undefined> {
  return matchUnansweredImport(await client.listActivities(), unanswered);
}
