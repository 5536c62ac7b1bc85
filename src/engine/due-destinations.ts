import type { ExportDestinationSpec, RefreshSpec } from '../config';
import { nextCronTime } from '../config';
import type { AppliedResources, RunHistoryPort, RunTrigger } from './control-plane';
import { lastRuns } from './last-runs';

/** A destination `--due` would run, and why. */
export interface DueDestination {
  readonly destination: string;
  /** `refresh` for destinations on the Refresh schedule, `schedule` for those with their own cron. */
  readonly trigger: Exclude<RunTrigger, 'manual'>;
  readonly cron: string;
  readonly timezone: string;
  /** The time the schedule fired (the first firing after `since`). */
  readonly firedAt: Date;
  /** The last run's start, or when the destination was applied if it never ran. */
  readonly since: Date;
}

/** A destination that is not due, and why, for `--due` to say. */
export interface NotDueDestination {
  readonly destination: string;
  readonly reason: string;
  /** When it is next due, if it has a schedule. */
  readonly nextAt: Date | undefined;
}

/** A destination's schedule: its cron, time zone and trigger, or why it has none. */
export type ResolvedSchedule =
  | { readonly cron: string; readonly timezone: string; readonly trigger: Exclude<RunTrigger, 'manual'> }
  | { readonly cron: undefined; readonly reason: string };

/**
 * The one reading of `schedule`: `refresh` follows the applied Refresh's cron and time zone (none
 * without a Refresh), a cron expression is the destination's own in the Refresh's time zone (UTC
 * without one), `manual` has none. Used by `run --due` and by watch mode alike.
 */
export function destinationSchedule(
  spec: Pick<ExportDestinationSpec, 'schedule'>,
  refresh: RefreshSpec | undefined,
): ResolvedSchedule {
  const schedule = spec.schedule ?? 'refresh';
  if (schedule === 'manual') return { cron: undefined, reason: 'schedule: manual' };
  if (schedule === 'refresh') {
    return refresh === undefined
      ? { cron: undefined, reason: 'schedule: refresh, but no Refresh is applied' }
      : { cron: refresh.cron, timezone: refresh.timezone ?? 'UTC', trigger: 'refresh' };
  }
  return { cron: schedule, timezone: refresh?.timezone ?? 'UTC', trigger: 'schedule' };
}

/**
 * Which applied destinations are due at `now`: those whose schedule fired since their last run
 * started (dry runs do not count), or since they were applied if they never ran. `schedule: refresh`
 * follows the applied Refresh's cron and time zone (never due without a Refresh), a cron expression
 * its own in the Refresh's time zone (UTC without one), `manual` never. For `exportctl run --due`
 * from an external scheduler (cron, CI) when watch mode does not run.
 */
export async function dueDestinations(
  store: { readonly resources: AppliedResources; readonly runs: Pick<RunHistoryPort, 'list'> },
  now: Date,
): Promise<{ due: DueDestination[]; notDue: NotDueDestination[] }> {
  const destinations = await store.resources.list({ kind: 'ExportDestination' });
  const refresh = (await store.resources.list({ kind: 'Refresh' }))[0]?.spec as RefreshSpec | undefined;
  const due: DueDestination[] = [];
  const notDue: NotDueDestination[] = [];
  for (const applied of destinations) {
    const name = applied.name;
    const schedule = destinationSchedule(applied.spec as unknown as ExportDestinationSpec, refresh);
    if (schedule.cron === undefined) {
      notDue.push({ destination: name, reason: schedule.reason, nextAt: undefined });
      continue;
    }
    const { cron, timezone, trigger } = schedule;
    const lastRun = (await lastRuns(store.runs, name)).run;
    const since = new Date(lastRun?.startedAt ?? applied.createdAt);
    const firedAt = nextCronTime(cron, timezone, since);
    if (firedAt !== undefined && firedAt.getTime() <= now.getTime()) {
      due.push({ destination: name, trigger, cron, timezone, firedAt, since });
    } else {
      notDue.push({
        destination: name,
        reason: `${trigger === 'refresh' ? 'Refresh' : 'its'} cron "${cron}" (${timezone}) has not fired since ${since.toISOString()}`,
        nextAt: firedAt,
      });
    }
  }
  return { due, notDue };
}
