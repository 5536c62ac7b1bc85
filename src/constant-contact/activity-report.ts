import { ConstantContactError } from './constant-contact-errors';
import type { Activity } from './swagger-types.generated';

/** An activity's state (API-NOTES.md "Activities"). */
export type ActivityState = 'initialized' | 'processing' | 'completed' | 'cancelled' | 'failed' | 'timed_out';

/** States after which an activity never changes again. */
export const finalActivityStates: ReadonlySet<string> = new Set([
  'completed',
  'cancelled',
  'failed',
  'timed_out',
]);

/**
 * An activity's counters, with Constant Contact's names (`status` of the swagger's Activity). A counter
 * the answer leaves out (each activity type reports a different set) is 0.
 */
export interface ActivityCounters {
  readonly items_total_count: number;
  readonly items_completed_count: number;
  readonly person_count: number;
  readonly error_count: number;
  readonly correctable_count: number;
  readonly cannot_add_to_list_count: number;
  readonly list_count: number;
}

/** A bulk activity (import, membership removal, export) as the client reports it. */
export interface ActivityReport {
  readonly activityId: string;
  /** One of ActivityState; kept as a string in case Constant Contact adds a state. */
  readonly state: string;
  readonly percentDone: number;
  /** `activity_errors`: messages for rows or for the whole activity. */
  readonly errors: readonly string[];
  readonly counters: ActivityCounters;
  readonly createdAt?: string;
  readonly startedAt?: string;
  readonly completedAt?: string;
  readonly updatedAt?: string;
  /** `_links.results.href` of a finished export: where its CSV file is. */
  readonly resultsHref?: string;
  /** The state is final: the activity will not change again. */
  readonly final: boolean;
  /**
   * Final without completing (failed, timed_out, cancelled): nothing can be assumed done, and the
   * engine submits the batch again. A `completed` activity can still carry row errors: read `counters`.
   */
  readonly needsResubmit: boolean;
}

const counterNames = [
  'items_total_count',
  'items_completed_count',
  'person_count',
  'error_count',
  'correctable_count',
  'cannot_add_to_list_count',
  'list_count',
] as const satisfies readonly (keyof ActivityCounters)[];

/**
 * Reads an activity answer (any of Activity, ActivityImport, ActivityListsMembership,
 * ActivityExportStatus: they share these fields). Throws `unexpected-response` if it has no
 * activity_id or state.
 */
export function toActivityReport(body: unknown): ActivityReport {
  const activity = (typeof body === 'object' && body !== null ? body : {}) as Activity;
  if (typeof activity.activity_id !== 'string' || typeof activity.state !== 'string') {
    throw new ConstantContactError('unexpected-response', 'An activity answer has no activity_id or state');
  }
  const status = (activity.status ?? {}) as Record<string, unknown>;
  const counters = Object.fromEntries(
    counterNames.map((name) => [name, typeof status[name] === 'number' ? status[name] : 0]),
  ) as unknown as ActivityCounters;
  const state = activity.state;
  const final = finalActivityStates.has(state);
  const optional = (key: keyof ActivityReport, value: unknown) =>
    typeof value === 'string' ? { [key]: value } : {};
  return {
    activityId: activity.activity_id,
    state,
    percentDone: typeof activity.percent_done === 'number' ? activity.percent_done : 0,
    errors: Array.isArray(activity.activity_errors) ? activity.activity_errors.map(String) : [],
    counters,
    ...optional('createdAt', activity.created_at),
    ...optional('startedAt', activity.started_at),
    ...optional('completedAt', activity.completed_at),
    ...optional('updatedAt', activity.updated_at),
    ...optional('resultsHref', activity._links?.results?.href),
    final,
    needsResubmit: final && state !== 'completed',
  };
}
